"""Answers staff add in the panel: followed from NATS KV by the real agent process, answered at once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import grpc
import nats

from pentagon.agent.staff_knowledge import staff_faq
from pentagon.common.bus import knowledge_bucket
from pentagon.common.proto import agent_pb2, agent_pb2_grpc
from pentagon.devtools.embedded import NatsServer

from agent_support import agent_env

DURIAN = "Do you sell durian cake?"


def ask(port: int, text: str) -> agent_pb2.ReplyResponse:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return agent_pb2_grpc.AgentServiceStub(channel).Reply(agent_pb2.ReplyRequest(text=text), timeout=10)


def eventually(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


async def put(url: str, key: str, row: dict[str, Any] | None) -> None:
    nc = await nats.connect(url)
    try:
        kv = await knowledge_bucket(nc.jetstream())
        if row is None:
            await kv.delete(key)
        else:
            await kv.put(key, json.dumps(row).encode())
    finally:
        await nc.close()


def test_a_row_in_either_language_is_a_complete_faq_record() -> None:
    burmese = staff_faq("q-1", json.dumps({"question_mm": "ဒူးရင်းကိတ် ရလား", "answer_mm": "မရပါ", "tags": ["durian"]}).encode())
    assert burmese is not None and burmese.id == "staff-q-1"
    assert (burmese.question_en, burmese.answer_en, burmese.tags) == ("ဒူးရင်းကိတ် ရလား", "မရပါ", ["durian"])
    for bad in (b"not json", b"[]", json.dumps({"question_en": "no answer"}).encode(), b"{}"):
        assert staff_faq("q-2", bad) is None


def test_the_agent_answers_from_what_staff_add_change_and_delete(services, nats_server: NatsServer,
                                                                   nats_url: str) -> None:
    log_start = nats_server.log_size()
    env, grpc_port, http_port = agent_env()
    # As in production: the agent's own NATS user, which may read this bucket and nothing else.
    env |= nats_server.env_for("agent")
    services.start("pentagon.agent", env, ready_url=f"http://127.0.0.1:{http_port}/readyz")
    before = ask(grpc_port, DURIAN)
    assert before.requires_human  # nothing in the cafe's files about durian

    asyncio.run(put(nats_url, "durian", {"question_en": DURIAN, "answer_en": "Only in June, when durians are in season.",
                                         "question_mm": "ဒူးရင်းကိတ် ရလား", "answer_mm": "ဇွန်လမှာပဲ ရပါတယ်။",
                                         "tags": ["durian"]}))
    taught = eventually(lambda: (r := ask(grpc_port, DURIAN)).sources and r.sources[0].id == "faq:staff-durian" and r)
    assert taught, "the staff's answer was not used"
    assert "June" in taught.text and not taught.requires_human
    assert "ဇွန်လ" in ask(grpc_port, "ဒူးရင်းကိတ် ရလား").text
    assert ask(grpc_port, "Do you have free Wi-Fi please").sources[0].id == "faq:1"  # the files still answer

    asyncio.run(put(nats_url, "durian", {"question_en": DURIAN, "answer_en": "Every day now!"}))
    assert eventually(lambda: "Every day" in ask(grpc_port, DURIAN).text)
    asyncio.run(put(nats_url, "durian", None))
    assert eventually(lambda: ask(grpc_port, DURIAN).requires_human), "a deleted answer was still used"
    assert not nats_server.refusals(log_start), "the agent's NATS user lacks a permission (deploy/nats/users.conf)"
