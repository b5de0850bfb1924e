"""Through a real RabbitMQ: the worker (consumer + dispatcher + relay) turns a published event into
e-mails once, even when the broker delivers it twice."""
import threading
import time
from email import message_from_bytes, policy

from kombu import Connection

from clinic_shared.broker import Publisher, connect
from clinic_shared.events import make_envelope
from clinic_shared.inbox import EventConsumer
from clinic_shared.topology import Topology
from clinic_shared.worker import run_worker

from notifications.worker import build_parts


def wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_event_consumer_handles_a_duplicate_once(system, booking_data, amqp_url, topology_prefix):
    settings = system.settings.with_overrides(broker_url=amqp_url, topology_prefix=topology_prefix)
    envelope = make_envelope("booking.confirmed", booking_data(), producer="booking")
    publisher = Publisher(connect(settings), Topology(topology_prefix))
    publisher.publish(envelope)
    publisher.publish(envelope)  # redelivered
    consumer = EventConsumer(Connection(amqp_url), Topology(topology_prefix), "notifications", system.processor)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: len(system.messages("b1")) == 5)
        time.sleep(1.0)  # time for the duplicate to arrive and be skipped
    finally:
        consumer.should_stop = True
        thread.join(10)
    assert len(system.messages("b1")) == 5


def test_worker_sends_what_an_event_asks_for(system, clock, booking_data, amqp_url, topology_prefix):
    settings = system.settings.with_overrides(broker_url=amqp_url, topology_prefix=topology_prefix)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(build_parts(settings, clock), stop), daemon=True)
    worker.start()
    try:
        Publisher(connect(settings), Topology(topology_prefix)).publish(
            make_envelope("booking.cancelled", booking_data(status="cancelled"), producer="booking"))
        assert wait_for(lambda: any(r.kind == "cancellation" and r.status == "sent"
                                    for r in system.messages("b1")))
    finally:
        stop.set()
        worker.join(15)
    [eml] = list(settings.outbox_dir.glob("*.eml"))
    email = message_from_bytes(eml.read_bytes(), policy=policy.default)
    [invite] = list(email.iter_attachments())
    assert "METHOD:CANCEL" in invite.get_content() and "cancelled" in email["Subject"]
