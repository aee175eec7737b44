"""HTTP APIs: the REST API under /api and the OpenAI-compatible API under /v1."""
