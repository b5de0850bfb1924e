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

# Which event types each service consumes. The screening service consumes nothing yet.
CONSUMES: dict[str, tuple[str, ...]] = {
    # booking also hears its own freeing changes: they lead to waitlist offers (booking README "Waitlist").
    "booking": ("screening.completed", "screening.cleared", "booking.cancelled", "booking.rescheduled",
                "closure.deleted"),
    "notifications": (
        "screening.completed",
        "screening.cleared",
        "booking.confirmed",
        "booking.cancelled",
        "booking.rescheduled",
        "booking.completed",
        "waitlist.offered",
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

