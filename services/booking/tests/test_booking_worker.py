"""The worker on a real RabbitMQ: screening events in, booking events out through the outbox."""
from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, time as clock_time
from zoneinfo import ZoneInfo

from kombu import Connection, Queue, binding
from sqlalchemy import select

from clinic_shared.broker import Publisher
from clinic_shared.events import make_envelope
from clinic_shared.topology import Topology
from clinic_shared.worker import run_worker

from booking.settings import with_overrides
from booking.store.tables import screenings
from booking.worker import worker_parts

LONDON = ZoneInfo("Europe/London")


def wait_for(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_worker_projects_screenings_and_relays_booking_events(clinic, amqp_url, topology_prefix):
    settings = with_overrides(clinic.settings, broker_url=amqp_url, topology_prefix=topology_prefix)
    topology = Topology(topology_prefix)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(worker_parts(settings), stop), daemon=True)
    with Connection(amqp_url) as connection:
        topology.declare(connection)
        # A listener of our own for what booking publishes.
        listener = Queue(f"{topology_prefix}.test-listener", exchange=topology.events, auto_delete=False,
                         bindings=[binding(topology.events, routing_key="booking.*")])
        listener(connection.default_channel).declare()
        worker.start()
        try:
            data = clinic.screening_data("worker-client")
            Publisher(connection, topology).publish(make_envelope("screening.completed", data, producer="screening"))

            def projected():
                with clinic.sessions() as session:
                    return session.execute(select(screenings).where(screenings.c.id == data["screening_id"])).first()

            wait_for(projected)
            start = datetime.combine(date(2026, 11, 10), clock_time(10), tzinfo=LONDON)
            booking = clinic.book(data, start, headers=clinic.client_headers(data["client_id"], **{"X-Request-ID": "trace-1"}))
            assert booking.status_code == 201

            received = []

            def delivered():
                message = listener(connection.default_channel).get(no_ack=True)
                if message is not None:
                    received.append(json.loads(message.body))
                return received

            [event] = wait_for(delivered)
            assert event["type"] == "booking.confirmed" and event["correlation_id"] == "trace-1"
            assert event["data"]["booking_id"] == booking.get_json()["id"]
        finally:
            stop.set()
            worker.join(timeout=15)
            listener(connection.default_channel).delete()
