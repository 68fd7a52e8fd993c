"""Hand-written asyncio source of every database-facing API; ``_sync`` is generated from it."""
