"""The broker goes away while the clinic is open: bookings still succeed (the outbox keeps their events), and once
the broker is back every message goes out, once."""
from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest

from clinic_shared.testing import AMQP_URL, free_port, missing_backend, port_open
from system import start_system
from clinic_shared.tcp_proxy import TcpProxy
from test_system_slice import book, first_free_slot, screen, until

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def outage_system(tmp_path_factory):
    if not port_open(AMQP_URL, 5672):
        missing_backend(f"RabbitMQ at {AMQP_URL}")
    upstream = urlsplit(AMQP_URL)
    proxy = TcpProxy(upstream.hostname, upstream.port or 5672, free_port()).start()
    prefix = f"clinic-test-{uuid.uuid4().hex[:10]}"
    broker_url = AMQP_URL.replace(f"{upstream.hostname}:{upstream.port or 5672}", f"127.0.0.1:{proxy.port}")
    running = start_system(tmp_path_factory.mktemp("outage"),
                           {"CLINIC_BROKER_URL": broker_url, "CLINIC_TOPOLOGY_PREFIX": prefix})
    running.mailbox = None
    running.proxy = proxy
    yield running
    running.stop_all()
    proxy.cut()
    from kombu import Connection

    from clinic_shared.topology import Topology
    with Connection(AMQP_URL, connect_timeout=3) as connection:
        Topology(prefix).delete(connection)


def kinds(system, booking, token):
    response = system.call("GET", f"/api/notifications?booking_id={booking['id']}", token=token)
    notifications = response.json().get("notifications", []) if response.status_code == 200 else []
    return [(n["kind"], n["status"]) for n in notifications]


def test_events_written_during_an_outage_are_delivered_once_it_ends(outage_system):
    system = outage_system
    screening = screen(system)  # learnt by booking before the outage
    slot = first_free_slot(system, days_ahead=6)
    assert book(system, screening, slot["start"]).status_code == 201  # warm: the path works

    system.proxy.cut()
    try:
        second = screen(system)  # accepted: its event waits in the screening service's outbox
        time.sleep(3)  # long enough for every process to notice the broker is gone
        assert system.call("GET", "/api/health").status_code == 503  # the outage is visible to operations
        other = first_free_slot(system, days_ahead=40)
        late = system.call("POST", "/api/bookings", token=screening["access_token"],
                           json={"screening_id": screening["id"], "areas": ["face"], "start": other["start"]})
        # 34 days or more after the first: allowed by the 28-day spacing, and written with its event in one transaction.
        assert late.status_code == 201, late.text
        booking = late.json()
    finally:
        system.proxy.restore()

    token = screening["access_token"]
    assert until(lambda: ("pre_treatment", "sent") in kinds(system, booking, token), bool, seconds=90), system.all_logs()
    rebooked = book(system, second, first_free_slot(system, days_ahead=9)["start"])
    assert rebooked.status_code == 201, rebooked.text  # the screening made during the outage reached booking
    time.sleep(2)
    assert kinds(system, booking, token).count(("pre_treatment", "sent")) == 1
    assert until(lambda: system.call("GET", "/api/health").status_code == 200, bool, seconds=30)
