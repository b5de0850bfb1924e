"""Every change raises a booking's version; its events carry it (`data.version`), its JSON shows it, and
`If-Match` makes a change conditional on it. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from clinic_shared.db import make_engine, transaction
from clinic_shared.errors import ApiError
from clinic_shared.migrations import upgrade

from booking.store.tables import bookings, outbox

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 10)


def at(hour: int, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def published(clinic) -> list[tuple[str, int, int]]:
    """(type, envelope version, data.version) of every booking event written, in order (not the
    `audit.recorded` events of what staff did, which carry no booking version)."""
    with clinic.sessions() as session:
        rows = session.execute(select(outbox.c.body).where(outbox.c.type != "audit.recorded")
                               .order_by(outbox.c.id)).all()
    return [(e["type"], e["version"], e["data"]["version"]) for e in map(json.loads, (r.body for r in rows))]


def post(clinic, booking_id: str, action: str, body=None, **headers):
    return clinic.http.post(f"/api/bookings/{booking_id}/{action}", json=body, headers={**clinic.staff, **headers})


def test_each_change_raises_the_version_its_event_carries(clinic):
    booking = clinic.book(clinic.screen(), at(10)).get_json()
    assert booking["version"] == 1
    moved = post(clinic, booking["id"], "reschedule", {"start": at(12).isoformat()}).get_json()
    again = post(clinic, booking["id"], "reschedule", {"start": at(14).isoformat()}).get_json()
    cancelled = post(clinic, booking["id"], "cancel", {}).get_json()
    assert [moved["version"], again["version"], cancelled["version"]] == [2, 3, 4]
    assert clinic.http.get(f"/api/bookings/{booking['id']}", headers=clinic.staff).get_json()["version"] == 4
    # The envelope's version is the event schema's (1); the data's is the booking's.
    assert published(clinic) == [("booking.confirmed", 1, 1), ("booking.rescheduled", 1, 2),
                                 ("booking.rescheduled", 1, 3), ("booking.cancelled", 1, 4)]


def test_if_match_changes_only_the_version_the_caller_saw(clinic):
    booking = clinic.book(clinic.screen(), at(10)).get_json()
    moved = post(clinic, booking["id"], "reschedule", {"start": at(12).isoformat()}, **{"If-Match": '"1"'})
    assert moved.status_code == 200 and moved.get_json()["version"] == 2
    for action, body in (("cancel", {}), ("complete", None), ("reschedule", {"start": at(14).isoformat()})):
        stale = post(clinic, booking["id"], action, body, **{"If-Match": '"1"'})
        assert stale.status_code == 409, action
        assert stale.get_json()["error"]["code"] == "conflict"
        assert stale.get_json()["error"]["details"] == {"status": "confirmed", "version": 2}
    bad = post(clinic, booking["id"], "cancel", {}, **{"If-Match": "soon"})
    assert bad.status_code == 422 and "If-Match" in bad.get_json()["error"]["details"]["fields"]
    done = post(clinic, booking["id"], "complete", None, **{"If-Match": 'W/"2"'})
    assert done.status_code == 200 and done.get_json()["version"] == 3
    assert [v for _, _, v in published(clinic)] == [1, 2, 3]


def test_migration_gives_existing_bookings_version_one(database_url):
    upgrade("booking", database_url, "0002")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO bookings (id, reference, status, type, areas, start_at, end_at, blocked_until, "
                "practitioner_id, practitioner_name, client_id, screening_id, created_at) VALUES (:id, 'MN-OLD', "
                "'confirmed', 'treatment', '[\"face\"]', :start, :end, :end, 'p', 'P', 'c', 's', :start)"),
                {"id": "old", "start": at(10).isoformat(), "end": at(11).isoformat()})
        upgrade("booking", database_url)
        with engine.connect() as connection:
            assert connection.execute(select(bookings.c.version).where(bookings.c.id == "old")).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_write_over_a_stale_read_changes_nothing(clinic):
    """The conditional UPDATE on its own: a change computed from an older read of the booking is refused."""
    booking = clinic.book(clinic.screen(), at(10)).get_json()
    scheduler = clinic.app.extensions["booking"].scheduler
    with clinic.sessions() as session:
        stale = session.execute(select(bookings).where(bookings.c.id == booking["id"])).first()
    assert post(clinic, booking["id"], "reschedule", {"start": at(12).isoformat()}).status_code == 200
    with pytest.raises(ApiError) as refused:
        with transaction(clinic.sessions) as session:
            scheduler._change(session, stale, status="cancelled")
    assert (refused.value.status, refused.value.code) == (409, "conflict")
    assert refused.value.details == {"status": "confirmed", "version": 2}
    row = clinic.http.get(f"/api/bookings/{booking['id']}", headers=clinic.staff).get_json()
    assert (row["status"], row["version"], row["start"]) == ("confirmed", 2, at(12).isoformat())
