"""python -m pentagon.webhook: the HTTP app plus the reply and sender workers in one process.

REPLY_WORKER_ENABLED=false / SENDER_ENABLED=false (or --no-reply-worker /
--no-sender) run an HTTP-only replica; workers can also run without HTTP
traffic by simply not routing to that replica.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from pentagon.common.logging import configure_logging
from pentagon.common.serve import on_shutdown_signal, uvicorn_server
from pentagon.webhook.app import build_app
from pentagon.webhook.reply_worker import ReplyWorker
from pentagon.webhook.runtime import build_runtime
from pentagon.webhook.sender import Sender
from pentagon.webhook.settings import Settings, fill_ephemeral_secrets

log = logging.getLogger("pentagon.webhook")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pentagon.webhook")
    parser.add_argument("--no-reply-worker", action="store_true")
    parser.add_argument("--no-sender", action="store_true")
    return parser.parse_args()


async def main() -> None:
    args = _args()
    settings = Settings()
    configure_logging("webhook", settings.log_level)
    fill_ephemeral_secrets(settings)
    rt = await build_runtime(settings)
    workers = []
    if settings.reply_worker_enabled and not args.no_reply_worker:
        workers.append(ReplyWorker(rt).consumer)
    if settings.sender_enabled and not args.no_sender:
        workers.append(Sender(rt).consumer)
    for worker in workers:
        await worker.start()
    server = uvicorn_server(build_app(rt), settings.webhook_addr)
    # X-Forwarded-For is interpreted by our rate limiter against TRUSTED_PROXIES, not by uvicorn.
    server.config.proxy_headers = False
    on_shutdown_signal(lambda: setattr(server, "should_exit", True))
    log.info("webhook started", extra={"addr": settings.webhook_addr, "workers": [w.durable for w in workers]})
    try:
        await server.serve()
    finally:
        for worker in workers:
            await worker.stop()
        await rt.close()


def _run() -> None:
    try:
        import uvloop  # the cheaper event loop: this process's HTTP and NATS paths are CPU-bound under load
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    _run()
