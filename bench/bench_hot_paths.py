"""The hot paths in-process: SQL statements and CPU milliseconds per request, on SQLite and PostgreSQL.

POST /api/screenings (screening service), GET /api/availability (one day and 31 days) and POST /api/bookings
(booking service), each through the Flask test client on a migrated database, with a pinned clock. For each:
the statements one request sends (deterministic; the tests assert them) and the median CPU time of this
thread per request (the app runs in it; the database server's CPU is not counted). `--profile` prints a
pyinstrument profile of the booking requests.

    python bench/bench_hot_paths.py [--requests 300] [--backend sqlite|postgresql|both] [--profile]

For a before/after on one machine, run it alternately on two checkouts (PYTHONPATH=<other>/shared:...).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone

from clinic_shared.auth import TokenAuthority
from clinic_shared.db import make_session_factory
from clinic_shared.migrations import upgrade
from clinic_shared.settings import load_settings
from clinic_shared.statements import statements_sent
from clinic_shared.testing import POSTGRES_ADMIN_URL, port_open, postgres_databases

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=timezone.utc)  # a Monday
SECRET, STAFF = "bench-secret", "bench-staff"
ANSWERS = {"active_acne": False, "eczema": False, "psoriasis": False, "fitzpatrick_type": "II",
           "pregnant_or_breastfeeding": False, "isotretinoin_last_6_months": False,
           "active_skin_infection": False, "keloid_scarring": False, "blood_thinners": False}
SCREENING = {"client": {"name": "Bench Client", "email": "bench@example.org"}, "areas": ["face"], "answers": ANSWERS}


def slot_starts():
    """Starts that fill both practitioners' days, Monday to Saturday: a 60-minute session plus turnover."""
    day = date(2026, 11, 9)
    while True:
        if day.weekday() != 6:
            for minutes in range(0, 7 * 75, 75):  # 08:00 … 15:30 UTC (GMT in winter)
                start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=minutes)
                yield start
                yield start  # the second practitioner
        day += timedelta(days=1)


class Measured:
    def __init__(self, name: str):
        self.name = name
        self.cpu: list[float] = []
        self.statements: set[int] = set()

    def call(self, engine, request):
        with statements_sent(engine) as log:
            started = time.thread_time()
            response = request()
            self.cpu.append(time.thread_time() - started)
        self.statements.add(len(log))
        return response

    def row(self) -> str:
        counts = "/".join(str(c) for c in sorted(self.statements))
        return (f"| {self.name} | {counts} | {statistics.median(self.cpu) * 1000:.2f} | "
                f"{statistics.quantiles(self.cpu, n=10)[-1] * 1000:.2f} | {len(self.cpu)} |")


def apps(booking_url: str, screening_url: str):
    from booking import create_app as create_booking
    from booking.settings import load_booking_settings
    from screening import create_app as create_screening
    from screening.settings import ScreeningSettings

    upgrade("booking", booking_url)
    upgrade("screening", screening_url)
    data_dir = tempfile.mkdtemp()
    env = {"CLINIC_DATA_DIR": data_dir, "CLINIC_STAFF_TOKEN": STAFF, "CLINIC_SECRET_KEY": SECRET}
    booking = create_booking(load_booking_settings(env), clock=lambda: NOW, database_url=booking_url)
    screening = create_screening(ScreeningSettings(base=load_settings(
        "screening", {**env, "CLINIC_SCREENING_DATABASE_URL": screening_url})))
    return booking, screening


def run(label: str, booking_url: str, screening_url: str, requests: int, profile: bool) -> None:
    from bench_booking import screened_clients
    from booking.worker import make_processor

    booking, screening = apps(booking_url, screening_url)
    booking_engine = booking.extensions["booking"].engine
    screening_engine = screening.extensions["screening"].engine
    processor = make_processor(make_session_factory(booking_engine))
    tokens = TokenAuthority(SECRET, STAFF, 3600)
    booking_http, screening_http = booking.test_client(), screening.test_client()

    screenings = Measured("POST /api/screenings")
    for _ in range(requests):
        response = screenings.call(screening_engine, lambda: screening_http.post("/api/screenings", json=SCREENING))
        assert response.status_code == 201, response.get_json()

    clients = screened_clients(processor, tokens, requests)

    bookings = Measured("POST /api/bookings")
    profiler = None
    if profile:
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.0005)
        profiler.start()
    for (screening_id, headers), start in zip(clients, slot_starts()):
        body = {"screening_id": screening_id, "areas": ["face"], "start": start.isoformat()}
        response = bookings.call(booking_engine, lambda: booking_http.post("/api/bookings", headers=headers, json=body))
        assert response.status_code == 201, response.get_json()
    if profiler is not None:
        profiler.stop()

    one_day = Measured("GET /api/availability, 1 day")
    month = Measured("GET /api/availability, 31 days")
    for _ in range(requests):
        for measured, query in ((one_day, "date=2026-11-10&areas=face"),
                                (month, "from=2026-11-09&to=2026-12-09&areas=face")):
            response = measured.call(booking_engine, lambda: booking_http.get(f"/api/availability?{query}"))
            assert response.status_code == 200

    print(f"\n{label}: {requests} requests each\n")
    print("| request | statements | CPU ms median | CPU ms p90 | requests |")
    print("|---|---|---|---|---|")
    for measured in (screenings, one_day, month, bookings):
        print(measured.row())
    if profiler is not None:
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    booking_engine.dispose()
    screening_engine.dispose()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of the bookings")
    args = parser.parse_args([] if argv is None else argv)  # bench/run.py calls main() with its own argv
    if args.backend in ("sqlite", "both"):
        folder = tempfile.mkdtemp()
        run("sqlite", f"sqlite:///{folder}/booking.db", f"sqlite:///{folder}/screening.db", args.requests,
            args.profile)
    if args.backend in ("postgresql", "both"):
        if not port_open(POSTGRES_ADMIN_URL, 5432):
            print("postgresql: not reachable, skipped")
            return
        with ExitStack() as stack:
            make = stack.enter_context(postgres_databases(label="bench"))
            run("postgresql", make(), make(), args.requests, args.profile)


if __name__ == "__main__":
    main(sys.argv[1:])
