"""The conversation history in KV: turns for the agent and the user messages already answered."""

from __future__ import annotations

import json

import nats
import pytest

from pentagon.common.bus import mode_key
from pentagon.devtools.embedded import NatsServer
from pentagon.webhook.history import MAX_ANSWERED, History


@pytest.fixture
async def kv(tmp_path):  # type: ignore[no-untyped-def]
    server = NatsServer(tmp_path / "nats", tmp_path / "nats.log").start()
    nc = await nats.connect(server.url)
    try:
        yield await nc.jetstream().create_key_value(bucket="history_test")
    finally:
        await nc.close()
        server.stop()


async def test_turns_and_answered_ids_are_written_together(kv) -> None:  # type: ignore[no-untyped-def]
    history = History(kv, max_turns=4)
    thread = await history.read("messenger", "7")
    assert (thread.turns, thread.answered, thread.revision) == ([], [], 0)
    await history.append("messenger", "7", ("user", "hi"), ("bot", "hello"), base=thread, answered="m:1")
    for n in range(2, 4):
        await history.append("messenger", "7", ("user", f"q{n}"), ("bot", f"a{n}"), answered=f"m:{n}")
    thread = await history.read("messenger", "7")
    assert [(t.role, t.text) for t in thread.turns] == [("user", "q2"), ("bot", "a2"), ("user", "q3"), ("bot", "a3")]
    assert thread.answered == ["m:1", "m:2", "m:3"] and thread.revision > 0


async def test_a_writer_with_a_stale_read_merges_instead_of_overwriting(kv) -> None:  # type: ignore[no-untyped-def]
    """The sender appending a staff reply and the reply worker appending an answer, both from the same read."""
    history = History(kv, max_turns=10)
    await history.append("messenger", "8", ("user", "first"))
    stale = await history.read("messenger", "8")
    await history.append("messenger", "8", ("human", "staff here"), base=stale)
    await history.append("messenger", "8", ("user", "second"), ("bot", "answer"), base=stale, answered="m:2")
    thread = await history.read("messenger", "8")
    assert [t.text for t in thread.turns] == ["first", "staff here", "second", "answer"]
    assert thread.answered == ["m:2"]


async def test_values_written_before_the_answered_list_are_read(kv) -> None:  # type: ignore[no-untyped-def]
    await kv.put(mode_key("messenger", "9"), json.dumps([{"role": "user", "text": "old"}, "junk"]).encode())
    history = History(kv, max_turns=10)
    thread = await history.read("messenger", "9")
    assert [(t.role, t.text) for t in thread.turns] == [("user", "old")] and thread.answered == []
    await history.append("messenger", "9", ("bot", "new"), base=thread, answered="m:9")
    assert [t.text for t in (await history.read("messenger", "9")).turns] == ["old", "new"]


async def test_answered_ids_are_bounded_and_a_purge_starts_over(kv) -> None:  # type: ignore[no-untyped-def]
    history = History(kv, max_turns=2)
    for n in range(MAX_ANSWERED + 5):
        await history.append("web", "10", ("user", "x"), answered=f"m:{n}")
    thread = await history.read("web", "10")
    assert len(thread.answered) == MAX_ANSWERED and thread.answered[-1] == f"m:{MAX_ANSWERED + 4}"
    await history.forget("web", "10")
    assert (await history.read("web", "10")).answered == []
    await history.append("web", "10", ("user", "after"), answered="m:new")  # written after the purge marker
    assert (await history.read("web", "10")).answered == ["m:new"]
