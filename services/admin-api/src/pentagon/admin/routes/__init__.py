"""HTTP and WebSocket routes of admin-api, one module per resource."""
