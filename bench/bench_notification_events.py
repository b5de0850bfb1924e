"""What one booking event costs the notifications worker: `booking.confirmed` through the inbox (one transaction
per event, then in batches of 20), and the handler's rendering alone (texts and calendar invitation, no
database), in CPU milliseconds of this process. On PostgreSQL (a fresh database) when reachable, else SQLite.

    python bench/bench_notification_events.py [--events 300] [--backend postgresql|sqlite] [--profile]

--profile prints pyinstrument's profile of the one-by-one run (`pip install pyinstrument`).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "services" / "notifications" / "tests"))

from conftest import make_booking_data  # noqa: E402  (the tests' event data: one place says what it looks like)

from clinic_shared.events import make_envelope  # noqa: E402
from clinic_shared.inbox import InboxProcessor  # noqa: E402
from clinic_shared.migrations import upgrade  # noqa: E402
from clinic_shared.testing import POSTGRES_ADMIN_URL, port_open, postgres_databases  # noqa: E402
from notifications.events import EventHandlers  # noqa: E402
from notifications.settings import load_settings  # noqa: E402
from notifications.store.repository import Repository  # noqa: E402
from notifications.store.tables import make_tables  # noqa: E402
from notifications.worker import build_parts  # noqa: E402

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def envelopes(count: int) -> list[dict]:
    return [make_envelope("booking.confirmed", make_booking_data(
        booking_id=str(uuid.uuid4()), client_id=f"c{n}", start=NOW + timedelta(days=10, hours=n % 8)), "bench")
        for n in range(count)]


def rendering(handlers: EventHandlers, booking):
    """What `booking_confirmed` renders: the five texts, which share their values (`_texts`), and the invitation
    (pre_treatment's alone)."""
    texts = handlers._texts(booking)
    return ([texts(kind) for kind in ("pre_treatment", "appointment_reminder", "aftercare", "aftercare_check_in",
                                      "next_session_reminder")], handlers._calendar(booking, 0, NOW, cancel=False))


def ms_per_event(run, count: int) -> float:
    """CPU milliseconds (this process's: PostgreSQL's own is not counted) per event."""
    started = time.process_time()
    run()
    return (time.process_time() - started) * 1000 / count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args([] if argv is None else argv)  # bench/run.py calls main() with its own argv
    with postgres_databases(POSTGRES_ADMIN_URL) as new_database:
        postgresql = args.backend == "postgresql" and port_open(POSTGRES_ADMIN_URL, 5432)
        url = new_database() if postgresql else f"sqlite:///{tempfile.mkdtemp()}/n.db"
        settings = load_settings({"CLINIC_DATA_DIR": tempfile.mkdtemp(), "CLINIC_NOTIFICATIONS_DATABASE_URL": url})
        upgrade("notifications", url)
        # The engine as the worker makes it (since 6cc8301 without the ping on checkout), in whichever code is benched.
        sessions = build_parts(settings).session_factory
        engine = sessions.kw["bind"]
        tables = make_tables()
        handlers = EventHandlers(settings, Repository(tables), lambda: NOW)
        processor = InboxProcessor(sessions, tables.inbox, handlers.as_dict())
        print(f"database: {engine.dialect.name}, {args.events} booking.confirmed events each")

        one_by_one = envelopes(args.events)
        profiler = None
        if args.profile:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0005)
            profiler.start()
        single = ms_per_event(lambda: [processor.process(e) for e in one_by_one], args.events)
        if profiler is not None:
            profiler.stop()
        batched = envelopes(args.events)
        batch = ms_per_event(lambda: [processor.process_batch(batched[i:i + 20])
                                      for i in range(0, len(batched), 20)], args.events)

        rounds = []
        for _ in range(5):
            rounds.append(ms_per_event(lambda: [rendering(handlers, b) for b in map(_booking, one_by_one)],
                                       args.events))
        print(f"inbox, one transaction per event: {single:6.2f} CPU ms/event")
        print(f"inbox, batches of 20:             {batch:6.2f} CPU ms/event")
        print(f"rendering alone (5 texts + 1 invitation per event): {statistics.median(rounds):6.3f} CPU ms/event "
              f"(median of 5 rounds; {args.events} events)")
        engine.dispose()
        if profiler is not None:
            print(profiler.output_text(unicode=True, color=False, show_all=False))


def _booking(envelope: dict):
    from notifications.events import Booking
    return Booking(envelope["data"])


if __name__ == "__main__":
    main(sys.argv[1:])
