"""Quorum queues (CLINIC_QUORUM_QUEUES) on the local RabbitMQ: what the broker declares, its delivery limit
dead-lettering a message no consumer acks, and the outbox-to-inbox path through them."""
import re
import threading
import time

import amqp
import pytest
from kombu import Connection, Queue
from sqlalchemy import MetaData

from clinic_shared.broker import Publisher, connect
from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.events import make_envelope
from clinic_shared.inbox import EventConsumer, InboxProcessor, inbox_table
from clinic_shared.settings import load_settings
from clinic_shared.testing import SCREENING_COMPLETED_SAMPLE, drain_queue
from clinic_shared.topology import Topology



def wait_for(predicate, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def quorum_settings(tmp_path, amqp_url, topology_prefix):
    return load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_TOPOLOGY_PREFIX": topology_prefix,
                                     "CLINIC_BROKER_URL": amqp_url, "CLINIC_QUORUM_QUEUES": "1"})


def declared_type(connection: Connection, queue: Queue) -> str:
    """The type RabbitMQ holds queue `queue` to be: it refuses to redeclare it as a classic queue with the
    same arguments otherwise, and says what it is."""
    arguments = {**(queue.queue_arguments or {}), "x-queue-type": "classic"}
    channel = connection.channel()
    try:
        channel.queue_declare(queue.name, durable=True, auto_delete=False, arguments=arguments)
        return "classic"
    except amqp.exceptions.PreconditionFailed as refused:
        found = re.search(r"inequivalent arg 'x-queue-type'.*current is '(\w+)'", str(refused))
        return found.group(1) if found else str(refused)
    finally:
        if channel.is_open:
            channel.close()


def test_the_setting_chooses_quorum_queues_on_rabbitmq_only(quorum_settings, tmp_path):
    assert Topology.of(quorum_settings).quorum
    on_files = load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_QUORUM_QUEUES": "1"})
    assert not Topology.of(on_files).quorum
    with pytest.raises(ValueError, match="CLINIC_QUORUM_QUEUES"):
        load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_QUORUM_QUEUES": "maybe"})


def test_the_broker_declares_quorum_queues_beside_the_classic_ones(quorum_settings, topology_prefix):
    quorum, classic = Topology.of(quorum_settings), Topology(topology_prefix)
    with connect(quorum_settings) as connection:
        quorum.declare(connection)
        classic.declare(connection)  # an installation moving over has both for a while: no clash of names
        for service in ("booking", "notifications", "staff"):
            assert declared_type(connection, quorum.queue(service)) == "quorum"
            assert declared_type(connection, quorum.dead_letter_queue(service)) == "quorum"
            assert declared_type(connection, classic.queue(service)) == "classic"


def test_a_message_handed_out_too_often_without_an_ack_is_dead_lettered(quorum_settings, topology_prefix):
    topology = Topology(topology_prefix, quorum=True, delivery_limit=2)
    with connect(quorum_settings) as connection:
        topology.declare(connection)
        Publisher(connection, topology).publish({"type": "screening.completed", "event_id": "e-poison"})
        queue = connection.SimpleQueue(topology.queue("booking"), no_ack=False)
        deliveries = 0
        while True:  # a consumer that dies on the message each time: returned without an ack
            try:
                message = queue.get(timeout=3)
            except queue.Empty:
                break
            deliveries += 1
            message.requeue()
        queue.close()
        dead_letters = connection.SimpleQueue(topology.dead_letter_queue("booking"), no_ack=False)
        dead = dead_letters.get(timeout=5)
        dead.ack()
        dead_letters.close()
    assert deliveries == 3  # the first delivery, then the two more the limit allows
    assert dead.payload["event_id"] == "e-poison"


class Consuming:
    """An EventConsumer on the quorum topology, in a thread, for a `with` block."""

    def __init__(self, settings, handler, **options):
        self.engine = make_engine(f"sqlite:///{settings.data_dir / 'inbox.db'}")
        inbox = inbox_table(MetaData())
        inbox.metadata.create_all(self.engine)
        processor = InboxProcessor(make_session_factory(self.engine), inbox, {"screening.completed": handler})
        self.consumer = EventConsumer(connect(settings), Topology.of(settings), "booking", processor,
                                      retry_delay=0.01, **options)
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.consumer.should_stop = True
        self.thread.join(10)
        self.engine.dispose()


def test_events_reach_the_inbox_once_through_quorum_queues(quorum_settings):
    envelope = make_envelope("screening.completed", SCREENING_COMPLETED_SAMPLE, "screening", "r1")
    publisher = Publisher(connect(quorum_settings), Topology.of(quorum_settings))
    seen = []
    with Consuming(quorum_settings, lambda session, data, received: seen.append(received["event_id"])):
        publisher.publish(envelope)
        publisher.publish(envelope)  # a repeat: the inbox handles it once
        assert wait_for(lambda: seen)
        assert not wait_for(lambda: len(seen) > 1, seconds=1)
    assert seen == [envelope["event_id"]]


def test_an_event_that_keeps_failing_ends_in_the_quorum_dead_letter_queue(quorum_settings):
    attempts = []

    def fails(session, data, received):
        attempts.append(1)
        raise RuntimeError("a bug")

    envelope = make_envelope("screening.completed", SCREENING_COMPLETED_SAMPLE, "screening")
    Publisher(connect(quorum_settings), Topology.of(quorum_settings)).publish(envelope)
    with Consuming(quorum_settings, fails, max_attempts=3):
        assert wait_for(lambda: len(attempts) >= 3)
    dead = drain_queue(quorum_settings, Topology.of(quorum_settings).dead_letter_queue("booking"))
    assert [payload["event_id"] for payload, _ in dead] == [envelope["event_id"]]
    assert len(attempts) == 3
