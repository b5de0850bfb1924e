"""Availability over 50,000 bookings on PostgreSQL: 31 days and one day, at the service level.

Seeds bench/seed.py's diary (a year ahead half full, the rest history) into a fresh database, then
times the Scheduler's `availability` (what the HTTP handler calls), the same through the booking
service's HTTP layer (Flask test client), and its reads alone (closures, busy bookings and waitlist holds:
the SQL's share).
Repeats each measurement and prints median and spread, of wall time and of this thread's CPU time: the
machine is shared, so single figures lie, wall times most.
Run alone with `python bench/bench_availability.py [--profile]`; --profile prints a pyinstrument profile
of the 31-day computation, if pyinstrument is installed. For a before/after against another checkout's
code: `PYTHONPATH=<checkout>/services/booking python bench/bench_availability.py`.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clinic_shared.db import make_session_factory  # noqa: E402
try:  # older code reads in a transaction
    from clinic_shared.db import reads  # noqa: E402
except ImportError:
    reads = None
from clinic_shared.migrations import upgrade  # noqa: E402
from clinic_shared.testing import POSTGRES_ADMIN_URL, port_open, postgres_databases  # noqa: E402

from booking import create_app  # noqa: E402
try:  # older code (before the interval computation) has no range_slots: still measurable, for before/after
    from booking.domain.availability import range_slots  # noqa: E402
except ImportError:
    range_slots = None
from booking.settings import clinic_rules, load_booking_settings  # noqa: E402
from booking.store import repository  # noqa: E402
try:  # older code (before the waitlist) has no holds to read
    from booking.store import waitlist_repository  # noqa: E402
except ImportError:
    waitlist_repository = None
from seed import seed_bookings  # noqa: E402

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=timezone.utc)  # a Monday
MONTH = (date(2026, 11, 9), date(2026, 12, 9))  # 31 days
DAY = (date(2026, 11, 10), date(2026, 11, 10))
ROUNDS, REPEATS = 5, 40  # medians of REPEATS calls, ROUNDS times: the spread of those medians is reported


def median_ms(call, repeats: int = REPEATS) -> tuple[float, float]:
    """Median wall time and median CPU time of this thread (where the app runs), in ms. On a shared machine
    the CPU time moves much less with others' load than the wall time does (the database server's is not in it)."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.thread_time()
        call()
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def report(label: str, call) -> None:
    call()  # warm: the first call compiles statements and fills pools
    rounds = [median_ms(call) for _ in range(ROUNDS)]
    walls, cpus = sorted(w for w, _ in rounds), sorted(c for _, c in rounds)
    print(f"  {label:<44} median {statistics.median(walls):7.2f} ms  "
          f"(medians of {ROUNDS} rounds x {REPEATS}: {walls[0]:.2f} .. {walls[-1]:.2f}); "
          f"CPU {statistics.median(cpus):.2f} ms ({cpus[0]:.2f} .. {cpus[-1]:.2f})", flush=True)


def run(database_url: str, profile: bool) -> None:
    upgrade("booking", database_url)
    rules = clinic_rules()
    count = seed_bookings(database_url, NOW.date(), rules)
    settings = load_booking_settings({"CLINIC_DATA_DIR": tempfile.mkdtemp(), "CLINIC_STAFF_TOKEN": "bench",
                                      "CLINIC_SECRET_KEY": "bench-secret"})
    app = create_app(settings, clock=lambda: NOW, database_url=database_url)
    context = app.extensions["booking"]
    scheduler, http = context.scheduler, app.test_client()
    sessions = make_session_factory(context.engine)  # not the Scheduler's: older code names it otherwise
    month = lambda: scheduler.availability(*MONTH, "treatment", ["face"])  # noqa: E731
    print(f"postgresql, {count} bookings; 31 days: {len(month())} slots", flush=True)

    def sql_only():
        window_start, _ = repository.local_day_bounds(MONTH[0], rules.timezone)
        _, window_end = repository.local_day_bounds(MONTH[1], rules.timezone)
        if hasattr(repository, "busy_held_and_closed"):  # one read, in autocommit, as the Scheduler makes it
            with reads(sessions) as session:
                return repository.busy_held_and_closed(session, window_start, window_end, *MONTH)[0]
        with sessions() as session:
            repository.closed_dates(session, *MONTH)
            if hasattr(repository, "busy_and_held"):  # the waitlist's holds read with the bookings
                return repository.busy_and_held(session, window_start, window_end)[0]
            busy = repository.busy_between(session, window_start, window_end)  # older code: a read each
            if waitlist_repository is not None:
                waitlist_repository.held_between(session, window_start, window_end)
            return busy

    print(f"  (the 31-day window holds {len(sql_only())} confirmed bookings)")
    report("31 days, Scheduler.availability", month)
    report("1 day, Scheduler.availability", lambda: scheduler.availability(*DAY, "treatment", ["face"]))
    report("31 days, its SQL alone (closures, busy, holds)", sql_only)
    busy = sql_only()
    duration = timedelta(minutes=60)
    if range_slots:
        report("31 days, the computation alone (domain)", lambda: range_slots(*MONTH, duration, rules, NOW, busy))
    report("31 days, GET /api/availability (test client)",
           lambda: http.get(f"/api/availability?from={MONTH[0]}&to={MONTH[1]}&areas=face"))
    report("1 day, GET /api/availability (test client)",
           lambda: http.get(f"/api/availability?date={DAY[0]}&areas=face"))
    if profile:
        from pyinstrument import Profiler
        with Profiler(interval=0.0005) as profiler:
            for _ in range(20):
                month()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    context.engine.dispose()


def main() -> None:
    if not port_open(POSTGRES_ADMIN_URL, 5432):
        print("postgresql: not reachable, skipped")
        return
    with postgres_databases(label="benchavail") as make:
        run(make(), "--profile" in sys.argv)


if __name__ == "__main__":
    main()
