"""Command one, end to end: the stack runner brings everything up behind the
gateway, the admin API answers through it with the printed token, and SIGTERM
leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psutil

from pentagon.devtools.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
ADDR_VARS = ["AGENT_ADDR", "AGENT_HTTP_ADDR", "WEBHOOK_ADDR", "ADMIN_API_ADDR", "TRACKING_ADDR", "CHAT_UI_ADDR",
             "GRAPH_STUB_ADDR"]


def _stack_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL", "SUPABASE_URL")}
    env.update({var: f"127.0.0.1:{free_port()}" for var in ADDR_VARS})
    env.update(PENTAGON_DATA_DIR=str(data_dir), GATEWAY_PORT=str(free_port()), NATS_PORT=str(free_port()),
               PG_PORT=str(free_port()), PYTHONUNBUFFERED="1")
    return env


def _wait_for_banner(proc: subprocess.Popen, timeout: float = 240.0) -> str:
    lines: list[str] = []
    done = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                done.set()
        done.set()

    threading.Thread(target=pump, daemon=True).start()
    done.wait(timeout)
    out = "".join(lines)
    assert "Ctrl-C stops everything" in out, f"stack did not come up:\n{out}"
    return out


def test_stack_comes_up_answers_through_gateway_and_stops_cleanly(tmp_path_factory) -> None:
    data_dir = Path(tmp_path_factory.mktemp("stack"))
    env = _stack_env(data_dir)
    proc = subprocess.Popen([sys.executable, "-m", "pentagon.devtools.stack"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    children: list[psutil.Process] = []
    try:
        banner = _wait_for_banner(proc)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 8  # nats, postgres, graph stub, 4 services, chat ui, gateway
        token = re.search(r"Admin token\s+(\S+)", banner).group(1)
        gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"

        response = httpx.get(f"{gateway}/admin/stats", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and "total_messages" in body["stats"]
        assert httpx.get(f"{gateway}/admin/stats", timeout=10).status_code == 401
        assert httpx.get(f"{gateway}/chat/_stcore/health", timeout=10).status_code == 200
        assert token not in (data_dir / "logs" / "admin-api.log").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0
    survivors = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], [p.cmdline() for p in survivors]
