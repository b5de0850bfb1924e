"""Outbox relay and inbox consumer throughput, on the file transport and (if reachable) RabbitMQ.

Prints events per second for writing to the outbox, relaying with publisher confirms and consuming
through the inbox, and the peak resident memory of the process.
"""
from __future__ import annotations

import resource
import tempfile
import threading
import time
import uuid

from sqlalchemy import MetaData

from clinic_shared.broker import Publisher, connect
from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.inbox import EventConsumer, InboxProcessor, inbox_table
from clinic_shared.outbox import OutboxRelay, add_event, outbox_table
from clinic_shared.settings import load_settings
from clinic_shared.testing import AMQP_URL, port_open
from clinic_shared.topology import Topology

EVENTS = 500
DATA = {"screening_id": "s", "client_id": "c", "client": {"name": "A", "email": "a@example.org"},
        "areas": ["face"], "outcome": "eligible", "valid_until": "2027-01-01T00:00:00+00:00",
        "rules_version": "1", "created_at": "2026-11-01T00:00:00+00:00"}


def run(label: str, broker_url: str | None) -> None:
    data_dir = tempfile.mkdtemp()
    env = {"CLINIC_DATA_DIR": data_dir, "CLINIC_TOPOLOGY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}"}
    if broker_url:
        env["CLINIC_BROKER_URL"] = broker_url
    settings = load_settings("booking", env)
    metadata = MetaData()
    outbox, inbox = outbox_table(metadata), inbox_table(metadata)
    engine = make_engine(settings.database_url)
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    topology = Topology(settings.topology_prefix)

    started = time.perf_counter()
    for _ in range(EVENTS):
        with sessions() as session, session.begin():
            add_event(session, outbox, "screening.completed", DATA, "bench")
    written = time.perf_counter() - started

    relay = OutboxRelay(sessions, outbox, Publisher(connect(settings), topology))
    started = time.perf_counter()
    while relay.relay_once():
        pass
    relayed = time.perf_counter() - started

    handled = []
    processor = InboxProcessor(sessions, inbox, {"screening.completed": lambda s, d, e: handled.append(1)})
    consumer = EventConsumer(connect(settings), topology, "booking", processor)
    thread = threading.Thread(target=consumer.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    while len(handled) < EVENTS and time.perf_counter() - started < 120:
        time.sleep(0.01)
    consumed = time.perf_counter() - started
    consumer.should_stop = True
    thread.join(10)
    if broker_url:
        with connect(settings) as connection:
            topology.delete(connection)
    print(f"{label:>10}: outbox write {EVENTS / written:8.0f} ev/s | relay {EVENTS / relayed:8.0f} ev/s | "
          f"consume {len(handled) / consumed:8.0f} ev/s ({len(handled)}/{EVENTS})")


def main() -> None:
    run("filesystem", None)
    if port_open(AMQP_URL, 5672):
        run("rabbitmq", AMQP_URL)
    else:
        print("  rabbitmq: not reachable, skipped")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
