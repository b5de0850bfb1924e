"""Idempotent consumer: each event's effect and its `event_id` are committed together.

The message is acked only after that commit. A redelivered event finds its id in the inbox and is
acked without doing anything again.

Events are handled in batches: what arrived together (up to the prefetch count, or within a few
milliseconds of the first) is handled in one transaction, each event still with its own inbox row, and
every message of the batch is acked after that commit. If the batch fails, its events are handled one
by one in their own transactions, as below, so one poison event is isolated and dead-lettered alone.

Failures are of two kinds (`failures.is_transient`). A database or broker that is down is waited
out: the same message is tried again in place with growing pauses, however long the outage lasts,
and is never dead-lettered for it; asked to stop meanwhile, the consumer leaves it unacked, so the
broker delivers it again later. An event that fails for any other reason is retried a bounded number
of times (the count travels in a header), then moved to the service's dead-letter queue; a malformed
one goes there at once. Never acked away, never requeued forever. What the log and the dead-letter
header say of a failure is its kind and the field names involved (`logs.describe_failure`), never the
exception's message: a validation or parsing error can quote the payload's values.

Inbox rows older than the retention (`prune_handled`, run by the worker) are deleted. A row is what makes
a redelivered event harmless, so it must outlive any redelivery: the broker redelivers within minutes
(an unacked message, a relay that published twice), and an event in the dead-letter queue was never
handled, so it has no row to lose. A week is far beyond that.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
import traceback
from datetime import datetime
from typing import Callable

from kombu import Connection, Producer
from kombu.mixins import ConsumerMixin
from marshmallow import ValidationError
from sqlalchemy import Column, MetaData, String, Table, bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .broker import RETRY_POLICY
from .db import UTCDateTime, dialect_insert, utcnow
from .events import UnknownEvent, parse_envelope
from .failures import GrowingPause, is_transient
from .logs import bind_correlation_id, describe_failure
from .topology import Topology

log = logging.getLogger(__name__)

# handler(session, data, envelope): does the event's effect inside the given transaction.
Handler = Callable[[Session, dict, dict], None]

ATTEMPTS_HEADER = "x-clinic-attempts"


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox", metadata,
        Column("event_id", String(36), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("handled_at", UTCDateTime(), nullable=False),
    )


class InboxProcessor:
    """Runs a handler for an envelope at most once per event_id. No broker involved: easy to test."""

    def __init__(self, session_factory: sessionmaker[Session], inbox: Table, handlers: dict[str, Handler]):
        self._sessions = session_factory
        self._inbox = inbox
        self._handlers = handlers
        # Built once, with bind parameters: building a statement and its cache key costs more than sending it.
        self._seen = select(inbox.c.event_id).where(inbox.c.event_id == bindparam("event_id"))
        # Look and record in one statement: a row already there (committed, or written earlier in this very
        # transaction) makes it insert nothing. On PostgreSQL a concurrent consumer's uncommitted row makes it
        # wait for that transaction: committed, nothing is inserted; rolled back, ours is.
        self._record_new = {dialect: dialect_insert(dialect, inbox).on_conflict_do_nothing(index_elements=["event_id"])
                            .execution_options(preserve_rowcount=True)
                            for dialect in ("postgresql", "sqlite")}

    @property
    def inbox(self) -> Table:
        return self._inbox

    def process(self, body: dict) -> bool:
        """Handle an event; False when it had been handled already (or is not ours)."""
        envelope, data = parse_envelope(body)
        if envelope["type"] not in self._handlers:
            return False
        try:
            with self._sessions() as session, session.begin():
                handled = self._handle(session, envelope, data)
        except IntegrityError:
            # A unique write collided with another consumer's (the inbox row itself waits for a consumer of
            # the same event instead of colliding): if that one committed this very event, it is handled.
            with self._sessions() as session:
                if session.execute(self._seen, {"event_id": envelope["event_id"]}).first():
                    return False
            raise
        if handled:
            log.info("handled %s %s", envelope["type"], envelope["event_id"])
        return handled

    def process_batch(self, bodies: list) -> None:
        """Handle several events in one transaction (each its own inbox row); any failure rolls back all.

        The caller then handles them one by one (`process`), which isolates the event that failed."""
        parsed = [parse_envelope(body) for body in bodies]
        handled = []
        with self._sessions() as session, session.begin():
            for envelope, data in parsed:
                if envelope["type"] in self._handlers:
                    bind_correlation_id(envelope.get("correlation_id"))
                    if self._handle(session, envelope, data):
                        handled.append(envelope)
        for envelope in handled:
            log.info("handled %s %s", envelope["type"], envelope["event_id"])

    def _handle(self, session: Session, envelope: dict, data: dict) -> bool:
        """The inbox row and the effect of one event, in the caller's transaction."""
        recorded = session.execute(self._record_new[session.get_bind().dialect.name], {
            "event_id": envelope["event_id"], "type": envelope["type"], "handled_at": utcnow()}).rowcount
        if not recorded:  # handled before, or earlier in this very batch
            log.info("skipped %s %s: handled before", envelope["type"], envelope["event_id"])
            return False
        self._handlers[envelope["type"]](session, data, envelope)
        return True


class EventConsumer(ConsumerMixin):
    """Consumes a service's queue through an InboxProcessor, in batches: outages waited out, bounded
    retries, a DLQ.

    `batch_size` is also the prefetch count: the broker never hands us more unacked messages than that.
    After the first message of a batch, whatever else arrives within `batch_wait` seconds joins it."""

    def __init__(self, connection: Connection, topology: Topology, service: str,
                 processor: InboxProcessor, max_attempts: int = 5, retry_delay: float = 0.5,
                 outage_pause: float = 0.5, outage_pause_max: float = 30.0,
                 batch_size: int = 20, batch_wait: float = 0.005):
        self.connection = connection
        self._topology = topology
        self._service = service
        self._processor = processor
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._outage_pauses = (outage_pause, outage_pause_max)
        self._batch_size = batch_size
        self._batch_wait = batch_wait
        self._batch: list = []  # (payload, message) received and not yet handled
        self._stopping = threading.Event()
        self._consuming_connection = None

    @property
    def should_stop(self) -> bool:  # kombu's ConsumerMixin polls this; an Event also wakes a pause at once
        return self._stopping.is_set()

    @should_stop.setter
    def should_stop(self, value: bool) -> None:
        self._stopping.set() if value else self._stopping.clear()

    def get_consumers(self, Consumer, channel):
        self._topology.declare(self.connection)
        consumer = Consumer(queues=[self._topology.queue(self._service)], callbacks=[self.on_message],
                            accept=["json"], prefetch_count=self._batch_size)
        return [consumer]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self._consuming_connection = connection  # the clone kombu consumes on: its heartbeats are ours to send
        self._batch.clear()  # a new connection: unacked messages of the old one are delivered again

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        """kombu's loop (ConsumerMixin.run calls it and reconnects around it), draining a batch at a time."""
        with self.consumer_context(**kwargs) as (connection, _channel, _consumers):
            while not self.should_stop:
                try:
                    connection.drain_events(timeout=safety_interval)  # wait for a first message
                except socket.timeout:
                    connection.heartbeat_check()
                    continue
                except OSError:
                    if self.should_stop:
                        break
                    raise
                self._gather(connection)
                self.handle_batch()
                yield

    def _gather(self, connection) -> None:
        deadline = time.monotonic() + self._batch_wait
        while len(self._batch) < self._batch_size and (remaining := deadline - time.monotonic()) > 0:
            try:
                connection.drain_events(timeout=remaining)
            except socket.timeout:
                return

    def on_message(self, body, message):
        try:
            payload = json.loads(body) if isinstance(body, (str, bytes)) else body
        except ValueError:
            payload = body if isinstance(body, str) else body.decode("utf-8", "replace")
        self._batch.append((payload, message))

    def handle_batch(self) -> None:
        """One transaction for the batch, then ack each message; if it fails, one event at a time."""
        batch, self._batch = self._batch, []
        if not batch:
            return
        if len(batch) > 1:
            try:
                self._processor.process_batch([payload for payload, _ in batch])
            except Exception as exc:
                log.info("a batch of %d events failed, handling them one by one: %s", len(batch),
                         describe_failure(exc))
            else:
                for _, message in batch:
                    message.ack()
                return
        for payload, message in batch:
            if self.should_stop:
                log.info("stopping: the events left stay unacked and will be delivered again")
                return
            self._handle_one(payload, message)

    def _handle_one(self, payload, message) -> None:
        bind_correlation_id(payload.get("correlation_id") if isinstance(payload, dict) else None)
        pause = GrowingPause(*self._outage_pauses, stopping=self._stopping)
        while True:
            try:
                self._processor.process(payload)
            except (ValidationError, UnknownEvent, KeyError, TypeError, AttributeError) as exc:
                failure = describe_failure(exc)
                log.error("malformed event %s, moved to dead-letter queue: %s", _event_id(payload), failure)
                self._dead_letter(payload, message, reason=f"malformed: {failure}")
                return
            except Exception as exc:
                if not is_transient(exc):
                    self._retry_or_dead_letter(payload, message, exc)
                    return
                log.warning("a backend is unavailable, trying the event again after a pause: %s", exc)
                # A lost broker connection raises out of the heartbeat: kombu reconnects, the event comes again.
                if not pause.wait(tick=self._heartbeat):
                    log.info("stopping: the event stays unacked and will be delivered again")
                    return
            else:
                message.ack()
                return

    def _heartbeat(self) -> None:
        # A long outage must not make RabbitMQ drop us for silence (we are inside drain_events, not polling).
        if self._consuming_connection is not None:
            self._consuming_connection.heartbeat_check()

    def _retry_or_dead_letter(self, payload, message, exc: Exception) -> None:
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
        failure, event_id = describe_failure(exc), _event_id(payload)
        if attempts >= self._max_attempts:
            # Where it failed (the frames, not the message): enough to find the cause, nothing of the payload.
            log.error("event %s failed %d times, moved to dead-letter queue: %s\n%s", event_id, attempts, failure,
                      "".join(traceback.format_tb(exc.__traceback__)))
            self._dead_letter(payload, message, reason=f"failed {attempts} times: {failure}")
        else:
            log.warning("event %s failed (attempt %d of %d), will retry: %s", event_id, attempts,
                        self._max_attempts, failure)
            time.sleep(self._retry_delay * attempts)
            self._republish(payload, message, {ATTEMPTS_HEADER: attempts},
                            self._topology.queue_name(self._service))

    def _republish(self, payload, message, headers: dict, queue_name: str) -> None:
        # Published to the queue itself through the default exchange, confirmed, then the
        # original is acked: a crash in between delivers twice, and the inbox absorbs that.
        producer = Producer(self.connection.default_channel)
        body = payload if isinstance(payload, str) else json.dumps(payload)
        producer.publish(body, exchange="", routing_key=queue_name, headers=headers,
                         content_type="application/json", content_encoding="utf-8",
                         delivery_mode=2, retry=True, retry_policy=RETRY_POLICY)
        message.ack()

    def _dead_letter(self, payload, message, reason: str) -> None:  # `reason` holds no payload value
        headers = dict(message.headers or {})
        headers["x-clinic-dead-letter-reason"] = reason[:500]
        self._republish(payload, message, headers, self._topology.dead_letter_queue_name(self._service))


def _event_id(payload) -> str | None:
    return payload.get("event_id") if isinstance(payload, dict) else None


def prune_handled(session_factory: sessionmaker[Session], inbox: Table, handled_before: datetime) -> int:
    """Delete the record of events handled before `handled_before` (see the module's docstring for why
    that is safe)."""
    with session_factory() as session, session.begin():
        return session.execute(delete(inbox).where(inbox.c.handled_at < handled_before)).rowcount
