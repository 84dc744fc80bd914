"""Every variable a service, the chat client or the compose file reads is documented.

The README table and `.env.example` are what operators read; a setting added to a
service's Settings without them is a setting nobody can find.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from pentagon.admin.settings import Settings as AdminSettings
from pentagon.agent.settings import Settings as AgentSettings
from pentagon.tracking.settings import Settings as TrackingSettings
from pentagon.webhook.settings import Settings as WebhookSettings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
SETTINGS: list[type[BaseSettings]] = [WebhookSettings, AgentSettings, TrackingSettings, AdminSettings]


def in_readme(name: str) -> bool:
    return f"`{name}`" in README


def in_env_example(name: str) -> bool:
    return re.search(rf"^#?\s*{name}=", ENV_EXAMPLE, re.M) is not None


def settings_variables() -> set[str]:
    return {(field.alias or name).upper() for cls in SETTINGS for name, field in cls.model_fields.items()}


def chat_client_variables() -> set[str]:
    source = "\n".join(p.read_text() for p in (ROOT / "clients" / "streamlit-chat").glob("*.py"))
    return set(re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def compose_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))


@pytest.mark.parametrize("source", ["settings", "chat client", "compose"])
def test_every_variable_read_is_in_the_readme_table_and_env_example(source: str) -> None:
    names = {"settings": settings_variables, "chat client": chat_client_variables, "compose": compose_variables}[source]()
    assert names, f"no variables found in the {source}: the scan itself is broken"
    missing = {n: [doc for doc, found in (("README", in_readme(n)), (".env.example", in_env_example(n))) if not found]
               for n in sorted(names)}
    assert not {n: docs for n, docs in missing.items() if docs}, "missing from"


def test_the_readme_table_and_env_example_list_the_same_variables() -> None:
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)`", README, re.M))
    example = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.M))
    assert len(table) > 50 and len(example) > 50
    assert sorted(n for n in example if not in_readme(n)) == []
    assert sorted(n for n in table if not in_env_example(n)) == []
