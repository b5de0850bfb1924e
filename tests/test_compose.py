"""docker-compose.yml is how operations deploy; no Docker engine runs here, so these tests read it and
start its services' own commands and environment as local processes against PostgreSQL and RabbitMQ."""
from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import uuid
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from system import REPO, SERVICES, start_system  # noqa: E402
from test_system_slice import book, first_free_slot, message_text, screen, until  # noqa: E402

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
APP_SERVICES = {name: spec for name, spec in COMPOSE["services"].items() if "build" in spec}
DOCUMENTED = set(re.findall(r"`(CLINIC_[A-Z_]+)`", (REPO / "README.md").read_text()))


def test_every_app_service_builds_from_a_dockerfile_that_exists():
    assert set(APP_SERVICES) == {*SERVICES, *(f"{s}-worker" for s in SERVICES),
                                 *(f"{s}-migrate" for s in SERVICES), "gateway"}
    for name, spec in APP_SERVICES.items():
        assert spec["build"]["context"] == "."
        dockerfile = REPO / spec["build"]["dockerfile"]
        assert dockerfile.is_file(), name
        text = dockerfile.read_text()
        assert "COPY shared" in text and "pip install" in text, name


def test_commands_name_modules_and_apps_that_exist():
    for name, spec in APP_SERVICES.items():
        command = spec["command"]
        if command[0] == "python":
            assert command[1] == "-m" and importlib.util.find_spec(command[2]), name
        else:
            assert command[0] == "gunicorn"
            module, _, factory = command[-1].partition(":")
            assert factory == "create_app()" and hasattr(importlib.import_module(module), "create_app"), name


def test_services_start_after_their_migrations_and_backends():
    for service in SERVICES:
        for name in (service, f"{service}-worker"):
            depends = APP_SERVICES[name]["depends_on"]
            assert depends[f"{service}-migrate"]["condition"] == "service_completed_successfully"
            assert depends["postgres"]["condition"] == "service_healthy"
            assert depends["rabbitmq"]["condition"] == "service_healthy"


def test_every_setting_it_uses_is_documented():
    for name, spec in APP_SERVICES.items():
        for variable in spec["environment"]:
            assert variable in DOCUMENTED, f"{name} sets {variable}, which README.md does not document"


def _resolve(value: str, given: dict) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, with `given` standing for the operator's env."""
    def one(match):
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        if op == ":-":
            return rest
        raise KeyError(f"{name} must be set: {rest}")
    return re.sub(r"\$\{([A-Z_]+)(?:(:-|:\?)([^}]*))?\}", one, str(value))


@pytest.mark.system
def test_compose_commands_run_the_slice_on_local_backends(tmp_path, amqp_url, postgres_url_factory):
    """Each app service's command and environment from the file, with only host names and ports mapped."""
    from clinic_shared.testing import free_port, running_smtp_server

    ports = {str(port): str(free_port()) for port in (8080, 8081, 8082, 8083, 8084)}
    databases = {service: postgres_url_factory() for service in SERVICES}
    with running_smtp_server() as mailbox:
        operator_env = {"CLINIC_STAFF_TOKEN": "staff-" + uuid.uuid4().hex, "CLINIC_SECRET_KEY": uuid.uuid4().hex,
                        "CLINIC_ADMIN_PASSWORD": "admin-" + uuid.uuid4().hex, "CLINIC_SMTP_URL": mailbox.url}

        def local(value: str) -> str:
            value = _resolve(value, operator_env)
            value = value.replace("amqp://guest:guest@rabbitmq:5672//", amqp_url)
            for service, url in databases.items():
                value = value.replace(f"postgresql+psycopg://postgres:postgres@postgres:5432/{service}", url)
            for container, local_port in ports.items():
                value = re.sub(rf"(0\.0\.0\.0|screening|booking|notifications|staff):{container}\b",
                               f"127.0.0.1:{local_port}", value)
            return value

        environment = {key: local(value) for key, value in APP_SERVICES["gateway"]["environment"].items()}
        environment.update({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_PORT": ports["8080"],
                            "CLINIC_RATE_LIMIT": "off",
                            "CLINIC_TOPOLOGY_PREFIX": f"clinic-test-{uuid.uuid4().hex[:10]}"})
        for service in SERVICES:  # the ports the services' own settings report (used by nothing else)
            environment[f"CLINIC_{service.upper()}_PORT"] = environment[f"CLINIC_{service.upper()}_URL"].rsplit(":", 1)[1]
        commands = {name: [sys.executable if part == "python" else local(part) for part in spec["command"]]
                    for name, spec in APP_SERVICES.items() if not name.endswith("-migrate")}
        for argv in commands.values():
            if argv[0] == "gunicorn":
                argv[0] = str(Path(sys.executable).parent / "gunicorn")
        setup = [[sys.executable, *spec["command"][1:]] for name, spec in APP_SERVICES.items()
                 if name.endswith("-migrate")]
        system = start_system(tmp_path, environment, commands=commands, setup=setup)
        system.mailbox = mailbox
        try:
            screening = screen(system)
            screening["areas"] = ["face"]
            response = book(system, screening, first_free_slot(system)["start"])
            assert response.status_code == 201, response.text
            reference = response.json()["reference"]
            sent = until(lambda: [m for m in mailbox.messages
                                  if reference in m["message"]["Subject"] + message_text(m["message"])], bool)
            assert sent, system.all_logs()
        finally:
            system.stop_all()
            from kombu import Connection

            from clinic_shared.topology import Topology
            with Connection(amqp_url) as connection:
                Topology(environment["CLINIC_TOPOLOGY_PREFIX"]).delete(connection)
