"""On Supabase every function of the public schema is callable over PostgREST by `anon` and
`authenticated` unless revoked: every pentagon_* function, those of later migrations included,
must be callable by the service role only (pentagon_restrict_functions(), run by migrate.py
after every application of functions/)."""

from __future__ import annotations

import os

import asyncpg


async def test_no_pentagon_function_is_callable_by_other_roles(db: asyncpg.Connection) -> None:
    role = f"pentagon_test_anon_{os.getpid()}"  # roles belong to the whole cluster
    await db.execute(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role}")
    try:
        functions = await db.fetch(
            "SELECT p.oid::regprocedure::text AS name, has_function_privilege($1, p.oid, 'EXECUTE') AS open"
            "  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND p.proname LIKE 'pentagon\\_%' AND p.prokind = 'f'", role)
        assert len(functions) > 20
        assert [f["name"] for f in functions if f["open"]] == []
    finally:
        await db.execute(f"DROP ROLE {role}")
