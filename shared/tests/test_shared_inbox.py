"""The inbox on each database, without a broker: an event's effect once, however often and however it comes."""
import threading

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, select

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.events import make_envelope
from clinic_shared.inbox import InboxProcessor, inbox_table
from clinic_shared.statements import statements_sent
from clinic_shared.testing import SCREENING_COMPLETED_SAMPLE


@pytest.fixture
def store(database_url):
    metadata = MetaData()
    inbox = inbox_table(metadata)
    effects = Table("effects", metadata, Column("event_id", String(36), nullable=False))  # no key: a twice is seen
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine, make_session_factory(engine), inbox, effects
    engine.dispose()


def envelope():
    return make_envelope("screening.completed", SCREENING_COMPLETED_SAMPLE, "screening")


def effects_of(sessions, effects) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(effects.c.event_id)))


def recording(effects, before=None):
    def handler(session, data, envelope):
        if before is not None:
            before()
        session.execute(effects.insert().values(event_id=envelope["event_id"]))
    return handler


def test_an_event_handled_before_or_earlier_in_its_batch_has_no_effect_again(store):
    engine, sessions, inbox, effects = store
    processor = InboxProcessor(sessions, inbox, {"screening.completed": recording(effects)})
    first, second = envelope(), envelope()
    assert processor.process(first) is True
    with statements_sent(engine) as sent:
        assert processor.process(first) is False
    assert [s.split()[0] for s in sent.statements if s != "BEGIN IMMEDIATE"] == ["INSERT"]  # looked and skipped
    processor.process_batch([first, second, second])
    assert sorted(effects_of(sessions, effects)) == sorted([first["event_id"], second["event_id"]])
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(inbox)) == 2


@pytest.mark.parametrize("first_commits", [True, False])
def test_two_consumers_of_one_event_at_once_apply_it_once(store, first_commits):
    """The second waits for the first's transaction: committed, it skips the event; rolled back, it handles it."""
    _engine, sessions, inbox, effects = store
    inside, release = threading.Event(), threading.Event()

    def first_holds_on():
        if not inside.is_set():
            inside.set()
            assert release.wait(10)
            if not first_commits:
                raise RuntimeError("the first consumer fails")

    processor = InboxProcessor(sessions, inbox, {"screening.completed": recording(effects, first_holds_on)})
    event = envelope()
    outcomes = {}

    def consume(name):
        try:
            outcomes[name] = processor.process(event)
        except RuntimeError:
            outcomes[name] = "failed"

    first = threading.Thread(target=consume, args=("first",))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=consume, args=("second",))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first's transaction
    release.set()
    first.join(10)
    second.join(10)
    assert outcomes == ({"first": True, "second": False} if first_commits else {"first": "failed", "second": True})
    assert effects_of(sessions, effects) == [event["event_id"]]
