"""python -m pentagon.webhook: the HTTP app plus the reply and sender workers in one process.

REPLY_WORKER_ENABLED=false / SENDER_ENABLED=false (or --no-reply-worker /
--no-sender) run an HTTP-only replica. ``--workers-only`` (WEBHOOK_WORKERS_ONLY=true)
runs the reply worker and the sender alone, serving only /healthz, /readyz and
/metrics on WEBHOOK_WORKER_ADDR: the production layout is one HTTP-only process
plus one workers-only process, so the acknowledgement path never waits behind
agent calls and Send API requests, and the two use separate cores.
"""

from __future__ import annotations

import argparse
import logging

from pentagon.common.health import ops_app
from pentagon.common.serve import on_shutdown_signal, run_main, uvicorn_server
from pentagon.common.settings import load_settings
from pentagon.webhook.app import build_app
from pentagon.webhook.erasure import HistoryEraser
from pentagon.webhook.fast_path import WebhookFront
from pentagon.webhook.reply_worker import ReplyWorker
from pentagon.webhook.runtime import build_runtime
from pentagon.webhook.sender import Sender
from pentagon.webhook.staff_typing import StaffTypingRelay
from pentagon.webhook.settings import Settings, fill_ephemeral_secrets

log = logging.getLogger("pentagon.webhook")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pentagon.webhook")
    parser.add_argument("--no-reply-worker", action="store_true")
    parser.add_argument("--no-sender", action="store_true")
    parser.add_argument("--workers-only", action="store_true", help="no public HTTP: workers + ops routes")
    return parser.parse_args()


async def main() -> None:
    args = _args()
    settings = load_settings(Settings, "webhook")
    fill_ephemeral_secrets(settings)
    rt = await build_runtime(settings)
    workers = []
    if settings.reply_worker_enabled and not args.no_reply_worker:
        workers.append(ReplyWorker(rt).consumer)
        workers.append(HistoryEraser(rt.js, rt.history.kv))  # the reply worker's history, so its process
    if settings.sender_enabled and not args.no_sender:
        workers.append(Sender(rt).consumer)
        workers.append(StaffTypingRelay(rt.nc, rt.send_api))  # the Send API's process
    for worker in workers:
        await worker.start()
    workers_only = args.workers_only or settings.webhook_workers_only
    if workers_only:
        server = uvicorn_server(ops_app(rt.ready), settings.webhook_worker_addr)
    else:
        server = uvicorn_server(WebhookFront(build_app(rt), rt), settings.webhook_addr)
    # X-Forwarded-For is interpreted by our rate limiter against TRUSTED_PROXIES, not by uvicorn.
    server.config.proxy_headers = False
    on_shutdown_signal(lambda: setattr(server, "should_exit", True))
    addr = settings.webhook_worker_addr if workers_only else settings.webhook_addr
    log.info("webhook started", extra={"addr": addr, "workers": [w.name for w in workers],
                                       "workers_only": workers_only})
    try:
        await server.serve()
    finally:
        for worker in workers:
            await worker.stop()
        await rt.close()


if __name__ == "__main__":
    run_main(main)  # uvloop: this process's HTTP and NATS paths are CPU-bound under load
