"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis), against the real
admin-api process with real tracking, NATS and Postgres: no 500, responses match the documented schemas."""

from __future__ import annotations

import asyncio
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from admin_support import ADMIN, ADMIN_TOKENS, add_conversation, add_message, later
from conftest import apply_migrations
from pentagon.devtools.pytest_plugin import ServiceRunner
from pentagon.devtools.embedded import free_port

import asyncpg
from schemathesis.specs.openapi.checks import positive_data_acceptance


async def _seed(url: str) -> None:
    await apply_migrations(url)
    conn = await asyncpg.connect(url)
    try:
        for i in range(3):
            conv = await add_conversation(conn, f"psid-{i}", last_message_at=later(i))
            await add_message(conn, conv, "မင်္ဂလာပါ coffee ☕", at=later(i))
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def admin_base(postgres_server, nats_server, infra_dir):
    url = postgres_server.create_database(f"fuzz_{os.getpid()}")
    asyncio.run(_seed(url))
    runner = ServiceRunner(infra_dir / "logs" / "fuzz")
    try:
        tport = free_port()
        runner.start("pentagon.tracking", {"NATS_URL": nats_server.url, "DATABASE_URL": url,
                                           "TRACKING_ADDR": f"127.0.0.1:{tport}"},
                     ready_url=f"http://127.0.0.1:{tport}/readyz")
        # The real agent, so the "ask the bot" route is fuzzed through to it.
        gport, aport = free_port(), free_port()
        runner.start("pentagon.agent", {"NATS_URL": nats_server.url, "AGENT_ADDR": f"127.0.0.1:{gport}",
                                        "AGENT_HTTP_ADDR": f"127.0.0.1:{aport}", "OPENAI_API_KEY": ""},
                     ready_url=f"http://127.0.0.1:{aport}/readyz")
        port = free_port()
        runner.start("pentagon.admin", {"NATS_URL": nats_server.url, "DATABASE_URL": url, "ADMIN_TOKENS": ADMIN_TOKENS,
                                        "AGENT_ADDR": f"127.0.0.1:{gport}",
                                        "ADMIN_API_ADDR": f"127.0.0.1:{port}", "ADMIN_COMMAND_TIMEOUT": "2",
                                        # schemathesis tries wrong tokens on purpose: never throttle its address
                                        "ADMIN_AUTH_FAILURES_BURST": "1000000"},
                     ready_url=f"http://127.0.0.1:{port}/readyz")
        yield f"http://127.0.0.1:{port}"
    finally:
        runner.stop_all()


@pytest.fixture(scope="module")
def api_schema(admin_base):
    return schemathesis.openapi.from_url(f"{admin_base}/admin/openapi.json")


EXAMPLES = int(os.environ.get("ADMIN_FUZZ_EXAMPLES", "40"))


def _fuzz(operation, base_url: str) -> None:
    # Driven by hand rather than schemathesis' pytest plugin, which does not support this pytest version.
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        # Opaque cursors and cross-field rules (since < until) cannot be expressed in the schema, so a
        # schema-valid request may rightly get a 422: that one check is off, every other one stays.
        case.call_and_validate(base_url=base_url, headers=ADMIN, excluded_checks=[positive_data_acceptance])

    run()


def test_api_never_fails_on_any_input(api_schema, admin_base):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, admin_base)
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
