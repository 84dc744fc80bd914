"""The real `python -m pentagon.admin` process: starts, is ready, serves, and runs without tokens (refusing all)."""

from __future__ import annotations

import httpx

from admin_support import ADMIN, ADMIN_TOKEN, ADMIN_TOKENS
from pentagon.devtools.embedded import free_port


def test_process_serves_and_keeps_tokens_out_of_logs(services, db_url, nats_url):
    port = free_port()
    proc = services.start("pentagon.admin", {"NATS_URL": nats_url, "DATABASE_URL": db_url,
                                             "ADMIN_TOKENS": ADMIN_TOKENS, "ADMIN_API_ADDR": f"127.0.0.1:{port}"},
                          ready_url=f"http://127.0.0.1:{port}/readyz")
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/admin/stats", headers=ADMIN).json()["stats"]["total_conversations"] == 0
    assert httpx.get(f"{base}/admin/stats").status_code == 401
    assert httpx.get(f"{base}/").status_code == 200
    proc.stop()
    log = proc.log_path.read_text()
    assert ADMIN_TOKEN not in log
    assert all(line.startswith("{") for line in log.splitlines() if line.strip())


def test_process_without_tokens_starts_but_refuses_everything(services, db_url, nats_url):
    port = free_port()
    proc = services.start("pentagon.admin", {"NATS_URL": nats_url, "DATABASE_URL": db_url, "ADMIN_TOKENS": "",
                                             "ADMIN_API_ADDR": f"127.0.0.1:{port}"},
                          ready_url=f"http://127.0.0.1:{port}/readyz")
    assert httpx.get(f"http://127.0.0.1:{port}/admin/stats", headers=ADMIN).status_code == 401
    proc.stop()
    assert "every admin request will be refused" in proc.log_path.read_text()
