"""Pruning: published outbox rows and handled inbox rows older than the retention go; nothing else does."""
import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, select

from clinic_shared.db import make_engine, make_session_factory, utcnow
from clinic_shared.inbox import InboxProcessor, inbox_table, prune_handled
from clinic_shared.outbox import outbox_table, prune_published
from clinic_shared.settings import load_settings
from clinic_shared.worker import WorkerParts, message_pruner, run_worker

OLD, RECENT = timedelta(days=8), timedelta(days=6)


@pytest.fixture
def store(database_url):
    metadata = MetaData()
    outbox, inbox = outbox_table(metadata), inbox_table(metadata)
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield make_session_factory(engine), outbox, inbox
    engine.dispose()


def fill(sessions, outbox, inbox) -> None:
    """Outbox: published long ago, published lately, and unpublished since long ago. Inbox: old and recent."""
    now = utcnow()
    rows = [("published-old", now - OLD, now - OLD), ("published-recent", now - OLD, now - RECENT),
            ("unpublished-old", now - OLD, None)]
    with sessions() as session, session.begin():
        for event_id, created, published in rows:
            session.execute(outbox.insert().values(event_id=event_id, type="t", body=json.dumps({}),
                                                   created_at=created, published_at=published))
        for event_id, handled in [("handled-old", now - OLD), ("handled-recent", now - RECENT)]:
            session.execute(inbox.insert().values(event_id=event_id, type="t", handled_at=handled))


def left(sessions, table) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(table.c.event_id)))


def test_only_published_outbox_rows_and_inbox_rows_past_the_retention_go(store):
    sessions, outbox, inbox = store
    fill(sessions, outbox, inbox)
    week_ago = utcnow() - timedelta(days=7)
    assert prune_published(sessions, outbox, week_ago) == 1
    assert prune_handled(sessions, inbox, week_ago) == 1
    assert left(sessions, outbox) == {"published-recent", "unpublished-old"}  # unsent is never lost
    assert left(sessions, inbox) == {"handled-recent"}
    assert (prune_published(sessions, outbox, week_ago), prune_handled(sessions, inbox, week_ago)) == (0, 0)


def test_the_retention_is_a_setting(store, tmp_path):
    sessions, outbox, inbox = store
    fill(sessions, outbox, inbox)
    settings = load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_MESSAGE_RETENTION_DAYS": "5"})
    assert settings.message_retention_days == 5
    assert load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path)}).message_retention_days == 7
    with pytest.raises(ValueError):
        load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_MESSAGE_RETENTION_DAYS": "0"})
    parts = WorkerParts(settings=settings, session_factory=sessions, outbox=outbox,
                        processor=InboxProcessor(sessions, inbox, {}))
    assert message_pruner(parts)() == (2, 2)  # five days: the recent rows are past it too
    assert left(sessions, outbox) == {"unpublished-old"} and left(sessions, inbox) == set()


def test_a_running_worker_prunes(store, tmp_path, topology_prefix):
    sessions, outbox, inbox = store
    fill(sessions, outbox, inbox)
    settings = load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_TOPOLOGY_PREFIX": topology_prefix})
    parts = WorkerParts(settings=settings, session_factory=sessions, outbox=outbox,
                        processor=InboxProcessor(sessions, inbox, {}))
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(parts, stop), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (len(left(sessions, outbox)) > 2 or len(left(sessions, inbox)) > 1):
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(15)
    assert left(sessions, outbox) == {"published-recent", "unpublished-old"}
    assert left(sessions, inbox) == {"handled-recent"}
