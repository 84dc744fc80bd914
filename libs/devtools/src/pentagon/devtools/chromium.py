"""Debian's headless Chromium for the browser tests, installed when missing.

CI starts from a fresh machine, and the suite must not skip what it cannot run:
every test that drives a browser asks for it here, whichever folder runs first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

_lock = threading.Lock()


def ensure_chromium() -> str:
    """The executable's path; installs Debian's Chromium (and a Myanmar font) first when missing."""
    with _lock:
        if not CHROMIUM.exists():
            if shutil.which("apt-get") is None:
                raise RuntimeError("Chromium missing and apt-get unavailable: install Debian's `chromium`")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                           check=True, env=env, capture_output=True)
            # Only the screenshots need it: Burmese shows as boxes without a Myanmar font.
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "fonts-noto-core"],
                           check=False, env=env, capture_output=True)
    return str(CHROMIUM)
