"""Connections to the broker and a publisher that knows when a message is safe.

On RabbitMQ the publisher waits for the broker's confirm and messages are persistent; every
retry is bounded (kombu's defaults retry forever). On the embedded file transport all processes
share one folder under the data dir.
"""
from __future__ import annotations

import json

from kombu import Connection, Producer

from . import file_transport
from .settings import Settings
from .topology import Topology
from .ttl_cache import TtlCache

RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}


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
                      transport_options={"confirm_publish": True, "max_retries": 3})


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
    """Publishes envelopes to the events exchange; returns only once the broker has them."""

    def __init__(self, connection: Connection, topology: Topology):
        self._connection = connection
        self._topology = topology
        self._producer: Producer | None = None

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            self._connection.ensure_connection(max_retries=RETRY_POLICY["max_retries"])
            self._topology.declare(self._connection)
            self._producer = Producer(self._connection.default_channel)
        return self._producer

    def publish(self, envelope: dict, routing_key: str | None = None, exchange=None) -> None:
        producer = self._ensure_producer()
        try:
            producer.publish(
                json.dumps(envelope),
                exchange=self._topology.events if exchange is None else exchange,
                routing_key=routing_key or envelope["type"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=envelope.get("event_id"),
                retry=True,
                retry_policy=RETRY_POLICY,
            )
        except Exception:
            self._producer = None  # a fresh channel next time
            raise
