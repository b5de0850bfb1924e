"""No double booking, ever: concurrent requests for one practitioner's slot, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.store.tables import bookings

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 10)
START = datetime.combine(DAY, time(10), tzinfo=LONDON)


def race(clinic, requests: list) -> list:
    """Fire every (screening, start, areas) at once, each from its own thread and test client."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, screening, start, areas):
        http = clinic.app.test_client()
        body = {"screening_id": screening["screening_id"], "areas": areas, "start": start.isoformat()}
        barrier.wait()
        results[index] = http.post("/api/bookings", json=body, headers=clinic.client_headers(screening["client_id"]))

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def confirmed(clinic) -> list:
    with clinic.sessions() as session:
        return session.execute(select(bookings).where(bookings.c.status == "confirmed")).all()


def test_one_practitioner_one_slot_exactly_one_wins(make_clinic):
    clinic = make_clinic(practitioners=["Solo"])
    results = race(clinic, [(clinic.screen(), START, ["face"]) for _ in range(8)])
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 7
    assert {r.get_json()["error"]["code"] for r in results if r.status_code == 409} == {"slot_unavailable"}
    assert len(confirmed(clinic)) == 1


def test_overlapping_and_turnover_clashes_race_too(make_clinic):
    clinic = make_clinic(practitioners=["Solo"])
    # Different starts, all clashing with each other through the session or its turnover.
    requests = [(clinic.screen(), START - timedelta(minutes=30), ["face"])]  # 09:30-10:30, blocks until 10:45
    requests += [(clinic.screen(), START + timedelta(minutes=m), ["neck"]) for m in (0, 15, 30)]
    results = race(clinic, requests)
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    assert len(confirmed(clinic)) == 1


def test_two_practitioners_serve_two_of_many(clinic):
    results = race(clinic, [(clinic.screen(), START, ["face"]) for _ in range(6)])
    assert sorted(r.status_code for r in results) == [201, 201, 409, 409, 409, 409]
    rows = confirmed(clinic)
    assert len({r.practitioner_id for r in rows}) == 2


def test_one_client_racing_two_treatments_gets_one(clinic):
    screening = clinic.screen()
    results = race(clinic, [(screening, START, ["face"]), (screening, START + timedelta(days=7), ["face"])])
    assert sorted(r.status_code for r in results) == [201, 422]
    assert len(confirmed(clinic)) == 1


def test_one_client_racing_with_two_screenings_gets_one(clinic):
    first = clinic.screen()
    second = clinic.screen(client_id=first["client_id"])
    for _ in range(3):
        results = race(clinic, [(first, START, ["face"]), (second, START + timedelta(days=7), ["face"])])
        assert sorted(r.status_code for r in results) == [201, 422], [r.get_json() for r in results]
        assert len(confirmed(clinic)) == 1
        winner = next(r for r in results if r.status_code == 201).get_json()
        clinic.http.post(f"/api/bookings/{winner['id']}/cancel", json={}, headers=clinic.staff)


def test_concurrent_replays_of_one_idempotency_key_return_one_booking(clinic):
    screening = clinic.screen()
    barrier = threading.Barrier(5)
    results = [None] * 5
    body = {"screening_id": screening["screening_id"], "areas": ["face"], "start": START.isoformat()}
    headers = {**clinic.client_headers(screening["client_id"]), "Idempotency-Key": "same-key"}

    def run(index):
        http = clinic.app.test_client()
        barrier.wait()
        results[index] = http.post("/api/bookings", json=body, headers=headers)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Not one of them is judged as a second treatment (treatment_spacing): all replay the first.
    assert all(r.status_code in (200, 201) for r in results), [r.get_json() for r in results]
    assert len({r.get_json()["id"] for r in results}) == 1
    assert len(confirmed(clinic)) == 1


def test_the_database_itself_refuses_overlaps_on_postgresql(postgres_clinic):
    """The exclusion constraint is PostgreSQL's (SQLite relies on BEGIN IMMEDIATE, raced above)."""
    clinic = postgres_clinic

    def insert(start, minutes, status="confirmed"):
        end = start + timedelta(minutes=minutes)
        with clinic.sessions() as session, session.begin():
            session.execute(bookings.insert().values(
                id=str(uuid.uuid4()), reference=uuid.uuid4().hex[:10], status=status, type="treatment",
                areas=["neck"], start_at=start, end_at=end, blocked_until=end + timedelta(minutes=15),
                practitioner_id="p1", practitioner_name="P One", client_id="c", screening_id="s",
                created_at=start))

    insert(START, 30)
    with pytest.raises(IntegrityError):
        insert(START + timedelta(minutes=40), 30)  # inside the turnover
    insert(START + timedelta(minutes=45), 30)  # right after it
    insert(START, 30, status="cancelled")  # cancelled rows do not block
    insert(START + timedelta(minutes=10), 30, status="completed")  # nor do completed ones


def test_a_deadlock_or_serialisation_failure_counts_as_a_lost_race():
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from booking.operations import lost_a_race

    assert lost_a_race(OperationalError("INSERT", {}, psycopg.errors.DeadlockDetected()))
    assert lost_a_race(OperationalError("INSERT", {}, psycopg.errors.SerializationFailure()))
    assert not lost_a_race(OperationalError("INSERT", {}, psycopg.errors.AdminShutdown()))
