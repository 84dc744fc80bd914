"""Shared building blocks of the Pentagon services (contracts, settings, logging, NATS, health)."""
