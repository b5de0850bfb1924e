"""A booking app on a real, migrated database, a pinned clock, and screenings fed in as real events."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from clinic_shared.auth import TokenAuthority
from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.events import make_envelope
from clinic_shared.migrations import upgrade
from clinic_shared.topology import CONSUMES

from booking import create_app
from booking.settings import load_booking_settings
from booking.store.tables import outbox
from booking.waitlist_offers import WaitlistOffers
from booking.worker import make_processor

STAFF_TOKEN = "staff-token-for-tests"
SECRET_KEY = "secret-key-for-tests"
# A Monday in November (GMT); tests book days ahead of it.
START_OF_TESTS = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Clinic:
    """One booking service under test, driven the way a client or a member of staff would."""

    def __init__(self, database_url: str, data_dir, env: dict | None = None, **overrides):
        upgrade("booking", database_url)
        self.database_url = database_url
        self.clock = Clock(START_OF_TESTS)
        settings = load_booking_settings({"CLINIC_DATA_DIR": str(data_dir), "CLINIC_STAFF_TOKEN": STAFF_TOKEN,
                                          "CLINIC_SECRET_KEY": SECRET_KEY, **(env or {})})
        self.app = create_app(settings, clock=self.clock, database_url=database_url, **overrides)
        self.settings = self.app.extensions["booking"].settings
        self.http = self.app.test_client()
        self.tokens = TokenAuthority(SECRET_KEY, STAFF_TOKEN, 3600)
        self.engine = make_engine(database_url)
        self.sessions = make_session_factory(self.engine)
        self.offers = WaitlistOffers(self.settings, self.sessions, self.clock)
        self.processor = make_processor(self.sessions, self.clock, self.offers)

    def close(self):
        self.engine.dispose()
        self.app.extensions["booking"].engine.dispose()

    # ----- parties -----

    def client_headers(self, client_id: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.tokens.issue_client_token(client_id)}", **extra}

    @property
    def staff(self) -> dict:
        return {"Authorization": f"Bearer {STAFF_TOKEN}"}

    def screening_data(self, client_id: str, outcome: str = "eligible", screening_id: str | None = None,
                       valid_days: int = 90, name: str = "Ada Client") -> dict:
        now = self.clock.now
        return {
            "screening_id": screening_id or str(uuid.uuid4()), "client_id": client_id,
            "client": {"name": name, "email": f"{client_id}@example.org", "phone": None},
            "areas": ["face", "neck"], "outcome": outcome,
            "valid_until": (now + timedelta(days=valid_days)).isoformat(), "rules_version": "test-1",
            "created_at": now.isoformat(),
        }

    def screen(self, client_id: str | None = None, outcome: str = "eligible", **kwargs) -> dict:
        """A screening known to booking, fed in as a real `screening.completed` event."""
        data = self.screening_data(client_id or f"client-{uuid.uuid4().hex[:8]}", outcome, **kwargs)
        assert self.processor.process(make_envelope("screening.completed", data, producer="screening"))
        return data

    def join_waitlist(self, screening: dict, day: date, areas=("neck",), type_: str = "treatment",
                      headers: dict | None = None):
        body = {"screening_id": screening["screening_id"], "type": type_, "areas": list(areas),
                "date": day.isoformat()}
        return self.http.post("/api/waitlist", json=body, headers=headers or self.client_headers(screening["client_id"]))

    def fill_day(self, day: date) -> tuple[dict, list[dict]]:
        """Every practitioner booked all day with back-to-back 30-minute consultations of one client
        (consultations keep no spacing), 45 minutes apart with the turnover; returns that client's screening
        and the bookings, by practitioner then time."""
        filler = self.screen()
        booked = []
        rules = self.settings.rules
        for _ in rules.practitioners:
            start = datetime.combine(day, rules.opens, tzinfo=rules.timezone)
            closes = datetime.combine(day, rules.closes, tzinfo=rules.timezone)
            while start + timedelta(minutes=rules.consultation_minutes) <= closes:
                response = self.book(filler, start, areas=(), type_="consultation")
                assert response.status_code == 201, response.get_json()
                booked.append(response.get_json())
                start += timedelta(minutes=rules.consultation_minutes + rules.turnover_minutes)
        assert self.http.get(f"/api/availability?date={day}&type=consultation").get_json()["slots"] == []
        return filler, booked

    def deliver_own_events(self) -> list[dict]:
        """What the worker does with the booking service's own events (outbox -> broker -> its queue), without
        the broker: every unpublished one this service consumes is handled once, then marked published."""
        with self.sessions() as session:
            rows = session.execute(select(outbox).where(outbox.c.published_at.is_(None))
                                   .order_by(outbox.c.id)).all()
        handled = []
        for row in rows:
            envelope = json.loads(row.body)
            if row.type in CONSUMES["booking"]:
                self.processor.process(envelope)
                handled.append(envelope)
            with self.sessions() as session, session.begin():
                session.execute(update(outbox).where(outbox.c.id == row.id).values(published_at=self.clock.now))
        return handled

    # ----- requests -----

    def book(self, screening: dict, start: datetime | str, areas=("face",), type_: str = "treatment",
             headers: dict | None = None):
        body = {"screening_id": screening["screening_id"], "type": type_, "areas": list(areas),
                "start": start.isoformat() if isinstance(start, datetime) else start}
        return self.http.post("/api/bookings", json=body,
                              headers=headers or self.client_headers(screening["client_id"]))


@pytest.fixture
def clinic(database_url, tmp_path):
    instance = Clinic(database_url, tmp_path)
    yield instance
    instance.close()


@pytest.fixture
def make_clinic(database_url, tmp_path):
    made = []

    def make(**overrides) -> Clinic:
        made.append(Clinic(database_url, tmp_path, **overrides))
        return made[-1]

    yield make
    for instance in made:
        instance.close()


@pytest.fixture
def postgres_clinic(postgres_url_factory, tmp_path):
    instance = Clinic(postgres_url_factory(), tmp_path)
    yield instance
    instance.close()
