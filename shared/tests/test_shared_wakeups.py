"""NOTIFY at commit wakes a LISTENing worker; the poll interval is only the fallback (PostgreSQL)."""
import threading

from sqlalchemy import MetaData, text

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.outbox import OUTBOX_CHANNEL, add_event, outbox_table
from clinic_shared.settings import load_settings
from clinic_shared.statements import statements_sent
from clinic_shared.testing import SCREENING_COMPLETED_SAMPLE, drain_queue
from clinic_shared.topology import Topology
from clinic_shared.wakeups import Listener, notify
from clinic_shared.worker import WorkerParts, run_worker

LONG = 600.0  # a fallback poll no test waits for


def test_a_notify_wakes_the_listener_at_commit_and_not_before_or_after_a_rollback(postgres_url_factory):
    engine = make_engine(postgres_url_factory())
    sessions = make_session_factory(engine)
    listener = Listener(engine, "work")
    try:
        assert listener.wait(0.01) is False  # listening from now on; nothing said yet
        with sessions() as session, session.begin():
            notify(session, "work")
            assert listener.wait(0.2) is False  # not delivered before the commit
        assert listener.wait(LONG) is True and listener.woken == 1
        with sessions() as session, session.begin():
            notify(session, "work")
            session.rollback()
        assert listener.wait(0.2) is False  # a rolled-back transaction wakes nobody
    finally:
        listener.close()
        engine.dispose()


def test_a_transaction_notifies_a_channel_once_and_the_next_transaction_again(postgres_url_factory):
    engine = make_engine(postgres_url_factory())
    listener = Listener(engine, "work")
    try:
        assert listener.wait(0.01) is False
        with make_session_factory(engine)() as session:
            for _ in range(2):
                with statements_sent(engine) as sent, session.begin():
                    notify(session, "work")
                    notify(session, "work")  # a second event of a batch: nothing more to say
                    notify(session, "other")
                assert [s for s in sent.statements if "pg_notify" in s] == ["SELECT pg_notify(%(channel)s, '')"] * 2
                assert listener.wait(LONG) is True  # the same session's next transaction notifies again
            with statements_sent(engine) as sent:  # transactions the session begins by itself (autobegin)
                notify(session, "work")
                notify(session, "work")
                session.commit()
                notify(session, "work")
                session.commit()
            assert len(sent) == 2
        assert listener.wait(LONG) is True and listener.woken == 3
    finally:
        listener.close()
        engine.dispose()


def test_on_sqlite_notify_does_nothing_and_the_listener_just_waits(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with make_session_factory(engine)() as session, session.begin():
        notify(session, "work")
        session.execute(text("SELECT 1"))
    assert Listener(engine, "work").wait(0.05) is False
    engine.dispose()


def test_the_worker_relays_a_new_outbox_row_when_woken_long_before_its_poll_interval(
        tmp_path, topology_prefix, amqp_url, postgres_url_factory):
    settings = load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_TOPOLOGY_PREFIX": topology_prefix,
                                         "CLINIC_BROKER_URL": amqp_url}).with_overrides(
        database_url=postgres_url_factory())
    engine = make_engine(settings.database_url)
    metadata = MetaData()
    outbox = outbox_table(metadata)
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    stop = threading.Event()
    listening = Listener(engine, OUTBOX_CHANNEL)  # tells us when the relay has been woken
    worker = threading.Thread(target=run_worker, args=(WorkerParts(settings=settings, session_factory=sessions,
                                                                   outbox=outbox, relay_interval=LONG), stop))
    topology = Topology(settings.topology_prefix)
    try:
        worker.start()
        listening.wait(0.01)
        assert drain_queue(settings, topology.queue("booking"), seconds=2) == []  # its first look found nothing
        with sessions() as session, session.begin():
            envelope = add_event(session, outbox, "screening.completed", SCREENING_COMPLETED_SAMPLE, "screening")
        assert listening.wait(30) is True  # the commit notified the channel
        published = drain_queue(settings, topology.queue("booking"), seconds=30)
        assert [payload["event_id"] for payload, _ in published] == [envelope["event_id"]]  # long before 600 s
    finally:
        stop.set()
        worker.join(15)
        listening.close()
        engine.dispose()
    assert not worker.is_alive()
