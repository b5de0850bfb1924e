"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from clinic_shared.db import make_engine
from clinic_shared.migrations import upgrade

from screening.store.tables import metadata


def test_migrations_match_the_tables(database_url):
    upgrade("screening", database_url)
    upgrade("screening", database_url)  # running again is harmless
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_revision() == "0003"
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
