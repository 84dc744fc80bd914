"""Docker HEALTHCHECK: GET http://127.0.0.1:<port><path>, exit 0 only on HTTP 200.

    python healthcheck.py WEBHOOK_ADDR /readyz

The port comes from the service's own listen-address variable, so an operator
who moves a service to another port does not also have to fix its health check.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(addr_var: str, path: str, default_port: str) -> int:
    port = os.environ.get(addr_var, f"0.0.0.0:{default_port}").rpartition(":")[2]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
