"""Engines on PostgreSQL: sessions in UTC whatever the server's default, the URL's own options kept."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.engine import make_url

from clinic_shared.db import UTCDateTime, make_engine


@pytest.fixture
def postgres_url(postgres_url_factory):
    return postgres_url_factory()


def test_a_session_speaks_utc_and_timestamps_come_back_in_utc(postgres_url):
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    engine = make_engine(postgres_url)
    try:
        table.create(engine)
        local = datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=1)))
        with engine.begin() as connection:
            assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
            connection.execute(insert(table).values(id=1, at=local))
            raw = connection.execute(text("SELECT at FROM moments")).scalar()
            read = connection.execute(select(table.c.at)).scalar()
        assert raw.tzinfo is timezone.utc  # psycopg's own, not a zone UTCDateTime would convert from
        assert read == local and read.tzinfo is timezone.utc and read.isoformat() == "2026-03-29T01:30:00+00:00"
    finally:
        engine.dispose()


def test_the_urls_own_options_are_kept(postgres_url):
    url = make_url(postgres_url).update_query_dict({"options": "-c statement_timeout=4321"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "4321ms"
            assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
    finally:
        engine.dispose()
