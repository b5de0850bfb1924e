"""The system as the fault run starts it: two processes of every line of the Procfile, on PostgreSQL and RabbitMQ,
every process's broker and database connections through a TCP proxy the run can cut, and a real SMTP server that
records when each message arrived.

Two API processes of one service share one port with gunicorn's `--reuse-port` (the kernel spreads connections
between them), so the gateways and the clients need no change; two workers of one service are competing consumers,
two dispatchers and two outbox relays.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clinic_shared.tcp_proxy import TcpProxy
from clinic_shared.testing import (AMQP_URL, POSTGRES_ADMIN_URL, ReceivedMail, free_port, postgres_databases,
                                   running_smtp_server)
from clinic_shared.topology import CONSUMES, Topology
from system import SERVICES, RunningSystem, procfile_commands, start_system

REPLICAS = (1, 2)


def doubled(commands: dict[str, str]) -> dict[str, str]:
    """Each Procfile line twice (`booking-1`, `booking-2`, …). A web line becomes one process that binds its port
    with SO_REUSEPORT: two processes of each API, not four, so the run's database connections (a pool in each
    process) stay well inside PostgreSQL's default limit of 100, which other tests share."""
    out = {}
    for name, command in commands.items():
        if "gunicorn " in command:
            command = re.sub(r" --workers (\d+|\$\([^)]*\))", "", command)  # the Procfile's, if any: one each here
            command = command.replace("gunicorn ", "gunicorn --reuse-port --workers 1 ", 1)
        for replica in REPLICAS:
            out[f"{name}-{replica}"] = command
    return out


def worker_names(commands: dict[str, str]) -> list[str]:
    return sorted(name for name, command in commands.items() if "gunicorn" not in command)


def through(url: str, proxy: TcpProxy) -> str:
    """The same URL, with host and port those of the proxy."""
    if url.startswith("amqp"):
        parts = urlsplit(url)
        return url.replace(f"@{parts.hostname}:{parts.port or 5672}", f"@127.0.0.1:{proxy.port}", 1)
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@dataclass
class Cluster:
    system: RunningSystem
    mailbox: ReceivedMail
    broker_proxy: TcpProxy
    database_proxy: TcpProxy
    database_urls: dict[str, str]  # direct, not through the proxy: for the run's own reads
    prefix: str

    @property
    def workers(self) -> list[str]:
        return worker_names(self.system.commands)

    def engine(self, service: str):
        return create_engine(self.database_urls[service], pool_size=1, max_overflow=1)

    def backlog(self, engines: dict) -> dict[str, int]:
        """What is still to do: unpublished outbox rows, messages due and unsent, events waiting in queues."""
        counts = {}
        for service, engine in engines.items():
            with engine.connect() as connection:
                counts[f"{service}.outbox"] = connection.scalar(
                    text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                if service == "notifications":
                    counts["notifications.due"] = connection.scalar(text(
                        "SELECT count(*) FROM notifications WHERE status IN ('scheduled', 'sending') "
                        "AND not_before <= now()"))
        counts.update(self.queue_depths())
        return counts

    def queue_depths(self) -> dict[str, int]:
        from kombu import Connection

        topology = Topology(self.prefix)
        depths = {}
        with Connection(AMQP_URL, connect_timeout=5) as connection:
            channel = connection.channel()
            for service in CONSUMES:
                for name in (topology.queue_name(service), topology.dead_letter_queue_name(service)):
                    depths[name.removeprefix(self.prefix + ".")] = channel.queue_declare(
                        queue=name, passive=True).message_count
            channel.close()
        return depths


@contextmanager
def running_cluster(data_dir: Path, extra_env: dict | None = None):
    upstream_db = make_url(POSTGRES_ADMIN_URL)
    amqp = urlsplit(AMQP_URL)
    broker_proxy = TcpProxy(amqp.hostname, amqp.port or 5672, free_port()).start()
    database_proxy = TcpProxy(upstream_db.host or "127.0.0.1", upstream_db.port or 5432, free_port()).start()
    prefix = f"clinic-test-{uuid.uuid4().hex[:10]}"
    system = None
    try:
        with postgres_databases(label="faults") as make, running_smtp_server() as mailbox:
            direct = {service: make() for service in SERVICES}
            env = {
                "CLINIC_BROKER_URL": through(AMQP_URL, broker_proxy),
                "CLINIC_TOPOLOGY_PREFIX": prefix,
                "CLINIC_SMTP_URL": mailbox.url,
                "CLINIC_RATE_LIMIT": "off",
                # A message a killed dispatcher left `sending` is claimed again within the run, not 5 minutes on.
                "CLINIC_NOTIFICATIONS_SENDING_LEASE_SECONDS": "20",
                "CLINIC_NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": "5",  # a send must end well inside that lease
                **{f"CLINIC_{s.upper()}_DATABASE_URL": through(url, database_proxy) for s, url in direct.items()},
                **(extra_env or {}),
            }
            system = start_system(data_dir, env, commands=doubled(procfile_commands()))
            try:
                yield Cluster(system, mailbox, broker_proxy, database_proxy, direct, prefix)
            finally:
                stop_together(system)
    finally:
        broker_proxy.cut()
        database_proxy.cut()
        _delete_topology(prefix)


def stop_together(system: RunningSystem, seconds: float = 20) -> None:
    """SIGTERM to every process at once, then SIGKILL whatever is left: eighteen processes stop in one grace period."""
    processes = list(system.processes.values())
    system.processes.clear()
    for process in processes:
        _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
            process.wait()


def _signal(process, sig) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass  # already gone


def _delete_topology(prefix: str) -> None:
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=3) as connection:
            Topology(prefix).delete(connection)
    except Exception:
        pass  # nothing was declared
