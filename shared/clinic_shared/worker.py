"""The worker process every service runs: outbox relay, event consumer, and any periodic job.

Every worker also prunes its service's published outbox rows and inbox rows older than
`CLINIC_MESSAGE_RETENTION_DAYS` (default 7), once at start and then every hour.

Each loop runs in its own thread with its own broker connection (kombu connections are not
thread-safe). SIGTERM or SIGINT stops them all; whatever was not acked is redelivered later.

The relay, and any periodic job given a `wake_channel`, is woken by a NOTIFY on PostgreSQL
(clinic_shared.wakeups) as soon as a transaction with work for it commits; its interval is then only
the fallback poll (and the poll itself on SQLite).
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from .broker import Publisher, connect
from .db import utcnow
from .heartbeat import BEAT_INTERVAL_SECONDS, Heartbeat
from .inbox import EventConsumer, InboxProcessor, prune_handled
from .outbox import OUTBOX_CHANNEL, OutboxRelay, prune_published
from .settings import Settings
from .topology import Topology
from .wakeups import Listener

log = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class Periodic:
    """A job the worker runs every `interval` seconds, and at once when `wake_channel` is notified."""

    job: Callable[[], object]
    interval: float = 1.0
    wake_channel: str | None = None


@dataclass
class WorkerParts:
    """What a service hands to `run_worker`; built by the service's composition root."""

    settings: Settings
    session_factory: object
    outbox: object  # the outbox Table
    processor: InboxProcessor | None = None  # None: the service consumes no events
    periodic: list[Callable[[], object] | Periodic] = field(default_factory=list)  # e.g. the e-mail dispatcher
    heartbeat: object | None = None  # the worker_heartbeat Table: /health reads it to know we are alive
    relay_interval: float = 0.2  # the relay's poll; on PostgreSQL only a fallback to its wake-up
    consumer_options: dict = field(default_factory=dict)  # EventConsumer's batch_size, batch_wait, ...


def every(interval: float, job: Callable[[], object], stop: threading.Event, name: str,
          wake: Listener | None = None) -> None:
    """Run `job` until `stop` is set; a failure is logged and retried with a growing pause.

    With `wake`, a notification (one that came while the job ran included) ends the wait early."""
    failures = 0
    while not stop.is_set():
        try:
            job()
            failures = 0
            wake.wait(interval) if wake is not None else stop.wait(interval)
        except Exception:
            failures += 1
            log.exception("%s failed (%d in a row)", name, failures)
            stop.wait(min(30.0, interval * 2 ** min(failures, 8)))


def message_pruner(parts: WorkerParts) -> Callable[[], tuple[int, int]]:
    """The job deleting this service's outbox rows published, and inbox rows handled, before the retention."""
    retention = timedelta(days=parts.settings.message_retention_days)

    def prune_messages() -> tuple[int, int]:
        before = utcnow() - retention
        outbox = prune_published(parts.session_factory, parts.outbox, before)
        inbox = prune_handled(parts.session_factory, parts.processor.inbox, before) if parts.processor else 0
        if outbox or inbox:
            log.info("pruned %d outbox and %d inbox rows older than %s", outbox, inbox, retention)
        return outbox, inbox

    return prune_messages


def run_worker(parts: WorkerParts, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    topology = Topology.of(parts.settings)
    threads = []

    engine = parts.session_factory.kw["bind"]
    listeners = []

    def listener(channel: str) -> Listener:
        listeners.append(Listener(engine, channel, stop))
        return listeners[-1]

    relay_connection = connect(parts.settings)
    relay = OutboxRelay(parts.session_factory, parts.outbox, Publisher(relay_connection, topology))
    threads.append(threading.Thread(target=every, args=(parts.relay_interval, relay.relay_once, stop, "outbox relay",
                                                        listener(OUTBOX_CHANNEL)),
                                    name="outbox-relay", daemon=True))
    for periodic in parts.periodic:
        if not isinstance(periodic, Periodic):
            periodic = Periodic(periodic)
        name = getattr(periodic.job, "__name__", "job")
        wake = listener(periodic.wake_channel) if periodic.wake_channel else None
        threads.append(threading.Thread(target=every, args=(periodic.interval, periodic.job, stop, name, wake),
                                        name=name, daemon=True))

    threads.append(threading.Thread(target=every, args=(PRUNE_INTERVAL_SECONDS, message_pruner(parts), stop,
                                                        "message pruning"), name="message-pruning", daemon=True))

    if parts.heartbeat is not None:
        beat = Heartbeat(parts.session_factory, parts.heartbeat).beat
        threads.append(threading.Thread(target=every, args=(BEAT_INTERVAL_SECONDS, beat, stop, "heartbeat"),
                                        name="heartbeat", daemon=True))

    consumer = None
    if parts.processor is not None:
        consumer = EventConsumer(connect(parts.settings), topology, parts.settings.service, parts.processor,
                                 **parts.consumer_options)
        threads.append(threading.Thread(target=_consume, args=(consumer, stop), name="consumer", daemon=True))

    def _stop(signum, _frame):
        log.info("signal %s: stopping", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    for thread in threads:
        thread.start()
    log.info("worker of %s started", parts.settings.service)
    alive_file = parts.settings.worker_alive_file
    while not stop.is_set():
        if alive_file is not None and all(thread.is_alive() for thread in threads):
            alive_file.touch()  # the container's health check reads its age (clinic_shared.healthcheck)
        stop.wait(0.5)
    if consumer is not None:
        consumer.should_stop = True
    for thread in threads:
        thread.join(timeout=10)
    relay_connection.release()
    for each in listeners:
        each.close()
    log.info("worker of %s stopped", parts.settings.service)


def _consume(consumer: EventConsumer, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            consumer.run()  # reconnects by itself; returns when should_stop is set
        except Exception:
            log.exception("consumer stopped unexpectedly; restarting")
            time.sleep(1)
        if consumer.should_stop:
            return
