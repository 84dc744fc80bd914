"""Developer tooling: the local stack (command one) and the pytest fixtures (command two)."""
