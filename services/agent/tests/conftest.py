from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest

from pentagon.agent.answer import OfflineAnswerer
from pentagon.agent.knowledge import KnowledgeBase, load_knowledge
from pentagon.agent.llm import LlmAnswerer
from pentagon.agent.server import AgentServer, AgentServicer
from pentagon.agent.settings import PACKAGED_KNOWLEDGE_DIR, Settings
from pentagon.common.proto import agent_pb2_grpc
from pentagon.devtools.embedded import free_port
from pentagon.devtools.openai_stub import OpenAIStub

sys.path.insert(0, str(Path(__file__).parent))  # agent_support

# A Wednesday morning in Yangon: the sample cafe is open 07:00-21:00.
WEDNESDAY = datetime(2026, 1, 14, 10, 0, tzinfo=ZoneInfo("Asia/Yangon"))


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge(PACKAGED_KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def answerer(kb: KnowledgeBase) -> OfflineAnswerer:
    return OfflineAnswerer(kb, clock=lambda: WEDNESDAY)


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    stub = OpenAIStub().start()
    yield stub
    stub.stop()


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"agent_addr": f"127.0.0.1:{free_port()}", "agent_shutdown_grace_s": 0.5}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class RunningAgent:
    def __init__(self, server: AgentServer, channel: grpc.aio.Channel) -> None:
        self.server = server
        self.channel = channel
        self.stub = agent_pb2_grpc.AgentServiceStub(channel)


async def start_agent(kb: KnowledgeBase, settings: Settings) -> RunningAgent:
    offline = OfflineAnswerer(kb, settings.agent_escalation_threshold, settings.agent_history_turns,
                              clock=lambda: WEDNESDAY)
    llm = LlmAnswerer(settings, offline) if settings.llm_enabled else None
    server = AgentServer(settings, AgentServicer(settings, offline, llm))
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    return RunningAgent(server, channel)


@pytest.fixture
async def agent(kb: KnowledgeBase) -> AsyncIterator[RunningAgent]:
    running = await start_agent(kb, make_settings(agent_max_input_chars=4000))
    yield running
    await running.channel.close()
    await running.server.stop()
