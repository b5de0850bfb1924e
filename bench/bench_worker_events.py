"""What the workers' messaging costs per event, on PostgreSQL: the booking worker consuming `screening.completed`
and the screening worker consuming `booking.confirmed` through the inbox (one event per transaction, as at light
load, and in batches of 20), the outbox relay publishing to RabbitMQ with confirms (one row per relay, as when
each commit wakes it, then batches of 100, then finding nothing), the relay's loop woken by commits (how often
it finds nothing), and `python -m booking.worker` as it runs, fed a booking's events at 25/s.

For each: CPU ms of this process, statements sent (clinic_shared.statements) and transactions (the database's
own commit and rollback counters, pg_stat_database; for the running worker, its engine's count) per event.

    python bench/bench_worker_events.py [--events 300] [--profile booking|screening|relay|wakeups]

(cProfile, of the calling thread: its CPU figures are several times the real ones; for the running worker,
whose work is in its threads, use py-spy)
"""
from __future__ import annotations

import argparse
import collections
import os
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "services" / "notifications" / "tests")]

from conftest import make_booking_data, make_screening_data  # noqa: E402  (the tests' event data)
from report import database_transactions  # noqa: E402
from sqlalchemy import create_engine, event  # noqa: E402

from clinic_shared.broker import Publisher, connect  # noqa: E402
from clinic_shared.db import make_engine, make_session_factory  # noqa: E402
from clinic_shared.events import make_envelope  # noqa: E402
from clinic_shared.inbox import InboxProcessor  # noqa: E402
from clinic_shared.migrations import upgrade  # noqa: E402
from clinic_shared.outbox import OutboxRelay, add_event  # noqa: E402
from clinic_shared.settings import load_settings  # noqa: E402
from clinic_shared.statements import statements_sent  # noqa: E402
from clinic_shared.testing import AMQP_URL, POSTGRES_ADMIN_URL, port_open, postgres_databases  # noqa: E402
from clinic_shared.topology import Topology  # noqa: E402

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def worker_engine(url: str):
    """The engine as the workers make it (code from before `ping_on_checkout` had only the one engine)."""
    try:
        return make_engine(url, ping_on_checkout=False)
    except TypeError:
        return make_engine(url)


class Database:
    """A fresh database of a service; `measure` counts what a block costs it."""

    def __init__(self, url: str, profiler=None):
        self.url = url
        self.engine = worker_engine(url)
        self.sessions = make_session_factory(self.engine)
        self._name = self.engine.url.database
        self._profiler = profiler

    def _transactions(self) -> int:
        self.engine.dispose()  # a backend reports its counters when it ends
        time.sleep(0.3)
        return sum(database_transactions(POSTGRES_ADMIN_URL, {"this": self._name})["this"])

    @contextmanager
    def measure(self, label: str, events: int):
        before = self._transactions()
        if self._profiler is not None:
            self._profiler.enable()
        with statements_sent(self.engine) as sent:
            started = time.process_time()
            yield
            cpu = time.process_time() - started
        if self._profiler is not None:
            self._profiler.disable()
        transactions = self._transactions() - before
        report(label, cpu, len(sent), transactions, events)

    def close(self) -> None:
        self.engine.dispose()


def report(label: str, cpu: float, statements: int, transactions: int, events: int) -> None:
    print(f"  {label:<34} {cpu * 1000 / events:6.3f} CPU ms/event  {statements / events:5.2f} statements/event  "
          f"{transactions / events:5.2f} transactions/event")


def inbox_runs(database: Database, processor: InboxProcessor, envelopes, events: int) -> None:
    one_by_one, batched = envelopes(events), envelopes(events)
    with database.measure("inbox, one event per transaction", events):
        for envelope in one_by_one:
            processor.process(envelope)
    with database.measure("inbox, batches of 20", events):
        for i in range(0, events, 20):
            processor.process_batch(batched[i:i + 20])
    with database.measure("inbox, the same events again", events):
        for envelope in one_by_one:
            processor.process(envelope)


def booking_worker(url: str, events: int, profiler) -> None:
    from booking.worker import make_processor

    upgrade("booking", url)
    database = Database(url, profiler)
    processor = make_processor(database.sessions)
    print("booking worker, screening.completed:")
    inbox_runs(database, processor, lambda count: [make_envelope("screening.completed", make_screening_data(
        "eligible", screening_id=str(uuid.uuid4()), client_id=f"c{n}"), "bench") for n in range(count)], events)
    database.close()


def screening_worker(url: str, events: int, profiler) -> None:
    from screening.events import HANDLERS

    upgrade("screening", url)
    database = Database(url, profiler)
    processor = InboxProcessor(database.sessions, _screening_inbox(), HANDLERS)
    print("screening worker, booking.confirmed:")
    inbox_runs(database, processor, lambda count: [make_envelope("booking.confirmed", make_booking_data(
        booking_id=str(uuid.uuid4()), client_id=f"c{n}", start=NOW + timedelta(days=10, hours=n % 8)), "bench")
        for n in range(count)], events)
    database.close()


def _screening_inbox():
    from screening.store.tables import inbox
    return inbox


def _broker():
    """A topology of the booking service's, unique to this run, and a connection to RabbitMQ."""
    settings = load_settings("booking", {"CLINIC_DATA_DIR": tempfile.mkdtemp(), "CLINIC_BROKER_URL": AMQP_URL,
                                         "CLINIC_TOPOLOGY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}"})
    return Topology(settings.topology_prefix), connect(settings)


def relay(url: str, events: int, profiler) -> None:
    from booking.store.tables import outbox

    upgrade("booking", url)
    database = Database(url, profiler)
    topology, connection = _broker()
    publisher = Publisher(connection, topology)

    def write(count: int) -> None:
        with database.sessions() as session, session.begin():
            for n in range(count):
                add_event(session, outbox, "booking.confirmed", make_booking_data(booking_id=f"b{n}"), "bench")

    print("outbox relay (booking's outbox), to RabbitMQ:")
    write(1)
    OutboxRelay(database.sessions, outbox, publisher).relay_once()  # connected and declared before measuring
    write(events)
    single = OutboxRelay(database.sessions, outbox, publisher, batch_size=1)
    with database.measure("relay, one row per batch", events):
        for _ in range(events):
            assert single.relay_once() == 1
    write(events)
    batches = OutboxRelay(database.sessions, outbox, publisher)
    with database.measure("relay, batches of 100", events):
        while batches.relay_once():
            pass
    with database.measure("relay finding nothing (per call)", events):
        for _ in range(events):
            batches.relay_once()
    topology.delete(connection)
    connection.release()
    database.close()


def woken_relay(url: str, events: int, profiler) -> None:
    """The worker's relay loop as run_worker runs it, woken by each commit: how often does it find nothing?"""
    import threading

    from booking.store.tables import outbox
    from clinic_shared.outbox import OUTBOX_CHANNEL
    from clinic_shared.wakeups import Listener
    from clinic_shared.worker import every

    upgrade("booking", url)
    database = Database(url, profiler)
    topology, connection = _broker()
    relay = OutboxRelay(database.sessions, outbox, Publisher(connection, topology))
    calls, found = [], []

    def counted() -> int:
        published = relay.relay_once()
        calls.append(1)
        found.append(published)
        return published

    stop = threading.Event()
    listener = Listener(database.engine, OUTBOX_CHANNEL, stop)
    loop = threading.Thread(target=every, args=(0.2, counted, stop, "relay", listener))
    loop.start()
    time.sleep(1.0)  # listening, and the empty first looks done
    calls.clear(), found.clear()
    rate, seconds = 25.0, max(2.0, events / 25.0)
    started = time.monotonic()
    for n in range(int(rate * seconds)):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        with database.sessions() as session, session.begin():
            add_event(session, outbox, "booking.confirmed", make_booking_data(booking_id=f"b{n}"), "bench")
    time.sleep(0.5)
    stop.set()
    loop.join(10)
    listener.close()
    print(f"relay woken by commits at {rate:.0f}/s for {seconds:.0f} s: {len(calls)} relay transactions for "
          f"{sum(found)} events, {found.count(0)} of them finding nothing")
    topology.delete(connection)
    connection.release()
    database.close()


def _feed(url: str, amqp_url: str, prefix: str, events: int, rate: float) -> None:
    """What the rest of the system does for each booking, at `rate` a second: screening's `screening.completed`
    reaches the worker's queue, and the booking API commits `booking.confirmed` to the outbox. (Its own process,
    so that its CPU is not the worker's; its engine pings nothing: one transaction per row.)"""
    from booking.store.tables import outbox

    engine = create_engine(url)
    sessions = make_session_factory(engine)
    topology = Topology(prefix)
    with connect(load_settings("booking", {"CLINIC_DATA_DIR": tempfile.mkdtemp(), "CLINIC_BROKER_URL": amqp_url,
                                           "CLINIC_TOPOLOGY_PREFIX": prefix})) as connection:
        publisher = Publisher(connection, topology)
        started = time.monotonic()
        for n in range(events):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            publisher.publish(make_envelope("screening.completed", make_screening_data(
                "eligible", screening_id=str(uuid.uuid4()), client_id=f"c{n}"), "bench"))
            with sessions() as session, session.begin():
                add_event(session, outbox, "booking.confirmed", make_booking_data(booking_id=f"b{n}"), "bench")
    engine.dispose()


def whole_worker(url: str, events: int, profiler) -> None:
    """`python -m booking.worker` as it runs (its threads, LISTEN, heartbeat, consumer and relay), fed one booking's
    events at a time at 25 a second: the worker's CPU per booking, as the whole-system run sees it. All from the
    first event to the last one done; transactions as the worker's engine counts them (each BEGIN, and each pool
    ping, a transaction of its own on the server): the database's counters would add autovacuum's, which such a
    stream of inserts starts."""
    import multiprocessing
    import threading

    from booking.settings import load_booking_settings
    from booking.store.tables import inbox, outbox
    from booking.worker import worker_parts
    from clinic_shared.worker import run_worker
    from sqlalchemy import func, select

    upgrade("booking", url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = load_booking_settings({"CLINIC_DATA_DIR": tempfile.mkdtemp(), "CLINIC_BROKER_URL": AMQP_URL,
                                      "CLINIC_TOPOLOGY_PREFIX": prefix, "CLINIC_BOOKING_DATABASE_URL": url})
    looker = create_engine(url)
    done_query = select(select(func.count()).select_from(inbox).scalar_subquery(), select(func.count())
                        .select_from(outbox).where(outbox.c.published_at.isnot(None)).scalar_subquery())

    def done() -> bool:
        with looker.connect() as connection:
            handled, published = connection.execute(done_query).one()
        return handled >= events and published >= events

    parts = worker_parts(settings)
    worker_engine = parts.session_factory.kw["bind"]
    transactions = 0

    def count(*_args) -> None:
        nonlocal transactions
        transactions += 1

    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(parts, stop), daemon=True)
    worker.start()
    time.sleep(2.0)  # started: queue declared, listening, first looks done
    print("booking worker as it runs (python -m booking.worker), one booking's events at a time, 25/s:")
    feeder = multiprocessing.get_context("spawn").Process(target=_feed, args=(url, AMQP_URL, prefix, events, 25.0))
    pinging = worker_engine.pool._pre_ping  # then each checkout sends a statement of its own, outside the transaction
    event.listen(worker_engine, "begin", count)
    if pinging:
        event.listen(worker_engine.pool, "checkout", count)
    if profiler is not None:
        profiler.enable()
    with statements_sent(worker_engine) as sent:
        started = time.process_time()
        feeder.start()
        while not done():
            time.sleep(0.05)
        cpu = time.process_time() - started
    if profiler is not None:
        profiler.disable()
    event.remove(worker_engine, "begin", count)
    if pinging:
        event.remove(worker_engine.pool, "checkout", count)
    feeder.join(30)
    stop.set()
    worker.join(15)
    worker_engine.dispose()
    looker.dispose()
    report("consume + relay, per booking", cpu, len(sent), transactions, events)
    if os.environ.get("BENCH_SHOW_STATEMENTS"):
        for statement, times in collections.Counter(s[:90] for s in sent.statements).most_common():
            print(f"    {times:5d} {statement}")
    with connect(settings.base) as connection:
        Topology(prefix).delete(connection)


PARTS = {"booking": booking_worker, "screening": screening_worker, "relay": relay, "wakeups": woken_relay,
         "worker": whole_worker}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--profile", choices=sorted(set(PARTS) - {"worker"}),
                        help="print cProfile's busiest functions in this part")
    args = parser.parse_args([] if argv is None else argv)  # bench/run.py calls main() with its own argv
    if not port_open(POSTGRES_ADMIN_URL, 5432) or not port_open(AMQP_URL, 5672):
        sys.exit("needs PostgreSQL and RabbitMQ (clinic_shared.testing's addresses)")
    for name, part in PARTS.items():
        profiler = cProfile.Profile() if args.profile == name else None
        with postgres_databases(POSTGRES_ADMIN_URL, label="bench") as new_database:
            part(new_database(), args.events, profiler)
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main(sys.argv[1:])
