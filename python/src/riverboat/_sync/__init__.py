# Generated from the _async twin by scripts/generate_sync.py. Do not edit.
"""Hand-written asyncio source of every database-facing API; ``_sync`` is generated from it."""
