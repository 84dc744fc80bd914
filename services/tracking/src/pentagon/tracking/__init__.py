"""Consumes message events from JetStream and persists them to Postgres/Supabase; the only writer of the database."""
