"""Two changes of one booking at once (cancel vs reschedule, cancel vs complete) on PostgreSQL, each from its
own thread: exactly one wins, the other answers 409 `conflict`, and only the winner's event is published.

A cancellation after a reschedule is a legal sequence, so two requests that do not say which version of the
booking they mean may both succeed in that order (never the other way round); with `If-Match` (the version
both read) exactly one wins."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking.store.tables import bookings, outbox

LONDON = ZoneInfo("Europe/London")
ROUNDS = 20


def working_days(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() != 6:  # closed on Sundays
            days.append(day)
        day += timedelta(days=1)
    return days


DAYS = working_days(date(2026, 11, 10), ROUNDS)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def race(clinic, *calls) -> list:
    """Send every (path, body, headers) at the same moment, each from its own thread and test client."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, path, body, headers):
        http = clinic.app.test_client()
        barrier.wait()
        results[index] = http.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def change_events(clinic, booking_id: str) -> list[dict]:
    with clinic.sessions() as session:
        rows = session.execute(select(outbox.c.body).order_by(outbox.c.id)).all()
    events = [json.loads(r.body) for r in rows]
    return [e for e in events if e["data"].get("booking_id") == booking_id and e["type"] != "booking.confirmed"]


def stored(clinic, booking_id: str):
    with clinic.sessions() as session:
        return session.execute(select(bookings).where(bookings.c.id == booking_id)).first()


def booked(clinic, day: date) -> dict:
    response = clinic.book(clinic.screen(), at(day, 10))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_one_winner(results):
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.get_json() for r in results]
    loser = next(r for r in results if r.status_code == 409).get_json()
    assert loser["error"]["code"] == "conflict", loser


@pytest.fixture
def clinic(postgres_clinic):
    return postgres_clinic


def test_cancel_and_reschedule_of_one_version_at_once_exactly_one_wins(clinic):
    winners = set()
    for day in DAYS:
        booking = booked(clinic, day)
        assert booking["version"] == 1
        path = f"/api/bookings/{booking['id']}"
        owner = clinic.client_headers(booking["client_id"], **{"If-Match": '"1"'})
        staff = {**clinic.staff, "If-Match": "1"}
        cancel, reschedule = race(clinic, (f"{path}/cancel", {"reason": "race"}, owner),
                                  (f"{path}/reschedule", {"start": at(day, 14).isoformat()}, staff))
        assert_one_winner([cancel, reschedule])
        row = stored(clinic, booking["id"])
        [event] = change_events(clinic, booking["id"])
        if cancel.status_code == 200:
            winners.add("cancel")
            assert row.status == "cancelled" and row.start_at == at(day, 10)
            assert event["type"] == "booking.cancelled"
        else:
            winners.add("reschedule")
            assert row.status == "confirmed" and row.start_at == at(day, 14)
            assert event["type"] == "booking.rescheduled"
        assert row.version == event["data"]["version"] == 2
    print("winners:", winners)


def test_cancel_and_reschedule_without_if_match_never_reschedule_a_cancelled_booking(clinic):
    for day in DAYS:
        booking = booked(clinic, day)
        path = f"/api/bookings/{booking['id']}"
        cancel, reschedule = race(clinic, (f"{path}/cancel", {}, clinic.staff),
                                  (f"{path}/reschedule", {"start": at(day, 14).isoformat()}, clinic.staff))
        assert cancel.status_code == 200, cancel.get_json()  # a confirmed booking can always be cancelled
        row = stored(clinic, booking["id"])
        events = change_events(clinic, booking["id"])
        assert row.status == "cancelled"
        if reschedule.status_code == 409:  # the cancellation came first
            assert reschedule.get_json()["error"]["code"] == "conflict"
            assert [(e["type"], e["data"]["version"]) for e in events] == [("booking.cancelled", 2)]
        else:  # the reschedule came first, then the cancellation of the moved booking
            assert reschedule.status_code == 200, reschedule.get_json()
            assert [(e["type"], e["data"]["version"]) for e in events] == [
                ("booking.rescheduled", 2), ("booking.cancelled", 3)]
            assert row.start_at == at(day, 14) and events[1]["data"]["start"] == at(day, 14).isoformat()


def test_cancel_and_complete_at_once_exactly_one_wins(clinic):
    for day in DAYS:
        booking = booked(clinic, day)
        path = f"/api/bookings/{booking['id']}"
        cancel, complete = race(clinic, (f"{path}/cancel", {}, clinic.staff), (f"{path}/complete", {}, clinic.staff))
        assert_one_winner([cancel, complete])
        row = stored(clinic, booking["id"])
        [event] = change_events(clinic, booking["id"])
        expected = "cancelled" if cancel.status_code == 200 else "completed"
        assert row.status == expected and event["type"] == f"booking.{expected}"
        assert row.version == event["data"]["version"] == 2
