"""Exchanges, queues and bindings: one description, declared by every process at start.

- `<prefix>.events`: the topic exchange every event is published to (routing key = event type).
- `<prefix>.<service>`: one durable queue per consuming service, bound to the keys it consumes.
- `<prefix>.<service>.dlq`: its dead-letter queue, behind the `<prefix>.dead-letter` exchange;
  a message that failed too often ends there, kept for a person to look at.

kombu's file transport only routes a topic exchange the publishing process itself declared, so
publishers declare the whole topology too.

With `quorum` (CLINIC_QUORUM_QUEUES, on in docker-compose.yml) both queues are RabbitMQ quorum queues,
replicated over the cluster's nodes so that one node can fail without losing a message. A message the
broker has handed out `delivery_limit` times without an ack (its consumer died each time) is
dead-lettered, at-least-once: the dead-letter queue confirms it before the queue lets it go. Our own
consumer counts the failures it sees (inbox.py); the broker's limit catches a message that kills its
consumer. RabbitMQ cannot turn a classic queue into a quorum queue, so these queues have names of their
own (`<prefix>.<service>.quorum`, `….quorum.dlq`); README "Quorum queues" says how to move an existing
installation over.
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
    # booking also hears its own freeing changes: they lead to waitlist offers (booking README "Waitlist").
    "booking": ("screening.completed", "screening.cleared", "client.erasure_requested", "booking.cancelled",
                "booking.rescheduled", "closure.deleted"),
    "notifications": (
        "screening.completed",
        "screening.cleared",
        "booking.confirmed",
        "booking.cancelled",
        "booking.rescheduled",
        "booking.completed",
        "waitlist.offered",
        "client.sign_in_requested",
        "client.erasure_requested",
    ),
    "staff": ("audit.recorded",),  # the audit trail: what every service's staff did
}


# Deliveries without an ack before the broker dead-letters a message. High: a stopped or killed worker
# returns all of its prefetched messages (counted for each), and a restart is not the message's fault.
DELIVERY_LIMIT = 50


@dataclass(frozen=True)
class Topology:
    prefix: str = "clinic"
    quorum: bool = False
    delivery_limit: int = DELIVERY_LIMIT

    @classmethod
    def of(cls, settings) -> "Topology":
        """The topology a service's settings ask for: quorum queues only on RabbitMQ (the file transport has none)."""
        return cls(settings.topology_prefix, quorum=settings.quorum_queues and not settings.uses_file_broker)

    @property
    def events(self) -> Exchange:
        return Exchange(f"{self.prefix}.events", type="topic", durable=True)

    @property
    def dead_letter(self) -> Exchange:
        return Exchange(f"{self.prefix}.dead-letter", type="direct", durable=True)

    def queue_name(self, service: str) -> str:
        return f"{self.prefix}.{service}.quorum" if self.quorum else f"{self.prefix}.{service}"

    def dead_letter_queue_name(self, service: str) -> str:
        return f"{self.queue_name(service)}.dlq"

    def _queue_type(self) -> dict:
        return {"x-queue-type": "quorum"} if self.quorum else {}

    def queue(self, service: str) -> Queue:
        name = self.queue_name(service)
        return Queue(
            name,
            bindings=[binding(self.events, routing_key=key) for key in CONSUMES[service]],
            durable=True,
            queue_arguments={
                "x-dead-letter-exchange": self.dead_letter.name,
                "x-dead-letter-routing-key": self.dead_letter_queue_name(service),
                **self._quorum_arguments(),
            },
        )

    def _quorum_arguments(self) -> dict:
        if not self.quorum:
            return {}
        # at-least-once dead-lettering needs reject-publish: a full queue refuses a publish (the publisher's
        # confirm fails and it retries) instead of dropping its oldest message.
        return {**self._queue_type(), "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}

    def dead_letter_queue(self, service: str) -> Queue:
        name = self.dead_letter_queue_name(service)
        return Queue(name, exchange=self.dead_letter, routing_key=name, durable=True,
                     queue_arguments=self._queue_type())

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

