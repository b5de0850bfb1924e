"""Fixtures of the notifications tests: a migrated database, a clock tests can move, events fed
as real envelopes through the InboxProcessor."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.events import make_envelope
from clinic_shared.inbox import InboxProcessor
from clinic_shared.migrations import upgrade

from notifications.delivery import EmlOutbox
from notifications.dispatcher import Dispatcher
from notifications.events import EventHandlers
from notifications.settings import load_settings
from notifications.store.repository import Repository
from notifications.store.tables import make_tables

LONDON = ZoneInfo("Europe/London")
STAFF_TOKEN = "staff-secret-token"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_booking_data(booking_id="b1", client_id="c1", type="treatment", start=None, minutes=60, areas=("face",),
                 email="ada@example.org", name="Ada Lovelace", **extra) -> dict:
    start = start or datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
    end = start + timedelta(minutes=minutes)
    data = {
        "booking_id": booking_id, "reference": f"REF-{booking_id.upper()}", "type": type, "status": "confirmed",
        "areas": list(areas) if type == "treatment" else [], "start": start.isoformat(), "end": end.isoformat(),
        "timezone": "Europe/London", "practitioner": {"id": "p1", "name": "Sharmeen Shah"},
        "client_id": client_id, "client": {"name": name, "email": email}, "screening_id": "s1", "course_id": None,
    }
    data.update(extra)
    return data


def make_screening_data(outcome, screening_id="s1", client_id="c1") -> dict:
    """The data of a screening event as the screening service publishes it (version 2: no reasons)."""
    return {
        "screening_id": screening_id, "client_id": client_id,
        "client": {"name": "Ada Lovelace", "email": "ada@example.org"}, "areas": ["face"], "outcome": outcome,
        "valid_until": "2027-03-01T00:00:00+00:00", "rules_version": "1", "created_at": "2026-11-20T10:00:00+00:00",
    }


class System:
    """The service's parts on one database, wired as the worker wires them."""

    def __init__(self, settings, clock):
        self.settings = settings
        self.clock = clock
        self.engine = make_engine(settings.database_url)
        self.sessions = make_session_factory(self.engine)
        self.tables = make_tables()
        self.repo = Repository(self.tables)
        self.processor = InboxProcessor(self.sessions, self.tables.inbox,
                                        EventHandlers(settings, self.repo, clock).as_dict())
        self.outbox = EmlOutbox(settings.outbox_dir)
        self.dispatcher = Dispatcher(self.sessions, self.repo, self.outbox, settings, clock)

    def deliver(self, event_type: str, data: dict, version: int | None = None) -> dict:
        envelope = make_envelope(event_type, data, producer="test", version=version)
        self.processor.process(envelope)
        return envelope

    def messages(self, booking_id=None) -> list:
        n = self.tables.notifications
        query = select(n).order_by(n.c.send_at, n.c.created_at)
        if booking_id is not None:
            query = query.where(n.c.booking_id == booking_id)
        with self.sessions() as session:
            return session.execute(query).all()

    def by_kind(self, booking_id=None, status=None) -> dict:
        return {row.kind: row for row in self.messages(booking_id) if status is None or row.status == status}


@pytest.fixture
def clock():
    return Clock(datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc))


def migrated_settings(data_dir, database_url):
    settings = load_settings({
        "CLINIC_DATA_DIR": str(data_dir), "CLINIC_NOTIFICATIONS_DATABASE_URL": database_url,
        "CLINIC_STAFF_TOKEN": STAFF_TOKEN, "CLINIC_SECRET_KEY": "test-secret-key",
    })
    upgrade("notifications", settings.database_url)
    return settings


@pytest.fixture
def settings(tmp_path, database_url):
    return migrated_settings(tmp_path, database_url)


@pytest.fixture
def system(settings, clock):
    system = System(settings, clock)
    yield system
    system.engine.dispose()


@pytest.fixture
def postgres_system(tmp_path, postgres_url_factory, clock):
    """The parts on PostgreSQL only: for what several processes do at once (FOR UPDATE SKIP LOCKED)."""
    system = System(migrated_settings(tmp_path, postgres_url_factory()), clock)
    yield system
    system.engine.dispose()


@pytest.fixture
def booking_data():
    """Data of a booking event: booking_data(booking_id=..., start=..., type=..., **more)."""
    return make_booking_data


@pytest.fixture
def screening_data():
    return make_screening_data
