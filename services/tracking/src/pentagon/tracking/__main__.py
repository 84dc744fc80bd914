"""python -m pentagon.tracking: the consumer, the command handler and the ops HTTP routes."""

from __future__ import annotations

import asyncio
import logging

from pentagon.common.bus import bus_erasures_bucket, connect, ensure_streams, mode_bucket
from pentagon.common.health import ops_app
from pentagon.common.serve import on_shutdown_signal, uvicorn_server
from pentagon.common.settings import load_settings
from pentagon.tracking.commands import CommandHandler
from pentagon.tracking.consumer import DURABLE, Consumer
from pentagon.tracking.erasure import BusEraser
from pentagon.tracking.housekeeping import IdleCloser, RetentionPurger
from pentagon.tracking.outbox import OutboxKeeper
from pentagon.tracking.settings import Settings
from pentagon.tracking.store import PostgresStore, Store, StoreUnavailable
from pentagon.tracking.updates import UpdatePublisher

log = logging.getLogger("pentagon.tracking")


def make_store(settings: Settings) -> Store:
    if settings.store_kind() == "postgres":
        dsn = settings.dsn()
        if not dsn:
            raise SystemExit("DATABASE_URL is required for TRACKING_STORE=postgres")
        return PostgresStore(dsn, pool_size=max(settings.tracking_db_pool_size, settings.tracking_workers + 2),
                             migrate=settings.tracking_migrate)
    from pentagon.tracking.supabase_store import SupabaseStore

    if not settings.supabase_url or not settings.supabase_service_role_key:
        raise SystemExit("set DATABASE_URL, or SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY")
    return SupabaseStore(settings.supabase_url, settings.supabase_service_role_key.get_secret_value())


async def start_store(store: Store, stop: asyncio.Event) -> bool:
    """Wait for the database (and apply migrations) without dying: it may start after us."""
    delay = 0.2
    while not stop.is_set():
        try:
            await store.start()
            return True
        except StoreUnavailable as exc:
            log.warning("database not reachable yet", extra={"error": str(exc)})
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, 5.0)
    return False


async def main() -> None:
    settings = load_settings(Settings, "tracking")
    store = make_store(settings)
    nc = await connect(settings.nats_url, "tracking")
    js = nc.jetstream(publish_async_max_pending=8000)
    await ensure_streams(js, settings.nats_stream_replicas)
    eraser = BusEraser(js, DURABLE, await bus_erasures_bucket(js, settings.nats_stream_replicas))
    publisher = UpdatePublisher(js, await mode_bucket(js, settings.nats_stream_replicas), eraser=eraser)
    started = asyncio.Event()
    stop = asyncio.Event()

    async def ready() -> bool:
        return started.is_set() and nc.is_connected and await store.ping()

    server = uvicorn_server(ops_app(ready), settings.tracking_addr)
    on_shutdown_signal(stop.set)
    serving = asyncio.create_task(server.serve())
    outbox = OutboxKeeper(store, publisher, settings.tracking_sweep_interval_s, settings.tracking_outbox_replay_age_s)
    consumer = Consumer(js, store, publisher, settings, outbox)
    commands = CommandHandler(nc, store, publisher)
    if await start_store(store, stop):
        await commands.start()
        running = asyncio.create_task(consumer.run())
        keeping = asyncio.create_task(outbox.run())
        erasing = asyncio.create_task(eraser.run())
        clocked = []
        if settings.tracking_auto_close_hours > 0:
            clocked.append(IdleCloser(store, commands, settings.tracking_auto_close_hours,
                                      settings.tracking_sweep_interval_s))
        if settings.tracking_retention_days > 0:
            clocked.append(RetentionPurger(store, commands, settings.tracking_retention_days,
                                          settings.tracking_sweep_interval_s))
        clocking = [asyncio.create_task(job.run()) for job in clocked]
        started.set()
        log.info("tracking started", extra={"store": settings.store_kind(), "workers": settings.tracking_workers})
        await stop.wait()
        consumer.stop()
        await commands.stop()
        await running
        outbox.stop()
        await keeping
        eraser.stop()
        await erasing
        for job in clocked:
            job.stop()
        await asyncio.gather(*clocking)
    server.should_exit = True
    await serving
    await nc.drain()
    await store.close()
    log.info("tracking stopped")


if __name__ == "__main__":
    asyncio.run(main())
