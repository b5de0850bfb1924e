"""Which failures are waited out (a backend unavailable) and which are not (bad data, a bug)."""
import smtplib
import socket
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine
from sqlalchemy.exc import IntegrityError, OperationalError

from clinic_shared.failures import GrowingPause, is_database_outage, is_transient
from clinic_shared.testing import free_port


def raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the exception itself is what the test inspects
        return exc
    pytest.fail("expected an exception")


def test_an_unreachable_database_is_transient():
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    exc = raised(lambda: engine.connect())
    assert isinstance(exc, OperationalError) and is_transient(exc) and is_database_outage(exc)


def test_a_refused_connection_and_a_wrapped_outage_are_transient():
    assert is_transient(raised(lambda: socket.create_connection(("127.0.0.1", free_port()), timeout=2)))
    assert is_transient(raised(lambda: smtplib.SMTP("127.0.0.1", free_port(), timeout=2)))

    def wrapped():
        try:
            socket.create_connection(("127.0.0.1", free_port()), timeout=2)
        except OSError as exc:
            raise RuntimeError("could not save") from exc
    assert is_transient(raised(wrapped))
    # ...but a refused socket is no database outage: a request that failed so (an HTTP call to another service,
    # a POST the gateway forwarded) is never run again by the database retry
    assert not is_database_outage(raised(wrapped))


def test_bad_data_and_bugs_are_not_transient(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True))
    table.metadata.create_all(engine)

    def twice():
        with engine.begin() as connection:
            connection.execute(table.insert().values(id=1))
            connection.execute(table.insert().values(id=1))
    assert isinstance(raised(twice), IntegrityError) and not is_transient(raised(twice))
    assert not is_transient(raised(lambda: {}["missing"]))
    assert not is_transient(RuntimeError("a bug"))


def test_a_pause_grows_and_stops_when_asked():
    stopping = threading.Event()
    pause = GrowingPause(first=0.01, longest=0.04, stopping=stopping)
    assert pause.wait() and pause.wait() and pause.wait() and pause.wait()  # 0.01, 0.02, 0.04, 0.04
    stopping.set()
    assert GrowingPause(first=60, stopping=stopping).wait() is False  # returns at once, says "stop"
