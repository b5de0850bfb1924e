"""Alembic migrations of the notifications database."""
