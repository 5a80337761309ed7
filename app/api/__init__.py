"""The HTTP API (FastAPI): tickets in, the queue, drafts and decisions out."""
