"""Helpers shared by the system tests and bench/e2e_bench.py: the whole stack as processes, signed
Messenger traffic, a fast keep-alive load generator, the admin WebSocket reader and database invariants."""
