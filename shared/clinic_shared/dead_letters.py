"""Look at a service's dead-letter queue and put its messages back, once the cause is fixed.

    python -m clinic_shared.dead_letters list booking      # one JSON line per message, left in place
    python -m clinic_shared.dead_letters replay booking    # moved back to the service's queue

A replayed event goes through the inbox like any other, so one that had been handled after all is
not handled twice. The retry count starts again from zero.
"""
from __future__ import annotations

import argparse
import json
import sys

from kombu import Connection, Producer

from .broker import RETRY_POLICY, connect
from .inbox import ATTEMPTS_HEADER
from .settings import load_settings
from .topology import CONSUMES, Topology

REASON_HEADER = "x-clinic-dead-letter-reason"


def _summary(message) -> dict:
    payload = message.payload if isinstance(message.payload, dict) else {"body": str(message.payload)[:200]}
    headers = message.headers or {}
    return {"event_id": payload.get("event_id"), "type": payload.get("type"),
            "correlation_id": payload.get("correlation_id"), "reason": headers.get(REASON_HEADER),
            "attempts": headers.get(ATTEMPTS_HEADER)}


def peek(connection: Connection, topology: Topology, service: str, limit: int = 1000) -> list[dict]:
    """Summaries of the waiting messages; every one stays in the queue.

    Nothing is acked, and the channel is closed at the end: the broker then returns every message it
    handed out, including any it had pushed ahead to this consumer.
    """
    channel = connection.channel()
    queue = connection.SimpleQueue(topology.dead_letter_queue(service), no_ack=False, channel=channel)
    held = []
    try:
        while len(held) < limit:
            try:
                held.append(queue.get(timeout=0.5))
            except queue.Empty:
                break
        return [_summary(message) for message in held]
    finally:
        queue.close()
        channel.close()


def replay(connection: Connection, topology: Topology, service: str) -> int:
    """Move every waiting message back to the service's own queue; return how many moved."""
    channel = connection.channel()  # closed at the end: whatever was not acked goes back to the queue
    queue = connection.SimpleQueue(topology.dead_letter_queue(service), no_ack=False, channel=channel)
    producer = Producer(connection.default_channel)
    moved = 0
    try:
        while True:
            try:
                message = queue.get(timeout=0.5)
            except queue.Empty:
                return moved
            headers = {k: v for k, v in (message.headers or {}).items() if k not in (ATTEMPTS_HEADER, REASON_HEADER)}
            # Published (with confirms on RabbitMQ) before the dead letter is acked: never lost in between.
            producer.publish(message.body, exchange="", routing_key=topology.queue_name(service),
                             headers=headers, content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2,
                             retry=True, retry_policy=RETRY_POLICY)
            message.ack()
            moved += 1
    finally:
        queue.close()
        channel.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clinic_shared.dead_letters", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("list", "replay"))
    parser.add_argument("service", choices=sorted(CONSUMES))
    args = parser.parse_args(argv)
    settings = load_settings(args.service)
    topology = Topology.of(settings)
    with connect(settings) as connection:
        topology.declare(connection)
        if args.action == "list":
            for summary in peek(connection, topology, args.service):
                print(json.dumps(summary))
        else:
            print(f"replayed {replay(connection, topology, args.service)} message(s) to "
                  f"{topology.queue_name(args.service)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
