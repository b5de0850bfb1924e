"""What the stack itself costs, with none of the clinic's code: the floor under CPU per booking.

Each figure is the CPU milliseconds one unit of work costs on this machine, doing nothing else:
- an HTTP request to a one-route Flask app under gunicorn's gthread worker (our services' server), the
  server's CPU and the urllib3 client's;
- the same request through a second such app that forwards it with urllib3 (a gateway hop), the forwarding
  app's CPU;
- a durable write transaction on PostgreSQL through SQLAlchemy Core (pre-ping, one INSERT, COMMIT), the
  client's CPU and the server's (the postmaster's tree, other work on it included);
- a read-only one (pre-ping, one SELECT, end of transaction);
- an event through RabbitMQ as our relays and consumers move one: a persistent publish waiting for the
  broker's confirm, then consumed and acked, the client's CPU (both sides, one process) and the broker's.

bench/RESULTS.md multiplies these by how many of each a booking takes to say what no code change can go below.

    python bench/bench_floor.py [--requests 3000] [--transactions 2000] [--events 2000]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import urllib3

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import report  # noqa: E402


def hello_app():
    """gunicorn 'bench_floor:hello_app()': one route answering a small JSON body."""
    from flask import Flask, jsonify

    app = Flask("hello")
    app.add_url_rule("/hello", "hello", lambda: jsonify(ok=True))
    return app


def forwarding_app():
    """gunicorn 'bench_floor:forwarding_app()': forwards /hello to FLOOR_UPSTREAM with one urllib3 pool."""
    import os

    from flask import Flask, Response

    pool = urllib3.PoolManager(maxsize=16, retries=False)
    upstream = os.environ["FLOOR_UPSTREAM"]
    app = Flask("forwarder")

    def forward():
        answer = pool.request("GET", upstream + "/hello")
        return Response(answer.data, status=answer.status, content_type=answer.headers.get("Content-Type"))

    app.add_url_rule("/hello", "forward", forward)
    return app


@contextmanager
def gunicorn(app: str, port: int, env: dict | None = None):
    """One worker with four threads, as a service runs per core (clinic_shared.gunicorn_conf's worker class)."""
    import os

    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                "--threads", "4", "--worker-class", "gthread", "--chdir", str(BENCH), app],
                               env={**os.environ, **(env or {})}, stderr=subprocess.DEVNULL)
    try:
        pool = urllib3.connection_from_url(f"http://127.0.0.1:{port}", retries=False)
        for _ in range(100):
            try:
                pool.request("GET", "/hello")
                break
            except urllib3.exceptions.HTTPError:
                time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(10)


def cpu_of(pid: int) -> float:
    return report.tree_usage(pid).cpu_seconds


def http_floor(requests: int) -> dict[str, float]:
    """CPU ms per request: the app's, the forwarding app's (its own share only) and the client's."""
    from clinic_shared.testing import free_port

    upstream_port, forwarder_port = free_port(), free_port()
    with gunicorn("bench_floor:hello_app()", upstream_port) as upstream, \
            gunicorn("bench_floor:forwarding_app()", forwarder_port,
                     {"FLOOR_UPSTREAM": f"http://127.0.0.1:{upstream_port}"}) as forwarder:
        figures = {}
        for name, port in (("direct", upstream_port), ("forwarded", forwarder_port)):
            pool = urllib3.connection_from_url(f"http://127.0.0.1:{port}", maxsize=1, retries=False)
            for _ in range(200):  # warm
                pool.request("GET", "/hello")
            app_before, forwarder_before, client_before = cpu_of(upstream), cpu_of(forwarder), time.process_time()
            for _ in range(requests):
                pool.request("GET", "/hello")
            figures[f"{name}: app"] = (cpu_of(upstream) - app_before) * 1000 / requests
            figures[f"{name}: forwarding app"] = (cpu_of(forwarder) - forwarder_before) * 1000 / requests
            figures[f"{name}: client"] = (time.process_time() - client_before) * 1000 / requests
        return figures


def database_floor(transactions: int) -> dict[str, float]:
    """CPU ms per transaction, the client's and PostgreSQL's, on an engine set up as the APIs' are (pre-ping; the
    workers' engines send no ping, clinic_shared.db.make_engine)."""
    from sqlalchemy import Column, MetaData, String, Table, create_engine, select

    from clinic_shared.testing import POSTGRES_ADMIN_URL, postgres_databases

    postgres = report.server_roots().get("PostgreSQL")
    figures = {}
    with postgres_databases(POSTGRES_ADMIN_URL, label="floor") as new_database:
        url = new_database()
        engine = create_engine(url, pool_pre_ping=True)
        metadata = MetaData()
        rows = Table("rows", metadata, Column("id", String(36), primary_key=True), Column("value", String(100)))
        metadata.create_all(engine)
        insert, read = rows.insert(), select(rows.c.id).where(rows.c.id == "none")

        def write():
            with engine.begin() as connection:
                connection.execute(insert, {"id": str(uuid.uuid4()), "value": "x"})

        def read_only():
            with engine.connect() as connection:
                connection.execute(read).all()

        for name, work in (("write transaction", write), ("read-only transaction", read_only)):
            for _ in range(100):
                work()
            server_before, client_before = cpu_of(postgres) if postgres else 0.0, time.process_time()
            for _ in range(transactions):
                work()
            figures[f"{name}: client"] = (time.process_time() - client_before) * 1000 / transactions
            if postgres:
                figures[f"{name}: PostgreSQL"] = (cpu_of(postgres) - server_before) * 1000 / transactions
        engine.dispose()
    return figures


def broker_floor(events: int) -> dict[str, float]:
    """CPU ms per event published with a confirm, consumed and acked; the client's (both sides) and RabbitMQ's."""
    from kombu import Connection, Consumer, Exchange, Producer, Queue

    from clinic_shared.testing import AMQP_URL

    rabbitmq = report.server_roots().get("RabbitMQ")
    # Durable, as our queues are (clinic_shared.topology): a persistent message to a transient queue is never
    # written to disk, and RabbitMQ's CPU per event was a third of what it is for a durable one.
    queue = Queue(f"floor-{uuid.uuid4().hex[:8]}", Exchange("", type="direct"), auto_delete=True, durable=True)
    received = []
    with Connection(AMQP_URL, transport_options={"confirm_publish": True}) as publishing, \
            Connection(AMQP_URL) as consuming:
        producer = Producer(publishing.default_channel)
        channel = consuming.channel()
        queue(channel).declare()
        consumer = Consumer(channel, queues=[queue], callbacks=[lambda body, message: (received.append(1),
                                                                                       message.ack())],
                            accept=["json"], prefetch_count=20)
        consumer.consume()

        def one():
            producer.publish({"event_id": str(uuid.uuid4()), "type": "floor", "data": {}}, routing_key=queue.name,
                             delivery_mode=2, serializer="json")
            consuming.drain_events(timeout=5)

        for _ in range(100):
            one()
        server_before, client_before = cpu_of(rabbitmq) if rabbitmq else 0.0, time.process_time()
        for _ in range(events):
            one()
        figures = {"event: client (publisher and consumer)": (time.process_time() - client_before) * 1000 / events}
        if rabbitmq:
            figures["event: RabbitMQ"] = (cpu_of(rabbitmq) - server_before) * 1000 / events
        consumer.cancel()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args([] if argv is None else argv)  # bench/run.py calls main() with its own argv
    figures = {**http_floor(args.requests), **database_floor(args.transactions), **broker_floor(args.events)}
    print(f"Machine: {report.machine()}; load average {report.load_average()}")
    print("| unit of work | CPU ms |\n|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
