from datetime import datetime, timedelta, timezone

from sqlalchemy import MetaData

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.heartbeat import Heartbeat, heartbeat_table, worker_check

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def make(database_url):
    metadata = MetaData()
    table = heartbeat_table(metadata)
    engine = make_engine(database_url)
    metadata.create_all(engine)
    return engine, make_session_factory(engine), table


def test_a_worker_is_alive_only_while_it_beats(database_url):
    engine, sessions, table = make(database_url)
    heartbeat = Heartbeat(sessions, table)
    assert not heartbeat.alive(timedelta(seconds=30), now=T0)  # never beat
    heartbeat.beat(now=T0)
    heartbeat.beat(now=T0 + timedelta(seconds=2))  # the second beat updates the first
    assert heartbeat.alive(timedelta(seconds=30), now=T0 + timedelta(seconds=31))
    assert not heartbeat.alive(timedelta(seconds=30), now=T0 + timedelta(seconds=33))
    engine.dispose()


def test_health_check_says_down_when_the_database_is_unreachable(tmp_path):
    engine, sessions, table = make(f"sqlite:///{tmp_path / 'h.db'}")
    Heartbeat(sessions, table).beat()
    assert worker_check(sessions, table, 30)() is True
    broken = make_session_factory(make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"))
    assert worker_check(broken, table, 30)() is False
    engine.dispose()
