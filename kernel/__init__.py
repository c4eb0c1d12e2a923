"""The shared kernel: error shape, input fields, pagination, htmx helpers, the Redis client and the
JSON WebSocket base. It imports no app (docs/architecture.md)."""
