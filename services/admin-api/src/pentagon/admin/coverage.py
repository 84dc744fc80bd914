"""What the bot answers today of the questions it once handed to a person for want of knowledge.

The statistics' list of unanswered questions asks the agent again about them, in one call
(gRPC ``Coverage``: its offline answer only, never a model call, so the list costs nothing),
so staff see which ones are answered now: taught in the panel (in any words), the cafe's files
changed, or the agent improved. Bounded in time: an agent slow or away leaves it unknown.
"""

from __future__ import annotations

import asyncio

from pentagon.common.agent_client import AgentClient, AgentUnavailable

# The whole list, every question at once: a stats page never waits longer for the agent.
COVERAGE_TIMEOUT_S = 2.0


async def answered_now(agent: AgentClient, questions: list[str]) -> list[bool | None]:
    """For each question: True if the agent answers it now, False if it would hand it over, None: unknown."""
    if not questions:
        return []
    try:
        answered = await asyncio.wait_for(agent.coverage(questions), COVERAGE_TIMEOUT_S)
    except (AgentUnavailable, asyncio.TimeoutError):
        return [None] * len(questions)
    return list(answered) if len(answered) == len(questions) else [None] * len(questions)
