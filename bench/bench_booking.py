"""Booking service: how fast it books and answers availability, on SQLite and (if reachable) PostgreSQL.

Runs the real app in-process (Flask test client, migrated database, a pinned clock) and prints requests
per second and latency percentiles for POST /api/bookings and a 31-day GET /api/availability on a
filling diary, plus the pure slot computation alone.
"""
from __future__ import annotations

import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone

from clinic_shared.auth import TokenAuthority
from clinic_shared.db import make_session_factory
from clinic_shared.events import make_envelope
from clinic_shared.migrations import upgrade
from clinic_shared.testing import POSTGRES_ADMIN_URL, port_open, postgres_databases

from booking import create_app
from booking.domain.availability import day_slots
from booking.settings import clinic_rules, load_booking_settings
from booking.worker import make_processor

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=timezone.utc)  # a Monday
BOOKINGS = 200
SECRET, STAFF = "bench-secret", "bench-staff"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {p(0.50):6.1f} ms  p95 {p(0.95):6.1f} ms  max {ordered[-1] * 1000:6.1f} ms"


def treatment_starts():
    """Start times that fill both practitioners' days: a 60-minute face session plus turnover."""
    day = date(2026, 11, 9)
    while True:
        if day.weekday() != 6:
            for minutes in range(0, 7 * 75, 75):  # 08:00 … 15:30, the last ending by 16:30
                start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=minutes)
                yield start
                yield start  # the second practitioner
        day += timedelta(days=1)


def screened_clients(processor, tokens: TokenAuthority, count: int) -> list[tuple[str, dict]]:
    """`count` clients with an eligible face screening the booking service has heard of (as its worker would
    have recorded them): (screening id, request headers with the client's token) each."""
    clients = []
    for _ in range(count):
        client_id, screening_id = str(uuid.uuid4()), str(uuid.uuid4())
        processor.process(make_envelope("screening.completed", {
            "screening_id": screening_id, "client_id": client_id,
            "client": {"name": "Bench", "email": "bench@example.org"}, "areas": ["face"],
            "outcome": "eligible", "valid_until": "2027-06-01T00:00:00+00:00",
            "rules_version": "bench", "created_at": NOW.isoformat()}, "screening"))
        clients.append((screening_id, {"Authorization": f"Bearer {tokens.issue_client_token(client_id)}"}))
    return clients


def run(label: str, database_url: str) -> None:
    upgrade("booking", database_url)
    settings = load_booking_settings({"CLINIC_DATA_DIR": tempfile.mkdtemp(), "CLINIC_STAFF_TOKEN": STAFF,
                                      "CLINIC_SECRET_KEY": SECRET})
    app = create_app(settings, clock=lambda: NOW, database_url=database_url)
    service = app.extensions["booking"]
    processor = make_processor(make_session_factory(service.engine))
    tokens = TokenAuthority(SECRET, STAFF, 3600)
    http = app.test_client()

    clients = screened_clients(processor, tokens, BOOKINGS)

    book_times = []
    for (screening_id, headers), start in zip(clients, treatment_starts()):
        started = time.perf_counter()
        response = http.post("/api/bookings", headers=headers,
                             json={"screening_id": screening_id, "areas": ["face"], "start": start.isoformat()})
        book_times.append(time.perf_counter() - started)
        assert response.status_code == 201, response.get_json()

    availability_times = []
    for _ in range(30):
        started = time.perf_counter()
        response = http.get("/api/availability?from=2026-11-09&to=2026-12-09&areas=face")
        availability_times.append(time.perf_counter() - started)
        assert response.status_code == 200
    slots = len(response.get_json()["slots"])
    service.engine.dispose()
    print(f"{label:>10}: POST /api/bookings x{BOOKINGS}: {BOOKINGS / sum(book_times):6.0f} req/s  "
          f"{percentiles(book_times)}")
    print(f"{'':>10}  GET /api/availability (31 days, {slots} slots): "
          f"{len(availability_times) / sum(availability_times):6.1f} req/s  {percentiles(availability_times)}")


def pure_slots() -> None:
    rules = clinic_rules()
    day = date(2026, 11, 10)
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        day_slots(day, timedelta(minutes=60), rules, NOW)
    elapsed = time.perf_counter() - started
    print(f"{'domain':>10}: day_slots of an empty day: {elapsed / runs * 1e6:7.1f} µs per call "
          f"({elapsed / runs * 31 * 1000:.2f} ms for a 31-day range)")


def main() -> None:
    pure_slots()
    run("sqlite", f"sqlite:///{tempfile.mkdtemp()}/booking.db")
    if port_open(POSTGRES_ADMIN_URL, 5432):
        with postgres_databases(label="bench") as make:
            run("postgresql", make())
    else:
        print("postgresql: not reachable, skipped")


if __name__ == "__main__":
    main()
