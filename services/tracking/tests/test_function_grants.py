"""On Supabase every function of the public schema is callable over PostgREST by `anon` and
`authenticated` unless revoked: every pentagon_* function, those of later migrations included,
must be callable by the service role only (pentagon_restrict_functions(), run by migrate.py
after every application of functions/)."""

from __future__ import annotations

import os

import asyncpg
import pytest

from pentagon.tracking.migrate import migrate

SUPABASE_ROLES = ("anon", "authenticated")  # names Supabase gives them: the rule looks for these


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


async def test_on_supabase_the_anon_key_reads_no_table_of_ours(database_url: str) -> None:
    """Supabase grants anon and authenticated every privilege on each new table of the public schema
    (its default privileges) and its Data API serves those tables to the public anon key: after
    migrate, no table of ours has a privilege for them, and row level security hides every row."""
    owner = await asyncpg.connect(database_url)
    try:
        for role in SUPABASE_ROLES:
            await owner.execute(f"DO $$ BEGIN CREATE ROLE {role}; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        await owner.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {', '.join(SUPABASE_ROLES)}")
        await owner.execute(f"GRANT USAGE ON SCHEMA public TO {', '.join(SUPABASE_ROLES)}")
        await migrate(database_url)
        await owner.execute("INSERT INTO conversations (platform, user_id) VALUES ('messenger', 'psid-1')")

        tables = await owner.fetch(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'")
        assert len(tables) >= 10
        # A table a migration adds must be in pentagon_restrict_tables()'s list.
        assert [t["relname"] for t in tables if not t["relrowsecurity"]] == []
        for role in SUPABASE_ROLES:
            for table in (t["relname"] for t in tables):
                assert not await owner.fetchval("SELECT has_table_privilege($1, $2, 'SELECT')", role, table), (role, table)
            async with owner.transaction():
                await owner.execute(f"SET LOCAL ROLE {role}")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await owner.fetch("SELECT * FROM messages")
        # The owner, as tracking and admin-api connect, is not restricted.
        assert await owner.fetchval("SELECT count(*) FROM conversations") == 1
    finally:
        await owner.execute(f"DROP OWNED BY {', '.join(SUPABASE_ROLES)}")
        await owner.close()


async def test_a_table_that_is_not_ours_is_left_as_it_is(database_url: str) -> None:
    """A Supabase project may hold the cafe's own tables too, with their own policies: the rule
    changes only the tables our migrations create."""
    await migrate(database_url)
    owner = await asyncpg.connect(database_url)
    try:
        await owner.execute("CREATE TABLE not_listed (id int)")
        await owner.execute("CALL pentagon_restrict_tables()")
        assert await owner.fetchval("SELECT relrowsecurity FROM pg_class WHERE relname = 'not_listed'") is False
        assert await owner.fetchval("SELECT relrowsecurity FROM pg_class WHERE relname = 'messages'") is True
    finally:
        await owner.close()
