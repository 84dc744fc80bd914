"""python -m pentagon.tracking"""

from __future__ import annotations

import asyncio

from pentagon.common.bus import connect
from pentagon.common.health import ops_app
from pentagon.common.logging import configure_logging
from pentagon.common.serve import on_shutdown_signal, uvicorn_server
from pentagon.tracking.settings import Settings


async def main() -> None:
    settings = Settings()
    configure_logging("tracking", settings.log_level)
    nc = await connect(settings.nats_url, "tracking")

    async def ready() -> bool:
        return nc.is_connected

    server = uvicorn_server(ops_app(ready), settings.tracking_addr)
    on_shutdown_signal(lambda: setattr(server, "should_exit", True))
    await server.serve()
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
