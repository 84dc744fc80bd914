"""Run a uvicorn server inside an already running event loop, with clean shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from fastapi import FastAPI

from pentagon.common.settings import split_addr


def uvicorn_server(app: FastAPI, addr: str) -> uvicorn.Server:
    host, port = split_addr(addr)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    # The caller owns signals: we stop the server from our own handler.
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    return server


def on_shutdown_signal(callback: Callable[[], None]) -> None:
    """Call ``callback`` on SIGTERM or SIGINT (the stack runner and Docker send SIGTERM)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, callback)


def run_main(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a service's main() on uvloop when it is installed (cheaper for CPU-bound HTTP/NATS paths)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
