"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from datetime import datetime, timezone

from sqlalchemy import select

from clinic_shared.db import make_engine
from clinic_shared.migrations import upgrade

from screening.store.tables import client_activity, daily_jobs, metadata, screenings


def test_migrations_match_the_tables(database_url):
    upgrade("screening", database_url)
    upgrade("screening", database_url)  # running again is harmless
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_revision() == "0004"
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_the_clients_screened_before_0004_start_active_from_their_last_screening(database_url):
    upgrade("screening", database_url, "0002")
    engine = make_engine(database_url)
    at = [datetime(2020, 1, day, tzinfo=timezone.utc) for day in (1, 2, 3)]
    row = {"client_name": "N", "client_email": "e@x", "areas": [], "answers": {}, "outcome": "eligible",
           "reasons": [], "rules_version": "1", "valid_until": at[0]}
    try:
        with engine.begin() as connection:
            connection.execute(screenings.insert(), [{**row, "id": "s1", "client_id": "c1", "created_at": at[0]},
                                                     {**row, "id": "s2", "client_id": "c1", "created_at": at[2]},
                                                     {**row, "id": "s3", "client_id": "c2", "created_at": at[1]}])
        upgrade("screening", database_url)
        with engine.connect() as connection:
            assert dict(connection.execute(select(client_activity.c.client_id, client_activity.c.last_active_at))
                        .all()) == {"c1": at[2], "c2": at[1]}
            assert connection.execute(select(daily_jobs.c.name)).scalars().all() == ["retention"]
    finally:
        engine.dispose()
