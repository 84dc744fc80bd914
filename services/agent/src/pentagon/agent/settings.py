"""Configuration of the agent service (environment, then .env)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from pentagon.common.settings import CommonSettings

# The sample knowledge base shipped next to the package (services/agent/knowledge).
PACKAGED_KNOWLEDGE_DIR = Path(__file__).resolve().parents[3] / "knowledge"


class Settings(CommonSettings):
    agent_addr: str = "127.0.0.1:50051"
    agent_http_addr: str = "127.0.0.1:8004"
    knowledge_dir: Path = PACKAGED_KNOWLEDGE_DIR
    agent_max_input_chars: int = Field(4000, ge=1)
    agent_escalation_threshold: float = Field(0.35, ge=0.0, le=1.0)
    agent_history_turns: int = Field(6, ge=0)
    agent_timezone: str = "Asia/Yangon"
    # Seconds in-flight RPCs get to finish after SIGTERM.
    agent_shutdown_grace_s: float = Field(5.0, ge=0.0)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout_s: float = Field(8.0, gt=0.0)

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key and self.openai_api_key.get_secret_value())
