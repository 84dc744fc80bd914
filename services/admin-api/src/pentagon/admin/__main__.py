"""python -m pentagon.admin"""

from __future__ import annotations

import asyncio

from pentagon.admin.app import create_app
from pentagon.admin.runtime import Runtime
from pentagon.admin.settings import Settings
from pentagon.common.logging import configure_logging
from pentagon.common.serve import on_shutdown_signal, uvicorn_server


async def main() -> None:
    settings = Settings()
    configure_logging("admin-api", settings.log_level)
    runtime = Runtime(settings)
    await runtime.start()
    server = uvicorn_server(create_app(runtime), settings.admin_api_addr)
    # Deflate would run once per client per frame: with hundreds of panels open that dominates the CPU.
    server.config.ws_per_message_deflate = settings.admin_ws_compression
    server.config.ws_max_size = 64 * 1024  # clients send nothing we need; refuse big frames early
    on_shutdown_signal(lambda: setattr(server, "should_exit", True))
    try:
        await server.serve()
    finally:
        await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main())
