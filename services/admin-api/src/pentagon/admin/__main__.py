"""python -m pentagon.admin"""

from __future__ import annotations

import gc

from pentagon.admin.app import create_app
from pentagon.admin.runtime import Runtime
from pentagon.admin.settings import Settings
from pentagon.common.serve import on_shutdown_signal, run_main, uvicorn_server
from pentagon.common.settings import load_settings


async def main() -> None:
    settings = load_settings(Settings, "admin-api")
    runtime = Runtime(settings)
    await runtime.start()
    server = uvicorn_server(create_app(runtime), settings.admin_api_addr)
    # Deflate would run once per client per frame: with hundreds of panels open that dominates the CPU.
    server.config.ws_per_message_deflate = settings.admin_ws_compression
    server.config.ws_max_size = 64 * 1024  # clients send nothing we need; refuse big frames early
    on_shutdown_signal(lambda: setattr(server, "should_exit", True))
    _tune_gc()
    try:
        await server.serve()
    finally:
        await runtime.stop()


def _tune_gc() -> None:
    """Fewer and shorter collector pauses: one pause delays every WebSocket client at once.

    With 1,000 sockets open, full collections took ~150 ms every few seconds (bench/admin_bench.py).
    What exists after start-up (modules, app, settings) is frozen out of every collection, and young
    collections run every 20,000 allocations instead of 700, so per-frame objects die before they are
    promoted: full collections became rare and ~30 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 10)


if __name__ == "__main__":
    run_main(main)  # uvloop: the WebSocket fan-out is CPU-bound under load
