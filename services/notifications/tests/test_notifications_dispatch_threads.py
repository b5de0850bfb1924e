"""The dispatcher sends several messages at once: while one waits on the mail server, another is sent.

The mail server here holds every message at DATA until a second one is at DATA too (or 10 s pass):
with one send at a time, no two messages could ever be at DATA together."""
import asyncio
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from clinic_shared.testing import free_port
from clinic_shared.worker import run_worker

from notifications.settings import load_settings
from notifications.worker import build_parts


class WaitsForCompany:
    def __init__(self):
        self.at_data = 0
        self.most_at_data = 0
        self.received = 0
        self.company = None  # an asyncio.Event, made on the server's loop

    async def handle_DATA(self, server, session, envelope):
        if self.company is None:
            self.company = asyncio.Event()
        self.at_data += 1
        self.most_at_data = max(self.most_at_data, self.at_data)
        if self.at_data >= 2:
            self.company.set()
        try:
            await asyncio.wait_for(self.company.wait(), timeout=10)
        except asyncio.TimeoutError:
            pass
        self.at_data -= 1
        self.received += 1
        return "250 OK"


@pytest.fixture
def slow_mail_server():
    handler = WaitsForCompany()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def test_two_messages_are_at_the_mail_server_at_once(system, clock, booking_data, amqp_url, topology_prefix,
                                                       slow_mail_server):
    handler, smtp_url = slow_mail_server
    settings = system.settings.with_overrides(broker_url=amqp_url, topology_prefix=topology_prefix,
                                              smtp_url=smtp_url)
    assert settings.dispatch_threads > 1
    for booking_id, client_id in (("b1", "c1"), ("b2", "c2")):
        system.deliver("booking.confirmed", booking_data(booking_id=booking_id, client_id=client_id))
    due = [row for row in system.messages() if row.not_before <= clock()]
    assert {row.booking_id for row in due} == {"b1", "b2"}

    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(build_parts(settings, clock), stop), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while handler.received < len(due) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(15)
    assert handler.received == len(due)
    assert handler.most_at_data >= 2


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_dispatch_threads_must_be_a_whole_number_of_one_or_more(text):
    with pytest.raises(ValueError, match="CLINIC_NOTIFICATIONS_DISPATCH_THREADS"):
        load_settings({"CLINIC_NOTIFICATIONS_DISPATCH_THREADS": text})
