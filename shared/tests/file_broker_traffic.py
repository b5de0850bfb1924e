"""Traffic through a file broker between real processes, counting what is lost and what arrives twice.

Used by test_shared_file_transport.py, and runnable on its own to compare kombu's stock file transport
with ours on the same workload (issue #11's reproduction):

    .venv/bin/python shared/tests/file_broker_traffic.py [messages] [--fsync]

A publisher process sends numbered ~450-byte messages to a topic exchange; consumer processes record
each message's id (flushed to a file) before acking it, as the inbox does with its commit. A message
is lost when no consumer ever recorded its id.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kombu import Connection, Consumer, Exchange, Producer, Queue

from clinic_shared import file_transport

EXCHANGE = Exchange("events", type="topic", durable=True)
QUEUE = Queue("booking", exchange=EXCHANGE, routing_key="screening.#", durable=True)
FILLER = "x" * 300  # with the envelope, about 450 bytes a message, as a screening event


def connect(folder: str, transport: str, polling_interval: float) -> Connection:
    """`transport`: "stock" (kombu's), "clinicfs" (ours, without fsync) or "clinicfs+fsync" (as deployed).

    fsync only matters when the machine itself stops, which these processes cannot simulate; on a busy
    disk it makes 20,000 publishes take minutes, so the stress tests leave it out."""
    url = "filesystem://" if transport == "stock" else f"{file_transport.register()}://"
    queues, control = os.path.join(folder, "queues"), os.path.join(folder, "control")
    os.makedirs(queues, exist_ok=True)
    os.makedirs(control, exist_ok=True)
    return Connection(url, transport_options={
        "data_folder_in": queues, "data_folder_out": queues, "control_folder": control,
        "polling_interval": polling_interval, "fsync": transport == "clinicfs+fsync"})


def _declare(folder: str, transport: str) -> None:
    with connect(folder, transport, 0.1) as connection:
        QUEUE(connection.channel()).declare()


def publish(folder: str, transport: str, count: int) -> None:
    with connect(folder, transport, 0.1) as connection:
        channel = connection.channel()
        QUEUE(channel).declare()
        producer = Producer(channel)
        for i in range(count):
            producer.publish(json.dumps({"event_id": f"e{i}", "type": "screening.completed", "filler": FILLER}),
                             exchange=EXCHANGE, routing_key="screening.completed",
                             content_type="application/json", content_encoding="utf-8")


def consume(folder: str, transport: str, record: str, publisher_done, idle_seconds: float,
            polling_interval: float) -> None:
    """Record ids until the publisher is done and nothing came for `idle_seconds`; survive any error."""
    errors = 0
    with connect(folder, transport, polling_interval) as connection, open(record, "a") as out:
        channel = connection.channel()

        def on_message(body, message):
            out.write(body["event_id"] + "\n")
            out.flush()  # recorded before the ack, as the inbox commits before acking
            message.ack()

        consumer = Consumer(channel, queues=[QUEUE], callbacks=[on_message], accept=["json"], prefetch_count=10)
        consumer.consume()
        last = time.monotonic()
        while not (publisher_done.is_set() and time.monotonic() - last > idle_seconds):
            try:
                connection.drain_events(timeout=0.2)
                last = time.monotonic()
            except TimeoutError:
                pass
            except Exception as exc:  # stock kombu: the JSONDecodeError of a half-written file
                errors += 1
                print(f"consumer error {errors}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    with open(record + ".errors", "w") as f:
        f.write(str(errors))


@dataclass
class Outcome:
    sent: int
    received: int  # ids recorded, counting repeats
    unique: int
    consumer_errors: int
    seconds: float
    held_when_killed: int = 0  # messages the killed consumer had taken but not acked (our transport)

    @property
    def lost(self) -> int:
        return self.sent - self.unique

    @property
    def duplicates(self) -> int:
        return self.received - self.unique


def run(transport: str, count: int, consumers: int = 1, kill_after: int | None = None,
        polling_interval: float = 0.001, idle_seconds: float = 2.0, folder: str | None = None,
        timeout: float = 120.0) -> Outcome:
    """Publish `count` messages while `consumers` processes consume them. With `kill_after`, the first
    consumer is SIGKILLed once it has recorded that many ids, and started again."""
    context = multiprocessing.get_context("fork")
    folder = folder or tempfile.mkdtemp(prefix="file-broker-")
    # The queue exists before anyone publishes; declared in a child, as kombu's stock transport keeps
    # declared bindings per process and would skip writing them for a later folder.
    declare = context.Process(target=_declare, args=(folder, transport))
    declare.start()
    declare.join()
    done = context.Event()
    records = [os.path.join(folder, f"consumer-{n}.ids") for n in range(consumers)]

    def start_consumer(record: str):
        process = context.Process(target=consume, args=(folder, transport, record, done, idle_seconds,
                                                        polling_interval))
        process.start()
        return process

    started = time.monotonic()
    deadline = started + timeout
    processes = [start_consumer(record) for record in records]
    publisher = context.Process(target=publish, args=(folder, transport, count))
    publisher.start()
    if kill_after is not None:
        while _lines(records[0]) < kill_after and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(processes[0].pid, signal.SIGKILL)
        processes[0].join()
        held = sum(len([n for n in files if n.endswith(".msg")])
                   for _, _, files in os.walk(os.path.join(folder, "queues", file_transport.UNACKED)))
        processes[0] = start_consumer(records[0])
    publisher.join(max(0.0, deadline - time.monotonic()))
    done.set()
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in [publisher, *processes]:
        if process.is_alive():
            process.kill()
            raise TimeoutError(f"traffic through {transport} did not finish within {timeout} s")
    seconds = time.monotonic() - started
    ids = [line for record in records for line in Path(record).read_text().split()]
    errors = sum(int(Path(r + ".errors").read_text()) for r in records if Path(r + ".errors").exists())
    return Outcome(sent=count, received=len(ids), unique=len(set(ids)), consumer_errors=errors, seconds=seconds,
                   held_when_killed=held if kill_after is not None else 0)


def _lines(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    count = int(numbers[0]) if numbers else 20_000
    for transport in ("stock", "clinicfs", *(["clinicfs+fsync"] if "--fsync" in sys.argv else [])):
        # The crash run is smaller: kombu's transport lists and sorts the whole folder for every message,
        # so the backlog a killed consumer leaves makes it quadratic.
        for sent, kill_after in ((count, None), (count // 4, count // 16)):
            outcome = run(transport, sent, kill_after=kill_after, timeout=600)
            crash = f"consumer killed after {kill_after}" if kill_after else "no crash"
            print(f"{transport:14} {crash:30} sent {outcome.sent}  received {outcome.unique} distinct  "
                  f"lost {outcome.lost}  duplicates {outcome.duplicates}  consumer errors {outcome.consumer_errors}  "
                  f"held when killed {outcome.held_when_killed}  ({outcome.seconds:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
