"""python -m pentagon.agent"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import replace
from typing import NamedTuple

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.buckets import Buckets
from pentagon.agent.closed_days import ClosedDays
from pentagon.agent.knowledge import Faq, KnowledgeBase, KnowledgeError, load_knowledge
from pentagon.agent.llm import LlmAnswerer
from pentagon.agent.menu_prices import MenuPrices
from pentagon.agent.server import AgentServer, AgentServicer
from pentagon.agent.settings import Settings
from pentagon.agent.sold_out import SoldOutMenu
from pentagon.agent.staff_knowledge import StaffKnowledge
from pentagon.common.health import ops_app
from pentagon.common.serve import on_shutdown_signal, uvicorn_server
from pentagon.common.settings import load_settings

log = logging.getLogger("pentagon.agent")


class Overlays(NamedTuple):
    """What staff set in the panel that the bot asks at answer time (no index rebuild)."""

    sold_out: SoldOutMenu
    closed_days: ClosedDays
    menu_prices: MenuPrices


def offline_answerer(settings: Settings, kb: KnowledgeBase, overlays: Overlays) -> OfflineAnswerer:
    return OfflineAnswerer(kb, settings.agent_escalation_threshold, settings.agent_history_turns,
                           settings.agent_timezone, sold_out=overlays.sold_out, closed_days=overlays.closed_days.rows,
                           menu_prices=overlays.menu_prices.rows)


def build(settings: Settings, overlays: Overlays) -> AgentServer:
    kb = load_knowledge(settings.knowledge_dir)
    offline = offline_answerer(settings, kb, overlays)
    llm = LlmAnswerer(settings, offline) if settings.llm_enabled else None
    log.info("knowledge loaded", extra={"records": kb.size, "llm": bool(llm), "model": settings.openai_model})
    return AgentServer(settings, AgentServicer(settings, offline, llm))


def staff_knowledge(settings: Settings, servicer: AgentServicer, buckets: Buckets,
                    overlays: Overlays) -> StaffKnowledge:
    """Follows the panel's answers; each change builds an index over the files plus them."""
    files = servicer.offline.kb

    async def rebuild(staff: list[Faq]) -> None:
        kb = replace(files, faqs=[*files.faqs, *staff])
        servicer.use(await asyncio.to_thread(offline_answerer, settings, kb, overlays))

    return StaffKnowledge(buckets, rebuild)


async def main() -> int:
    settings = load_settings(Settings, "agent")
    buckets = Buckets(settings.nats_url, settings.nats_stream_replicas)
    overlays = Overlays(SoldOutMenu(buckets), ClosedDays(buckets), MenuPrices(buckets))
    try:
        agent = build(settings, overlays)
    except KnowledgeError as exc:
        log.error("invalid knowledge", extra={"error": str(exc)})
        print(f"agent: invalid knowledge: {exc}", file=sys.stderr)
        return 2
    await agent.start()
    log.info("serving", extra={"grpc_port": agent.port})
    following = [asyncio.create_task(staff_knowledge(settings, agent.servicer, buckets, overlays).run()),
                 *(asyncio.create_task(o.run()) for o in (overlays.sold_out, overlays.closed_days, overlays.menu_prices))]

    async def ready() -> bool:
        return agent.serving

    ops = uvicorn_server(ops_app(ready), settings.agent_http_addr)
    stopping = asyncio.Event()
    on_shutdown_signal(stopping.set)
    ops_task = asyncio.create_task(ops.serve())
    stop_task = asyncio.create_task(stopping.wait())
    # The ops server ending on its own (port taken) stops the agent too, instead of serving unobserved.
    await asyncio.wait({ops_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down")
    for task in following:
        task.cancel()
    await asyncio.gather(*following, return_exceptions=True)
    await buckets.close()
    await agent.stop()
    ops.should_exit = True
    stop_task.cancel()
    try:
        await ops_task
    except SystemExit:
        return 1
    return 0 if stopping.is_set() else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
