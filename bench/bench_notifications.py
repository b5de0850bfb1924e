"""The notifications worker's CPU per booking: `booking.confirmed` events through the inbox (batches of 20, as the
consumer hands them over) and then the dispatcher sending what is due to a real local SMTP server.

Each treatment booking plans five messages and makes one due at once (its `pre_treatment` invitation, with a
calendar file), so per booking the worker handles one event and sends one message. Reported: this process's CPU
milliseconds per booking for handling the events and per message for dispatching them (the dispatcher's claiming
thread and its senders; the SMTP server runs in a process of its own, `smtp_sink`, and the database in its own:
neither is counted), the statements each sends, and, per message, the CPU of building the e-mail and flattening
it to bytes alone. Then, as the worker runs under a steady load (each event's NOTIFY wakes the dispatcher, whose
round then finds one message), a quarter as many bookings again, each handled alone and followed by a round of
its own: the CPU and statements of such a round. PostgreSQL (a fresh database) when reachable, else SQLite.
Several rounds; the median round is reported.

    python bench/bench_notifications.py [--bookings 200] [--rounds 3] [--backend postgresql|sqlite]

For a before/after on one machine, run it alternately on two checkouts (PYTHONPATH=<other>/shared:...).
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
sys.path.insert(0, str(REPO / "bench"))

from conftest import make_booking_data  # noqa: E402  (the tests' event data: one place says what it looks like)
from smtp_sink import smtp_sink  # noqa: E402

from clinic_shared.events import make_envelope  # noqa: E402
from clinic_shared.inbox import InboxProcessor  # noqa: E402
from clinic_shared.migrations import upgrade  # noqa: E402
from clinic_shared.statements import statements_sent  # noqa: E402
from clinic_shared.testing import POSTGRES_ADMIN_URL, port_open, postgres_databases  # noqa: E402
from notifications.delivery import build_email, make_transport  # noqa: E402
from notifications.dispatcher import Dispatcher  # noqa: E402
from notifications.events import EventHandlers  # noqa: E402
from notifications.settings import load_settings  # noqa: E402
from notifications.store.repository import Repository  # noqa: E402
from notifications.store.tables import make_tables  # noqa: E402
from notifications.worker import build_parts  # noqa: E402

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
BATCH = 20  # the consumer's batch size (clinic_shared.inbox.EventConsumer)
ROUND_EVERY = 4  # one booking in so many is also handled alone and its message sent in a round of its own
NAMES = ("Ada Lovelace", "Zoë Ångström-Núñez")  # every other client has a name that needs encoding


def envelopes(count: int) -> list[dict]:
    return [make_envelope("booking.confirmed", make_booking_data(
        booking_id=str(uuid.uuid4()), client_id=str(uuid.uuid4()), name=NAMES[n % 2],
        start=NOW + timedelta(days=10, hours=n % 8)), "bench") for n in range(count)]


def cpu_ms(work) -> float:
    """The process's CPU: the dispatcher sends on threads of its own (its senders), which count too."""
    started = time.process_time()
    work()
    return (time.process_time() - started) * 1000


def one_round(url: str, bookings: int, smtp_url: str) -> dict:
    settings = load_settings({"CLINIC_DATA_DIR": tempfile.mkdtemp(), "CLINIC_NOTIFICATIONS_DATABASE_URL": url,
                              "CLINIC_SMTP_URL": smtp_url, "CLINIC_SECRET_KEY": "bench-secret"})
    # The engine as the worker makes it (since 6cc8301 without the ping on checkout), in whichever code is benched.
    sessions = build_parts(settings).session_factory
    engine = sessions.kw["bind"]
    tables = make_tables()
    repository = Repository(tables)
    processor = InboxProcessor(sessions, tables.inbox,
                               EventHandlers(settings, repository, lambda: NOW).as_dict())
    dispatcher = Dispatcher(sessions, repository, make_transport(settings), settings, lambda: NOW)
    events = envelopes(bookings)
    with statements_sent(engine) as handling_log:
        handling = cpu_ms(lambda: [processor.process_batch(events[i:i + BATCH])
                                   for i in range(0, len(events), BATCH)])
    sent: list[int] = []
    with statements_sent(engine) as dispatch_log:
        dispatching = cpu_ms(lambda: sent.append(sum(iter(dispatcher.dispatch_due, 0))))
    assert sent == [bookings], f"sent {sent}, expected {bookings}"
    with sessions() as session:
        rows = session.execute(tables.notifications.select().where(
            tables.notifications.c.status == "sent")).all()
    building = cpu_ms(lambda: [build_email(row, settings, NOW).as_bytes() for row in rows])
    # As the worker runs under a steady load: woken by each event's NOTIFY, a round finds one message due.
    one_by_one = [_round(processor, dispatcher, engine, envelope) for envelope in envelopes(bookings // ROUND_EVERY)]
    engine.dispose()
    return {"handling": handling / bookings, "dispatching": dispatching / len(rows),
            "building": building / len(rows), "handling_statements": len(handling_log) / bookings,
            "dispatch_statements": len(dispatch_log) / len(rows),
            "round": statistics.mean(cpu for cpu, _ in one_by_one),
            "round_statements": statistics.mean(count for _, count in one_by_one)}


def _round(processor, dispatcher, engine, envelope) -> tuple[float, int]:
    """(CPU ms, statements) of a dispatcher's round after one event (whose handling is not counted)."""
    processor.process_batch([envelope])
    sent: list[int] = []
    with statements_sent(engine) as log:
        cpu = cpu_ms(lambda: sent.append(dispatcher.dispatch_due()))
    assert sent == [1], sent
    return cpu, len(log)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args([] if argv is None else argv)  # bench/run.py calls main() with its own argv
    backend = args.backend
    if backend == "postgresql" and not port_open(POSTGRES_ADMIN_URL, 5432):
        print("postgresql: not reachable, using sqlite")
        backend = "sqlite"
    rounds = []
    with postgres_databases(POSTGRES_ADMIN_URL, label="bench") as new_database, smtp_sink() as smtp:
        for _ in range(args.rounds):
            url = new_database() if backend == "postgresql" else f"sqlite:///{tempfile.mkdtemp()}/n.db"
            upgrade("notifications", url)
            rounds.append(one_round(url, args.bookings, smtp.url))
        assert smtp.received == (args.bookings + args.bookings // ROUND_EVERY) * args.rounds
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"\n{backend}: {args.bookings} booking.confirmed events (batches of {BATCH}) and their "
          f"{args.bookings} due messages sent over SMTP; median of {args.rounds} rounds\n")
    print("| step | statements | CPU ms |")
    print("|---|---|---|")
    print(f"| handling, per booking (5 messages planned) | {median['handling_statements']:.1f} | "
          f"{median['handling']:.2f} |")
    print(f"| dispatching, per message (claim, checks, SMTP, `sent`) | {median['dispatch_statements']:.1f} | "
          f"{median['dispatching']:.2f} |")
    print(f"| of which building the e-mail and its bytes | 0 | {median['building']:.2f} |")
    print(f"| a round that finds one message (one event's NOTIFY woke it) | {median['round_statements']:.1f} | "
          f"{median['round']:.2f} |")
    print(f"| **per booking, in all** | {median['handling_statements'] + median['dispatch_statements']:.1f} | "
          f"**{median['handling'] + median['dispatching']:.2f}** |")


if __name__ == "__main__":
    main(sys.argv[1:])
