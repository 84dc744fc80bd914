"""A uvicorn server on a background thread: how the loopback stand-ins for outside APIs run in tests."""

from __future__ import annotations

import threading
import time

import uvicorn


class ThreadedServer:
    def __init__(self, config: uvicorn.Config, name: str) -> None:
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout: float = 10.0) -> "ThreadedServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"{self.thread.name} did not start")
            time.sleep(0.02)
        return self

    def stop(self, force: bool = False) -> None:
        """``force``: do not wait for requests in progress (a stub holding one on purpose)."""
        self.server.should_exit = True
        self.server.force_exit = force
        self.thread.join(timeout=10)
