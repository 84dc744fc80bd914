"""Messenger webhook, web chat API, reply worker and Send API client."""
