"""A wrong setting stops a service at start with exit code 2 and one JSON line naming the variable,
never its value, instead of a traceback (or, for TRUSTED_PROXIES, a 500 on every request)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SECRET = "s3cr3t-looking-value"


@pytest.mark.parametrize("module,env,variables", [
    ("pentagon.admin", {"ADMIN_DB_POOL_SIZE": "0", "TRUSTED_PROXIES": f"127.0.0.1/32,{SECRET}"},
     {"ADMIN_DB_POOL_SIZE", "TRUSTED_PROXIES"}),
    ("pentagon.webhook", {"TRUSTED_PROXIES": SECRET, "WORKER_ACK_WAIT_S": "0"}, {"TRUSTED_PROXIES", "WORKER_ACK_WAIT_S"}),
    ("pentagon.tracking", {"NATS_STREAM_REPLICAS": SECRET}, {"NATS_STREAM_REPLICAS"}),
    ("pentagon.agent", {"NATS_STREAM_REPLICAS": SECRET}, {"NATS_STREAM_REPLICAS"}),
])
def test_invalid_configuration_exits_2_naming_the_variables(tmp_path, module: str, env: dict[str, str],
                                                            variables: set[str]) -> None:
    result = subprocess.run([sys.executable, "-m", module], env={**os.environ, **env}, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [entry] = [line for line in lines if line["msg"] == "invalid configuration"]
    assert entry["level"] == "error" and {e["variable"] for e in entry["errors"]} == variables
    assert all(e["error"] for e in entry["errors"])
