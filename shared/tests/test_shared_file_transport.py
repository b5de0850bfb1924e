"""The embedded broker (clinic_shared.file_transport) between real processes: nothing lost, at least once."""
import importlib.util
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

from kombu import Consumer, Producer
from sqlalchemy import MetaData

from clinic_shared import file_transport
from clinic_shared.broker import Publisher, connect as connect_settings
from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.events import make_envelope
from clinic_shared.inbox import EventConsumer, InboxProcessor, inbox_table
from clinic_shared.settings import load_settings
from clinic_shared.testing import SCREENING_COMPLETED_SAMPLE
from clinic_shared.topology import Topology

_spec = importlib.util.spec_from_file_location("file_broker_traffic", Path(__file__).with_name("file_broker_traffic.py"))
traffic = sys.modules["file_broker_traffic"] = importlib.util.module_from_spec(_spec)  # also a script
_spec.loader.exec_module(traffic)

MESSAGES = 20_000


def test_every_message_arrives_exactly_once_between_processes(tmp_path):
    outcome = traffic.run("clinicfs", MESSAGES, folder=str(tmp_path))
    assert (outcome.lost, outcome.duplicates, outcome.consumer_errors) == (0, 0, 0)
    assert outcome.unique == MESSAGES


def test_two_competing_consumers_share_the_messages_without_loss(tmp_path):
    outcome = traffic.run("clinicfs", MESSAGES, consumers=2, folder=str(tmp_path))
    assert (outcome.lost, outcome.duplicates, outcome.consumer_errors) == (0, 0, 0)
    per_consumer = [len(Path(tmp_path, f"consumer-{n}.ids").read_text().split()) for n in range(2)]
    assert all(per_consumer), per_consumer  # both really consumed


def test_a_killed_consumer_loses_nothing_once_restarted(tmp_path):
    outcome = traffic.run("clinicfs", MESSAGES, kill_after=MESSAGES // 4, folder=str(tmp_path))
    assert outcome.lost == 0  # what the killed consumer held came back; the inbox absorbs the repeats
    assert outcome.duplicates <= 1  # at most the one recorded but not acked when the kill came
    assert not os.listdir(tmp_path / "queues" / ".unacked")  # all returned, all acked


# -- the same promises, one message at a time, in this process where possible --

def connect(tmp_path):
    return traffic.connect(str(tmp_path), "clinicfs", 0.01)


def publish(tmp_path, *ids):
    with connect(tmp_path) as connection:
        channel = connection.channel()
        traffic.QUEUE(channel).declare()
        for event_id in ids:
            Producer(channel).publish({"event_id": event_id}, exchange=traffic.EXCHANGE,
                                      routing_key="screening.completed")


def receive(connection, count, ack=True):
    got = []

    def on_message(body, message):
        got.append((body["event_id"], message))
        if ack:
            message.ack()

    with Consumer(connection.channel(), queues=[traffic.QUEUE], callbacks=[on_message], prefetch_count=10):
        while len(got) < count:
            connection.drain_events(timeout=5)
    return got


def queued(tmp_path):
    return sorted(n for n in os.listdir(tmp_path / "queues") if n.endswith(".msg"))


def take_one_and_die(tmp_path):
    with connect(tmp_path) as connection:
        receive(connection, 1, ack=False)
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_message_taken_by_a_killed_process_returns_to_the_queue(tmp_path):
    publish(tmp_path, "e1", "e2")
    process = multiprocessing.get_context("fork").Process(target=take_one_and_die, args=(tmp_path,))
    process.start()
    process.join(30)
    assert process.exitcode == -signal.SIGKILL
    [owner] = os.listdir(tmp_path / "queues" / ".unacked")
    assert len([n for n in os.listdir(tmp_path / "queues" / ".unacked" / owner) if n.endswith(".msg")]) >= 1

    with connect(tmp_path) as connection:
        got = receive(connection, 2)
    assert sorted(event_id for event_id, _ in got) == ["e1", "e2"]
    assert not os.listdir(tmp_path / "queues" / ".unacked")
    assert queued(tmp_path) == []


def test_a_live_consumers_unacked_messages_are_left_alone(tmp_path):
    publish(tmp_path, "e1")
    with connect(tmp_path) as holder:
        receive(holder, 1, ack=False)
        assert file_transport.recover_dead_consumers(str(tmp_path / "queues")) == 0
        assert queued(tmp_path) == []


def test_unacked_messages_go_back_on_a_clean_close_in_their_place(tmp_path):
    publish(tmp_path, "e1", "e2", "e3")
    before = queued(tmp_path)
    with connect(tmp_path) as connection:
        receive(connection, 3, ack=False)
        assert queued(tmp_path) == []
    assert queued(tmp_path) == before
    with connect(tmp_path) as connection:
        assert [event_id for event_id, _ in receive(connection, 3)] == ["e1", "e2", "e3"]
    assert queued(tmp_path) == []


def test_reject_requeues_or_drops_as_asked(tmp_path):
    publish(tmp_path, "e1", "e2")
    with connect(tmp_path) as connection:
        (first, m1), (second, m2) = receive(connection, 2, ack=False)
        m1.reject(requeue=True)
        m2.reject(requeue=False)
        assert len(queued(tmp_path)) == 1
        assert [event_id for event_id, _ in receive(connection, 1)] == [first]
    assert queued(tmp_path) == []
    assert not os.listdir(tmp_path / "queues" / ".unacked")


def test_an_unreadable_file_is_kept_aside_and_consuming_goes_on(tmp_path, caplog):
    publish(tmp_path, "before")
    broken = file_transport.message_filename(traffic.QUEUE.name)
    (tmp_path / "queues" / broken).write_text('{"body": "trunc')
    publish(tmp_path, "after")
    with caplog.at_level(logging.ERROR, logger="clinic_shared.file_transport"), connect(tmp_path) as connection:
        got = receive(connection, 2)
    assert [event_id for event_id, _ in got] == ["before", "after"]
    assert os.listdir(tmp_path / "queues" / ".unreadable") == [broken]
    assert broken in caplog.text


def test_the_service_consumer_skips_an_unreadable_file_and_keeps_running(tmp_path, caplog):
    settings = load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path)})
    topology = Topology(settings.topology_prefix)
    metadata = MetaData()
    inbox = inbox_table(metadata)
    engine = make_engine(settings.database_url)
    metadata.create_all(engine)
    publisher = Publisher(connect_settings(settings), topology)
    publisher.publish(make_envelope("screening.completed", SCREENING_COMPLETED_SAMPLE, "screening"))
    queues = tmp_path / "broker" / "queues"
    broken = file_transport.message_filename(topology.queue_name("booking"))
    (queues / broken).write_bytes(b"")  # what kombu's own transport let a consumer see mid-write
    publisher.publish(make_envelope("screening.completed", SCREENING_COMPLETED_SAMPLE, "screening"))

    seen = []
    processor = InboxProcessor(make_session_factory(engine), inbox,
                               {"screening.completed": lambda s, d, e: seen.append(e["event_id"])})
    consumer = EventConsumer(connect_settings(settings), topology, "booking", processor)
    thread = threading.Thread(target=consumer.run, daemon=True)
    with caplog.at_level(logging.ERROR, logger="clinic_shared.file_transport"):
        thread.start()
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = thread.is_alive()
        consumer.should_stop = True
        thread.join(10)
    engine.dispose()
    assert len(set(seen)) == 2 and alive
    assert os.listdir(queues / ".unreadable") == [broken] and broken in caplog.text
