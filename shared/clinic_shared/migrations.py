"""Alembic helpers: each service keeps its own migrations; these run them the same way everywhere."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from .db import UTCDateTime, make_engine


def alembic_config(package: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(package: str, database_url: str, revision: str = "head") -> None:
    """Bring a service's database to `revision` (what `python -m <service>.migrate` runs)."""
    command.upgrade(alembic_config(package, database_url), revision)


def run_env(target_metadata) -> None:
    """The body of every service's `migrations/env.py` (online mode only: we always have a database)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def create_messaging_tables(op) -> None:
    """The outbox and inbox tables (see outbox.py and inbox.py), for a service's first migration."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
    )


def create_heartbeat_table(op) -> None:
    """The worker's heartbeat (see heartbeat.py), for a service's migration."""
    op.create_table(
        "worker_heartbeat",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
    )


def create_erased_clients_table(op) -> None:
    """The ids of the clients erased in this service (see erasure.py), for a service's migration."""
    op.create_table(
        "erased_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
    )
