"""Admin REST API, live WebSocket updates and the admin panel page."""
