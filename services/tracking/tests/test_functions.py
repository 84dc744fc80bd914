"""functions/*.sql is the one place a pentagon_* function is defined; migrate.py applies it
after the migrations, once per revision, and never puts an older release's code back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import asyncpg
import pytest

from pentagon.tracking import migrate as migrate_module
from pentagon.tracking.migrate import (FunctionsOutOfDate, apply_functions, function_files, functions_checksum,
                                       functions_revision, migrate, stamp_functions)

DEFINITION = re.compile(r"CREATE OR REPLACE (?:FUNCTION|PROCEDURE) (\w+)\(.*?AS \$\$\n(.*?)\$\$;", re.S)


def defined() -> dict[str, str]:
    """Function name -> body, from functions/*.sql."""
    bodies: dict[str, str] = {}
    for name, sql in function_files():
        for function, body in DEFINITION.findall(sql):
            assert function not in bodies, f"{function} defined twice (again in {name})"
            bodies[function] = body
    return bodies


def test_revision_names_the_files() -> None:
    assert functions_revision()[1] == functions_checksum(function_files()), (
        "functions/*.sql changed: run `python -m pentagon.tracking.migrate --stamp-functions`")


def test_stamp_raises_the_revision_once_per_change(tmp_path) -> None:
    source = Path(migrate_module.__file__).parent / "functions"
    for f in source.iterdir():
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    revision = functions_revision()[0]
    assert stamp_functions(tmp_path) is None  # nothing changed
    (tmp_path / "90_maintenance.sql").write_text((tmp_path / "90_maintenance.sql").read_text() + "\n-- edited\n")
    assert stamp_functions(tmp_path) == revision + 1
    assert stamp_functions(tmp_path) is None
    text = (tmp_path / "REVISION").read_text()
    assert text.startswith("#") and f"revision: {revision + 1}" in text


async def test_the_database_runs_the_files_code(db: asyncpg.Connection) -> None:
    """Every pentagon_* routine of a migrated database is the one of functions/ (not an older
    definition left by a migration), with its settings."""
    files = defined()
    rows = await db.fetch("SELECT p.proname, p.prosrc, p.proconfig FROM pg_proc p "
                          "JOIN pg_namespace n ON n.oid = p.pronamespace "
                          "WHERE n.nspname = current_schema() AND p.proname LIKE 'pentagon\\_%' AND p.prokind IN ('f', 'p')")
    in_database = {r["proname"]: r for r in rows}
    assert sorted(in_database) == sorted(files)
    for name, row in in_database.items():
        assert row["prosrc"].strip() == files[name].strip(), name
    assert in_database["pentagon_update_conversations"]["proconfig"] == ["enable_nestloop=off"]
    assert await db.fetchval("SELECT revision FROM schema_functions") == functions_revision()[0]


async def test_an_older_release_leaves_newer_functions_alone(db: asyncpg.Connection, migrated_url: str) -> None:
    marker = "SELECT 42 -- a later release"
    await db.execute(f"CREATE OR REPLACE FUNCTION pentagon_outbox_done(ids bigint[]) RETURNS int "
                     f"LANGUAGE sql AS $$ {marker} $$")
    revision = functions_revision()[0]
    await db.execute("UPDATE schema_functions SET revision = $1", revision + 1)
    assert await migrate(migrated_url) == []
    assert marker in await db.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'pentagon_outbox_done'")

    # The database behind this release (restored from an old backup, say): brought forward.
    await db.execute("UPDATE schema_functions SET revision = $1", revision - 1)
    assert await migrate(migrated_url) == [f"functions/r{revision}"]
    assert marker not in await db.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'pentagon_outbox_done'")
    assert await db.fetchval("SELECT revision FROM schema_functions") == revision


async def test_changed_files_without_a_new_revision_are_refused(db: asyncpg.Connection, monkeypatch) -> None:
    revision, _ = functions_revision()
    monkeypatch.setattr(migrate_module, "functions_revision", lambda: (revision, "0" * 64))
    with pytest.raises(FunctionsOutOfDate, match="--stamp-functions"):
        await apply_functions(db)


async def test_the_pushed_conversation_row_is_the_rest_row(db: asyncpg.Connection) -> None:
    """pentagon_conversation_json (what the panel's live frames carry) names every column the REST
    API shows, with the same values: a column added to one and not the other breaks this."""
    from pentagon.common.jsonrow import CONVERSATION_COLUMNS, row_to_dict

    conv = await db.fetchval("INSERT INTO conversations (user_id, platform, labels, metadata) "
                             "VALUES ('u-json', 'web', ARRAY['order', 'ဘောက်ချာ'], '{\"a\": 1}') RETURNING id")
    pushed = json.loads(await db.fetchval("SELECT pentagon_conversation_json(c)::text FROM conversations c "
                                          "WHERE id = $1", conv))
    row = await db.fetchrow("SELECT * FROM conversations WHERE id = $1", conv)
    assert pushed == row_to_dict({k: row[k] for k in CONVERSATION_COLUMNS})
    assert pushed["labels"] == ["order", "ဘောက်ချာ"]
