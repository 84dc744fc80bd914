"""The real ``python -m pentagon.agent`` process: readiness, a reply, SIGTERM, bad knowledge."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import httpx

from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR
from pentagon.common.proto import agent_pb2, agent_pb2_grpc

from agent_support import agent_env


def test_process_serves_and_stops_cleanly_on_sigterm(services) -> None:  # type: ignore[no-untyped-def]
    env, grpc_port, http_port = agent_env()
    proc = services.start("pentagon.agent", env, ready_url=f"http://127.0.0.1:{http_port}/readyz")
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        reply = agent_pb2_grpc.AgentServiceStub(channel).Reply(
            agent_pb2.ReplyRequest(conversation_id=42, text="Do you have free Wi-Fi please"), timeout=10)
    assert reply.sources[0].id == "faq:1"
    metrics = httpx.get(f"http://127.0.0.1:{http_port}/metrics").text
    assert 'agent_replies_total{intent="faq"' in metrics
    proc.proc.terminate()
    assert proc.proc.wait(timeout=15) == 0
    log = proc.log_path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("msg") == "reply" and line.get("conversation_id") == 42 for line in lines)
    assert "Wi-Fi please" not in log, "message content must never be logged"


def test_malformed_knowledge_stops_startup_with_a_clear_error(tmp_path: Path) -> None:
    kdir = tmp_path / "knowledge"
    shutil.copytree(PACKAGED_KNOWLEDGE_DIR, kdir)
    faq = json.loads((kdir / "FAQ_QA.json").read_text(encoding="utf-8"))
    faq[2]["answer_en"] = ""
    (kdir / "FAQ_QA.json").write_text(json.dumps(faq, ensure_ascii=False), encoding="utf-8")
    env, _, _ = agent_env(kdir)
    done = subprocess.run([sys.executable, "-m", "pentagon.agent"], env={**_base_env(), **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "FAQ_QA.json: faq[2] (id=3): answer_en" in done.stderr


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)
