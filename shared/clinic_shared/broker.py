"""Connections to the broker and a publisher that knows when a message is safe.

On RabbitMQ the publisher waits for the broker's confirm and messages are persistent; every
retry is bounded (kombu's defaults retry forever), and so is every wait: connecting, each socket
read and write, each confirm, and one publish over all its retries. A broker that accepts the
connection and then never answers (blocked by an alarm, hung) makes a publish fail, never hang
while the caller holds a database transaction. On the embedded file transport all processes
share one folder under the data dir.
"""
from __future__ import annotations

import json
import time

from kombu import Connection, Producer

from . import file_transport
from .settings import Settings
from .topology import Topology
from .ttl_cache import TtlCache

RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}
SOCKET_TIMEOUT = 10.0  # seconds any one read or write on the AMQP socket may block
PUBLISH_TIMEOUT = 10.0  # seconds to write one message and to wait for its confirm
PUBLISH_GIVE_UP = 30.0  # seconds one publish may take over all its retries


def connect(settings: Settings) -> Connection:
    if settings.uses_file_broker:
        queues = settings.data_dir / "broker" / "queues"
        control = settings.data_dir / "broker" / "control"
        queues.mkdir(parents=True, exist_ok=True)
        control.mkdir(parents=True, exist_ok=True)
        # Not kombu's own filesystem transport: ours publishes atomically and keeps a message until acked.
        return Connection(f"{file_transport.register()}://", transport_options={
            "data_folder_in": str(queues),
            "data_folder_out": str(queues),
            "control_folder": str(control),
            "polling_interval": 0.1,
        })
    return Connection(settings.broker_url, heartbeat=30, connect_timeout=5,
                      transport_options={"confirm_publish": True, "max_retries": 3,
                                         "read_timeout": SOCKET_TIMEOUT, "write_timeout": SOCKET_TIMEOUT})


# Every /health asks for the broker, and the gateway's /api/health asks every service's /health on each
# call: one broker connection per process per second answers them all.
BROKER_CHECK_SECONDS = 1.0
_recent_broker_checks = TtlCache(BROKER_CHECK_SECONDS)


def broker_ok(settings: Settings) -> bool:
    """Whether the broker takes a connection, as found at most BROKER_CHECK_SECONDS ago."""
    return _recent_broker_checks.get((settings.broker_url, str(settings.data_dir)),
                                     lambda: broker_reachable(settings))


def broker_reachable(settings: Settings) -> bool:
    try:
        with connect(settings) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
        return True
    except Exception:
        return False


class Publisher:
    """Publishes envelopes to the events exchange; returns only once the broker has them, or raises in bounded time."""

    def __init__(self, connection: Connection, topology: Topology, timeout: float = PUBLISH_TIMEOUT,
                 give_up_after: float = PUBLISH_GIVE_UP):
        self._connection = connection
        self._topology = topology
        self._timeout = timeout
        self._give_up_after = give_up_after
        self._producer: Producer | None = None

    def _ensure_producer(self, errback) -> Producer:
        if self._producer is None:
            self._connection.ensure_connection(errback=errback, max_retries=RETRY_POLICY["max_retries"],
                                               timeout=self._give_up_after)
            self._topology.declare(self._connection)
            self._producer = Producer(self._connection.default_channel)
        return self._producer

    def publish(self, envelope: dict, routing_key: str | None = None, exchange=None) -> None:
        self.publish_json(json.dumps(envelope), routing_key or envelope["type"], envelope.get("event_id"), exchange)

    def publish_json(self, body: str, routing_key: str, message_id: str | None = None, exchange=None) -> None:
        """`publish` of an envelope already in JSON (an outbox row's body): not parsed and written again."""
        deadline = time.monotonic() + self._give_up_after

        def give_up_when_late(exc, interval):  # kombu calls this before each retry: stop retrying past the deadline
            if time.monotonic() + interval >= deadline:
                raise exc

        try:
            producer = self._ensure_producer(give_up_when_late)
            producer.publish(
                body,
                exchange=self._topology.events if exchange is None else exchange,
                routing_key=routing_key,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=message_id,
                timeout=self._timeout,  # the write
                confirm_timeout=self._timeout,  # the broker's confirm (py-amqp); the file transport has none
                retry=True,
                retry_policy={**RETRY_POLICY, "errback": give_up_when_late},
            )
        except Exception:
            self._producer = None  # a fresh channel next time,
            self._connection.collect()  # on a fresh connection: this one may be stuck mid-frame
            raise
