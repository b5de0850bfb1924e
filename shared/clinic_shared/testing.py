"""pytest plugin shared by every test suite: real backends, fresh per test, cleaned up after.

- `database_url`: a fresh database, once on SQLite and once on PostgreSQL.
- `postgres_url_factory`: makes fresh PostgreSQL databases and drops them afterwards.
- `amqp_url`: the RabbitMQ URL; pair it with `topology_prefix` for queues of this test only.
- `redis_url`: the local Redis; tests keep their keys apart with a unique prefix.
- `smtp_server`: a real SMTP server (aiosmtpd) on a free local port, keeping what it received.

Without PostgreSQL, RabbitMQ or Redis these tests skip with a line naming what is missing; with
CLINIC_REQUIRE_BACKENDS=1 (CI) a missing backend is a failure instead.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from contextlib import contextmanager
from email import message_from_bytes
from typing import Iterable
from urllib.parse import urlsplit

import pytest

POSTGRES_ADMIN_URL = os.environ.get("CLINIC_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("CLINIC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("CLINIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def backends_required() -> bool:
    return os.environ.get("CLINIC_REQUIRE_BACKENDS", "") not in ("", "0", "false", "no")


def missing_backend(what: str, problem: str = "is not reachable") -> None:
    """Skip, or fail under CLINIC_REQUIRE_BACKENDS: a missing server, browser or runtime the tests need."""
    message = f"{what} {problem}"
    if backends_required():
        pytest.fail(f"{message}, and CLINIC_REQUIRE_BACKENDS is set", pytrace=False)
    pytest.skip(f"{message} (set CLINIC_REQUIRE_BACKENDS=1 to make this a failure)")


def port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_admin_url():
    if not port_open(POSTGRES_ADMIN_URL, 5432):
        missing_backend(f"PostgreSQL at {POSTGRES_ADMIN_URL}")
    return POSTGRES_ADMIN_URL


@contextmanager
def postgres_databases(admin_url: str = POSTGRES_ADMIN_URL, label: str = "test"):
    """Yield `make()`, which creates a fresh database and returns its URL; all are dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    created = []

    def make() -> str:
        name = f"clinic_{label}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url_factory(postgres_admin_url):
    with postgres_databases(postgres_admin_url) as make:
        yield make


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url_factory")()


@pytest.fixture(scope="session")
def amqp_url():
    if not port_open(AMQP_URL, 5672):
        missing_backend(f"RabbitMQ at {AMQP_URL}")
    return AMQP_URL


@pytest.fixture(scope="session")
def redis_url():
    """The local Redis (CLINIC_TEST_REDIS_URL); tests keep their keys apart with a unique prefix."""
    if not port_open(REDIS_URL, 6379):
        missing_backend(f"Redis at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def topology_prefix():
    """Exchange and queue names no other test run uses; deleted from RabbitMQ afterwards."""
    prefix = f"clinic-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    if port_open(AMQP_URL, 5672):
        from kombu import Connection

        from .topology import Topology

        try:
            with Connection(AMQP_URL, connect_timeout=3) as connection:
                for quorum in (False, True):
                    Topology(prefix, quorum=quorum).delete(connection)
        except Exception:
            pass  # a test that never touched RabbitMQ left nothing to delete


SCREENING_COMPLETED_SAMPLE = {  # a valid screening.completed payload for tests
    "screening_id": "s1", "client_id": "c1", "client": {"name": "Ada", "email": "ada@example.org"},
    "areas": ["face"], "outcome": "eligible", "valid_until": "2027-01-01T00:00:00+00:00",
    "rules_version": "1", "created_at": "2026-11-01T00:00:00+00:00",
}


def drain_queue(settings, queue, seconds: float = 3) -> list:
    """Every message waiting in a kombu `Queue` as (payload, headers), read and acked by a plain consumer."""
    from .broker import connect
    from .topology import Topology

    got = []
    with connect(settings) as connection:
        Topology.of(settings).declare(connection)
        queue = connection.SimpleQueue(queue, no_ack=False)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                message = queue.get(timeout=0.2)
            except queue.Empty:
                if got:
                    break
                continue
            got.append((message.payload, message.headers))
            message.ack()
        queue.close()
    return got


class ReceivedMail:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "message": message_from_bytes(envelope.original_content or envelope.content),
                              "at": time.monotonic()})  # when it arrived: the fault run orders by it
        return "250 Message accepted for delivery"


@contextmanager
def running_smtp_server():
    """A real SMTP server (aiosmtpd) on a free local port: `.url` to send to, `.messages` what arrived."""
    from aiosmtpd.controller import Controller

    mailbox = ReceivedMail()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with running_smtp_server() as mailbox:
        yield mailbox


def pytest_terminal_summary(terminalreporter):
    """One line per reason something was skipped, with how many tests it cost (not one line per test)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("what was skipped, and why")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{count:5d} skipped: {reason}")


def health_data_in(text: str, needles: Iterable[str]) -> list[str]:
    """Which of `needles` (question ids, reason codes and messages of the rule set) appear in `text`.

    The scans of event payloads, e-mail bodies and logs (issue #10) use it: question ids stand for the answers
    (the key of every answer), a reason's code or message says which answer fired."""
    return sorted({needle for needle in needles if needle and needle in text})
