"""How many SQL statements each hot path sends (issue #7): counts are exact, so a new read or an N+1 fails here.

Counted as clinic_shared.statements counts them: SQLite's BEGIN IMMEDIATE is one; PostgreSQL's implicit
BEGIN and every COMMIT are not. bench/bench_hot_paths.py prints the same counts with CPU time per request.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from clinic_shared.statements import statements_sent

DAY = datetime(2026, 11, 10, 10, 0, tzinfo=timezone.utc)  # a Tuesday, 10:00 GMT

# PostgreSQL: the screening with the client's lock, the day's lock and the row lock; the busy practitioners,
# the client's treatments, the waitlist offers held around it and the day's closure (one UNION ALL, after the
# locks); INSERT … RETURNING the booking; the outbox row with its NOTIFY.
# SQLite: the same four, in the transaction (BEGIN IMMEDIATE) the revocation check began.
BOOKING = {"sqlite": 4, "postgresql": 4}
# Before those, whether the client was erased (the token's revocation check, clinic_shared.erasure): one read on
# every request with a client token (+ BEGIN IMMEDIATE on SQLite), counted apart. A booking's check reads in the
# booking's own transaction (clinic_shared.request_transaction): it begins it, the booking continues it.
REVOCATION_CHECK = {"sqlite": 2, "postgresql": 1}
# Both: the busy bookings, the waitlist offers held in the window and its closures in one statement (+ SQLite's
# BEGIN IMMEDIATE).
AVAILABILITY = {"sqlite": 2, "postgresql": 1}


def backend(clinic) -> str:
    return clinic.app.extensions["booking"].engine.dialect.name


def sent(clinic, request):
    """The response, and the statements it sent apart from the revocation check (given as a second list)."""
    with statements_sent(clinic.app.extensions["booking"].engine) as log:
        response = request()
    return response, *split_revocation_check(list(log.statements))


def split_revocation_check(statements: list[str]) -> tuple[list[str], list[str]]:
    rest, check = [], []
    for statement in statements:
        if "FROM erased_clients" in statement:
            if rest and rest[-1] == "BEGIN IMMEDIATE":
                check.append(rest.pop())
            check.append(statement)
        else:
            rest.append(statement)
    return rest, check


def assert_booking_sends_its_count(clinic, screening: dict) -> None:
    response, log, check = sent(clinic, lambda: clinic.book(screening, DAY))
    assert response.status_code == 201
    assert len(log) == BOOKING[backend(clinic)], log
    assert len(check) == REVOCATION_CHECK[backend(clinic)], check


def test_a_booking_sends_its_fixed_number_of_statements(clinic):
    for hour in (13, 14, 15):  # the day has other clients' bookings (later, leaving 10:00 free)
        assert clinic.book(clinic.screen(), DAY.replace(hour=hour)).status_code == 201
    screening = clinic.screen()
    assert_booking_sends_its_count(clinic, screening)


def test_the_same_count_for_a_client_with_earlier_treatments(clinic):
    screening = clinic.screen()
    assert clinic.book(screening, DAY.replace(month=12, day=15)).status_code == 201
    assert_booking_sends_its_count(clinic, screening)


def test_an_idempotency_key_adds_its_lookup_and_its_row(clinic):
    screening = clinic.screen()
    headers = clinic.client_headers(screening["client_id"], **{"Idempotency-Key": "key-1"})
    response, log, _ = sent(clinic, lambda: clinic.book(screening, DAY, headers=headers))
    assert response.status_code == 201
    assert len(log) == BOOKING[backend(clinic)] + 2, log


@pytest.mark.parametrize("query", ["date=2026-11-10&areas=face", "from=2026-11-09&to=2026-12-09&areas=face",
                                   "date=2026-11-10&type=consultation"])
def test_availability_sends_one_read_whatever_the_range(clinic, query):
    for hour in (13, 14):
        assert clinic.book(clinic.screen(), DAY.replace(hour=hour)).status_code == 201
    response, log, check = sent(clinic, lambda: clinic.http.get(f"/api/availability?{query}"))
    assert response.status_code == 200 and response.get_json()["slots"]
    assert len(log) == AVAILABILITY[backend(clinic)] and not check, log


def checkouts(clinic, request) -> tuple[object, int]:
    """The response, and how many connections the request took from the pool."""
    engine, taken = clinic.app.extensions["booking"].engine, []
    listener = lambda *args: taken.append(1)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        return request(), len(taken)
    finally:
        event.remove(engine, "checkout", listener)


def test_a_booking_and_its_token_check_take_one_connection_and_one_transaction(clinic):
    screening = clinic.screen()
    response, taken = checkouts(clinic, lambda: clinic.book(screening, DAY))
    assert response.status_code == 201 and taken == 1
    # One the booking never continued (its body was refused after the check) ends with the request: the
    # connection is back and, on SQLite, the write lock free for the next booking.
    refused, taken = checkouts(clinic, lambda: clinic.book(screening, "not a time"))
    assert refused.status_code == 422 and taken == 1
    assert clinic.app.extensions["booking"].engine.pool.checkedout() == 0
    assert clinic.book(clinic.screen(), DAY + timedelta(hours=2)).status_code == 201
