"""Exchanges, queues and bindings: one description, declared by every process at start.

- `<prefix>.events`: the topic exchange every event is published to (routing key = event type).
- `<prefix>.<service>`: one durable queue per consuming service, bound to the keys it consumes.
- `<prefix>.<service>.dlq`: its dead-letter queue, behind the `<prefix>.dead-letter` exchange;
  a message that failed too often ends there, kept for a person to look at.

kombu's file transport only routes a topic exchange the publishing process itself declared, so
publishers declare the whole topology too.
"""
from __future__ import annotations

from dataclasses import dataclass

from kombu import Connection, Exchange, Queue, binding

BOOKING_EVENTS = ("booking.confirmed", "booking.cancelled", "booking.rescheduled", "booking.completed")

# Which event types each service consumes.
CONSUMES: dict[str, tuple[str, ...]] = {
    # The erasure record's owner hears each service's report; booking events tell it a client is active
    # (the retention job's measure).
    "screening": ("client.erased", *BOOKING_EVENTS),
    "booking": ("screening.completed", "screening.cleared", "client.erasure_requested"),
    "notifications": (
        "screening.completed",
        "screening.cleared",
        "booking.confirmed",
        "booking.cancelled",
        "booking.rescheduled",
        "booking.completed",
        "client.erasure_requested",
    ),
    "staff": ("audit.recorded",),  # the audit trail: what every service's staff did
}


@dataclass(frozen=True)
class Topology:
    prefix: str = "clinic"

    @property
    def events(self) -> Exchange:
        return Exchange(f"{self.prefix}.events", type="topic", durable=True)

    @property
    def dead_letter(self) -> Exchange:
        return Exchange(f"{self.prefix}.dead-letter", type="direct", durable=True)

    def queue_name(self, service: str) -> str:
        return f"{self.prefix}.{service}"

    def dead_letter_queue_name(self, service: str) -> str:
        return f"{self.prefix}.{service}.dlq"

    def queue(self, service: str) -> Queue:
        name = self.queue_name(service)
        return Queue(
            name,
            bindings=[binding(self.events, routing_key=key) for key in CONSUMES[service]],
            durable=True,
            queue_arguments={
                "x-dead-letter-exchange": self.dead_letter.name,
                "x-dead-letter-routing-key": self.dead_letter_queue_name(service),
            },
        )

    def dead_letter_queue(self, service: str) -> Queue:
        name = self.dead_letter_queue_name(service)
        return Queue(name, exchange=self.dead_letter, routing_key=name, durable=True)

    def all_queues(self) -> list[Queue]:
        return [q for service in CONSUMES for q in (self.queue(service), self.dead_letter_queue(service))]

    def declare(self, connection: Connection) -> None:
        channel = connection.default_channel
        self.events(channel).declare()
        self.dead_letter(channel).declare()
        for queue in self.all_queues():
            queue(channel).declare()

    def delete(self, connection: Connection) -> None:
        """Remove everything this topology declared (tests clean up after themselves)."""
        channel = connection.default_channel
        for queue in self.all_queues():
            queue(channel).delete()
        self.events(channel).delete()
        self.dead_letter(channel).delete()

