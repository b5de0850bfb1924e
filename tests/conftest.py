"""System tests: the whole system started from the Procfile, once per backend set.

- embedded: SQLite files and kombu's file transport, e-mail as .eml files (what `make run` uses);
- real: PostgreSQL (a fresh database per service), RabbitMQ (names unique to this run) and a real SMTP server.
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from system import SERVICES, start_system  # noqa: E402


@pytest.fixture(scope="module", params=["embedded", "real"])
def system(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("system")
    extra = {}
    mailbox = None
    if request.param == "real":
        from clinic_shared.testing import AMQP_URL, POSTGRES_ADMIN_URL, missing_backend, port_open

        if not port_open(POSTGRES_ADMIN_URL, 5432):
            missing_backend(f"PostgreSQL at {POSTGRES_ADMIN_URL}")
        if not port_open(AMQP_URL, 5672):
            missing_backend(f"RabbitMQ at {AMQP_URL}")
        databases = request.getfixturevalue("module_postgres_databases")
        mailbox = request.getfixturevalue("module_smtp_server")
        extra = {
            "CLINIC_BROKER_URL": AMQP_URL,
            "CLINIC_TOPOLOGY_PREFIX": f"clinic-test-{uuid.uuid4().hex[:10]}",
            "CLINIC_SMTP_URL": mailbox.url,
            **{f"CLINIC_{s.upper()}_DATABASE_URL": databases() for s in SERVICES},
        }
    running = start_system(data_dir, extra)
    running.backend = request.param
    running.mailbox = mailbox
    yield running
    running.stop_all()
    if request.param == "real":
        _delete_topology(extra["CLINIC_TOPOLOGY_PREFIX"])


def _delete_topology(prefix: str) -> None:
    from kombu import Connection

    from clinic_shared.testing import AMQP_URL
    from clinic_shared.topology import Topology

    with Connection(AMQP_URL, connect_timeout=3) as connection:
        Topology(prefix).delete(connection)


@pytest.fixture(scope="module")
def module_postgres_databases():
    from clinic_shared.testing import postgres_databases

    with postgres_databases(label="system") as make:
        yield make


@pytest.fixture(scope="module")
def module_smtp_server():
    from clinic_shared.testing import running_smtp_server

    with running_smtp_server() as mailbox:
        yield mailbox


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    system = item.funcargs.get("system") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and system is not None:
        report.sections.append(("process logs", system.all_logs()))
