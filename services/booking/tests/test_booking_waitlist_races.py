"""The waitlist's races with real concurrency (threads against a real database, SQLite and PostgreSQL):
freed time is never offered twice, and an offer and a competing booking never both win."""
from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from booking.domain.waitlist import OFFERED
from booking.store.tables import bookings, outbox, waitlist
from booking.worker import make_processor
from datetime import datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 10)  # a Tuesday, a week after the tests' "now"
ROUNDS = 4


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def fill_day(clinic) -> tuple[dict, list[dict]]:
    return clinic.fill_day(DAY)


def joined(clinic, screening: dict) -> dict:
    response = clinic.join_waitlist(screening, DAY)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def solo(make_clinic):
    return make_clinic(practitioners=["Solo"])


def at_once(*calls) -> list:
    """Run every call in its own thread, all released together; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # reported, not swallowed: the test asserts on it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def unpublished(clinic, event_type: str) -> list[dict]:
    """The service's own events still in its outbox: handed to consumers by hand, so they can race."""
    with clinic.sessions() as session, session.begin():
        rows = session.execute(select(outbox).where(outbox.c.type == event_type, outbox.c.published_at.is_(None))
                               .order_by(outbox.c.id)).all()
        session.execute(outbox.update().where(outbox.c.id.in_([r.id for r in rows])).values(
            published_at=clinic.clock.now))
    return [json.loads(r.body) for r in rows]


def entries(clinic, day: date = DAY) -> list:
    with clinic.sessions() as session:
        return session.execute(select(waitlist).where(waitlist.c.date == day).order_by(waitlist.c.created_at)).all()


def confirmed_on(clinic, day: date) -> list:
    first, last = at(day, 0), at(day + timedelta(days=1), 0)
    with clinic.sessions() as session:
        return session.execute(select(bookings).where(
            bookings.c.status == "confirmed", bookings.c.start_at >= first, bookings.c.start_at < last)).all()


def assert_nothing_overlaps(clinic, day: date) -> None:
    """Confirmed bookings and held offers of the one practitioner never share a minute (turnover included)."""
    turnover = timedelta(minutes=clinic.settings.rules.turnover_minutes)
    spans = [(b.start_at, b.end_at + turnover) for b in confirmed_on(clinic, day)]
    spans += [(e.offer_start, e.offer_blocked_until) for e in entries(clinic, day)
              if e.status == OFFERED and e.expires_at > clinic.clock.now]
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, spans


def test_one_freed_time_handled_by_several_consumers_at_once_is_offered_once(solo):
    clinic = solo
    _, booked = fill_day(clinic)
    waiting = []
    for _ in range(3):
        waiting.append(joined(clinic, clinic.screen()))
        clinic.clock.now += timedelta(seconds=1)
    clinic.http.post(f"/api/bookings/{booked[5]['id']}/cancel", json={}, headers=clinic.staff)
    (cancelled,) = unpublished(clinic, "booking.cancelled")
    # The same cancellation as four workers would see it: delivered, and republished under new ids.
    copies = [cancelled] + [{**cancelled, "event_id": f"republished-{n}"} for n in range(3)]
    processors = [make_processor(clinic.sessions, clinic.clock, clinic.offers) for _ in copies]
    results = at_once(*[lambda p=p, c=c: p.process(c) for p, c in zip(processors, copies)])
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = [e.status for e in entries(clinic)]
    assert statuses == ["offered", "waiting", "waiting"]  # the oldest, once
    assert len(unpublished(clinic, "waitlist.offered")) == 1
    assert_nothing_overlaps(clinic, DAY)


def test_two_cancellations_at_once_offer_two_times_to_two_entries(solo):
    clinic = solo
    filler, booked = fill_day(clinic)
    for _ in range(3):
        joined(clinic, clinic.screen())
        clinic.clock.now += timedelta(seconds=1)
    headers = clinic.client_headers(filler["client_id"])
    answers = at_once(*[lambda b=b: clinic.app.test_client().post(f"/api/bookings/{b['id']}/cancel", json={},
                                                                  headers=headers) for b in (booked[2], booked[8])])
    assert [a.status_code for a in answers] == [200, 200]
    events = unpublished(clinic, "booking.cancelled")
    processors = [make_processor(clinic.sessions, clinic.clock, clinic.offers) for _ in events]
    results = at_once(*[lambda p=p, e=e: p.process(e) for p, e in zip(processors, events)])
    assert results == [True, True]
    found = entries(clinic)
    assert [e.status for e in found] == ["offered", "offered", "waiting"]
    assert {e.offer_start for e in found if e.offer_start} == {at(DAY, 9, 30), at(DAY, 14)}
    assert len(unpublished(clinic, "waitlist.offered")) == 2
    assert_nothing_overlaps(clinic, DAY)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_offer_and_a_competing_booking_never_both_win(solo, round_):
    clinic = solo
    _, booked = fill_day(clinic)
    entry = joined(clinic, clinic.screen())
    rival = clinic.screen()
    freed = booked[round_ + 3]
    clinic.http.post(f"/api/bookings/{freed['id']}/cancel", json={}, headers=clinic.staff)
    (cancelled,) = unpublished(clinic, "booking.cancelled")
    processor = make_processor(clinic.sessions, clinic.clock, clinic.offers)
    body = {"screening_id": rival["screening_id"], "areas": ["neck"], "start": freed["start"]}
    offer, booking = at_once(
        lambda: processor.process(cancelled),
        lambda: clinic.app.test_client().post("/api/bookings", json=body,
                                               headers=clinic.client_headers(rival["client_id"])))
    assert offer is True, offer
    (row,) = entries(clinic)
    if booking.status_code == 201:  # the booking came first: nothing left to offer
        assert row.status == "waiting" and row.offer_start is None
    else:  # the offer came first: the rival is told the time is taken
        assert (booking.status_code, booking.get_json()["error"]["code"]) == (409, "slot_unavailable")
        assert row.status == "offered" and row.offer_start == datetime.fromisoformat(freed["start"])
    assert_nothing_overlaps(clinic, DAY)
    assert entry["id"] == row.id


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_booking_a_held_time_as_its_hold_runs_out_races_the_expiry_job_safely(solo, round_):
    clinic = solo
    _, booked = fill_day(clinic)
    holder, next_in_line = clinic.screen(), clinic.screen()
    first = joined(clinic, holder)
    clinic.clock.now += timedelta(seconds=1)
    joined(clinic, next_in_line)
    freed = booked[round_ + 2]
    clinic.http.post(f"/api/bookings/{freed['id']}/cancel", json={}, headers=clinic.staff)
    clinic.deliver_own_events()
    held = entries(clinic)[0]
    assert held.id == first["id"] and held.status == OFFERED
    clinic.clock.now = held.expires_at  # the hold has just run out; the job has not run yet
    body = {"screening_id": holder["screening_id"], "areas": ["neck"], "start": freed["start"]}
    booking, released = at_once(
        lambda: clinic.app.test_client().post("/api/bookings", json=body,
                                               headers=clinic.client_headers(holder["client_id"])),
        clinic.offers.release_expired)
    assert not isinstance(released, Exception), released
    first_entry, second_entry = entries(clinic)
    if booking.status_code == 201:  # in time: the offer is booked; nothing expired, nobody else holds it
        assert (first_entry.status, second_entry.status) == ("booked", "waiting")
        assert released == 0
    else:  # the job came first: the time went on to the next entry
        assert (booking.status_code, booking.get_json()["error"]["code"]) == (409, "slot_unavailable")
        assert (first_entry.status, second_entry.status) == ("expired", "offered")
        assert released == 1
    assert_nothing_overlaps(clinic, DAY)
