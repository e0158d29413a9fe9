"""Alembic migrations for the store; applied on start by ``scheduler.open_store``."""
