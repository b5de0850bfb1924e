"""docker-compose.yml is how operations deploy; no Docker engine runs here, so these tests read it (and validate
it against the Compose Specification's schema) and start its services' own commands, each with its own
container's environment, as local processes against PostgreSQL (a role per service, made by the init script),
RabbitMQ (quorum queues) and Redis (the gateway's rate-limit counts)."""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import stat
import sys
import uuid
from pathlib import Path

import jsonschema
import pytest
import redis
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from service_roles import service_roles  # noqa: E402
from system import REPO, SERVICES, start_system  # noqa: E402
from test_system_slice import book, first_free_slot, message_text, screen, until  # noqa: E402

COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
APP_SERVICES = {name: spec for name, spec in COMPOSE["services"].items() if "build" in spec}
README = (REPO / "README.md").read_text()
DOCUMENTED = set(re.findall(r"`(CLINIC_[A-Z_]+)`", README))
PROCESSES = {*SERVICES, *(f"{s}-worker" for s in SERVICES), "gateway"}  # every api and worker
OPERATOR_SECRETS = {  # what an operator must set: compose refuses to start without each
    "CLINIC_STAFF_TOKEN", "CLINIC_SECRET_KEY", "CLINIC_ADMIN_PASSWORD", "CLINIC_SMTP_URL", "CLINIC_POSTGRES_PASSWORD",
    "CLINIC_RABBITMQ_PASSWORD", "CLINIC_RABBITMQ_COOKIE", *(f"CLINIC_{s.upper()}_DB_PASSWORD" for s in SERVICES)}


def service_of(name: str) -> str:
    return name.split("-")[0]


def test_it_validates_against_the_compose_specification():
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(COMPOSE), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_mistake():
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    wrong = json.loads(json.dumps(COMPOSE))
    wrong["services"]["booking"]["deploy"]["replica"] = 2  # a misspelt key
    assert list(jsonschema.Draft7Validator(schema).iter_errors(wrong))


def test_every_app_service_builds_from_a_dockerfile_that_installs_from_the_lock():
    assert set(APP_SERVICES) == PROCESSES | {f"{s}-migrate" for s in SERVICES}
    for name, spec in APP_SERVICES.items():
        assert spec["build"]["context"] == "."
        dockerfile = REPO / spec["build"]["dockerfile"]
        assert dockerfile.is_file(), name
        text = dockerfile.read_text()
        assert "COPY requirements.lock" in text and "--require-hashes -r /app/requirements.lock" in text, name
        assert "--no-deps" in text and "COPY shared" in text, name  # ours: nothing fetched beyond the lock
        assert re.search(r'^HEALTHCHECK .*"clinic_shared.healthcheck", "%s"' % service_of(name), text, re.M), name
        assert re.search(r"^FROM python:\d+\.\d+\.\d+-slim", text, re.M), name


def test_the_lock_files_agree_and_hold_hashes():
    def pins(path: str) -> dict[str, str]:
        return dict(re.findall(r"^([a-z0-9][a-z0-9_.-]*)==(\S+) \\$", (REPO / path).read_text(), re.M))

    production, development = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {"flask", "sqlalchemy", "kombu", "psycopg", "setuptools"} <= set(production)
    assert {name: development.get(name) for name in production} == production
    for path in ("requirements.lock", "requirements-dev.lock"):
        entries = re.split(r"\n(?=[a-z0-9])", (REPO / path).read_text().split("\n\n", 1)[0])
        for entry in entries:
            if "==" in entry:
                assert "--hash=sha256:" in entry, f"{path}: {entry.splitlines()[0]} has no hash"
        assert "clinic-" not in re.sub(r"#.*", "", (REPO / path).read_text())  # ours come from the tree


def test_the_locks_hold_everything_asked_for():
    """A dependency added to a pyproject.toml or requirements-dev.txt without `make lock` fails here."""
    import tomllib

    def name(requirement: str) -> str:
        return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")

    locked = {path: set(re.findall(r"^([a-z0-9][a-z0-9_.-]*)==", (REPO / path).read_text(), re.M))
              for path in ("requirements.lock", "requirements-dev.lock")}
    for pyproject in [REPO / "shared" / "pyproject.toml", *sorted(REPO.glob("services/*/pyproject.toml"))]:
        for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
            if not name(requirement).startswith("clinic-"):
                assert name(requirement) in locked["requirements.lock"], f"{pyproject}: {requirement}"
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert name(line) in locked["requirements-dev.lock"], line


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
    assert {s: c["condition"] for s, c in APP_SERVICES["gateway"]["depends_on"].items()} == {
        **{s: "service_healthy" for s in SERVICES}, "redis": "service_started"}  # without Redis it counts in memory


def test_the_gateway_trusts_the_one_proxy_and_counts_its_limits_in_redis():
    """Behind nginx every request's peer is the proxy: without trusting its X-Forwarded-For, every client would
    share one address's limit. Counted in Redis, the replicas share one count instead of N times the rate."""
    gateway = APP_SERVICES["gateway"]
    assert gateway["environment"]["CLINIC_TRUSTED_PROXIES"] == "1"
    assert gateway["environment"]["CLINIC_REDIS_URL"] == "redis://redis:6379/0"
    assert "--workers" not in gateway["command"]  # shared counts: as many processes as CLINIC_WEB_WORKERS says
    # The one proxy appends the client's address (one hop: what CLINIC_TRUSTED_PROXIES=1 reads).
    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    assert re.search(r"^\s*proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;", nginx, re.M)
    redis_service = COMPOSE["services"]["redis"]
    assert redis_service["image"].startswith("redis:") and "profiles" not in redis_service
    assert redis_service["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert [name for name, spec in APP_SERVICES.items() if "CLINIC_REDIS_URL" in spec["environment"]] == ["gateway"]


def test_every_api_and_worker_runs_in_replicas_and_the_readme_says_how_to_scale_each():
    for name in PROCESSES:
        replicas = APP_SERVICES[name]["deploy"]["replicas"]
        variable = f"CLINIC_{name.upper().replace('-', '_')}_REPLICAS"
        assert replicas == f"${{{variable}:-2}}", name
        assert f"`{variable}`" in README, f"README.md does not say how to scale {name}"
    for service in SERVICES:
        assert "deploy" not in APP_SERVICES[f"{service}-migrate"]  # migrations run once
    assert "--scale" in README
    # Replicas cannot share a published port: only the proxy in front of the gateways publishes one.
    assert [name for name, spec in COMPOSE["services"].items() if "ports" in spec and not spec.get("profiles")] == [
        "proxy"]
    assert "proxy_pass $gateway" in (REPO / "deploy" / "nginx.conf").read_text()


def test_each_service_gets_its_own_database_role_and_no_other():
    for name, spec in APP_SERVICES.items():
        urls = {key: value for key, value in spec["environment"].items() if key.endswith("_DATABASE_URL")}
        if name == "gateway":
            assert urls == {}
            continue
        service = service_of(name)
        assert list(urls) == [f"CLINIC_{service.upper()}_DATABASE_URL"], name
        password = f"${{CLINIC_{service.upper()}_DB_PASSWORD:?set CLINIC_{service.upper()}_DB_PASSWORD}}"
        assert urls[f"CLINIC_{service.upper()}_DATABASE_URL"] == (
            f"postgresql+psycopg://{service}:{password}@postgres:5432/{service}"), name
    postgres = COMPOSE["services"]["postgres"]
    init = "./deploy/postgres-init.sh:/docker-entrypoint-initdb.d/10-service-roles.sh:ro"
    assert init in postgres["volumes"]
    assert (REPO / "deploy" / "postgres-init.sh").stat().st_mode & stat.S_IXUSR  # run, not sourced, by the image
    assert {f"CLINIC_{s.upper()}_DB_PASSWORD" for s in SERVICES} <= set(postgres["environment"])


def test_production_mail_needs_a_relay_and_the_catcher_is_for_development_only():
    for name, spec in APP_SERVICES.items():
        smtp = spec["environment"].get("CLINIC_SMTP_URL")
        if service_of(name) == "notifications":
            assert smtp.startswith("${CLINIC_SMTP_URL:?"), name  # required, no default
        else:
            assert smtp is None, name  # only the service that sends mail holds the relay's credentials
    with pytest.raises(KeyError, match="CLINIC_SMTP_URL"):
        resolve(APP_SERVICES["notifications"]["environment"]["CLINIC_SMTP_URL"], {})
    secrets = {name: "set" for name in OPERATOR_SECRETS}
    for name, spec in APP_SERVICES.items():  # whatever the operator leaves unset, nothing points at the catcher
        assert not [v for v in spec["environment"].values() if "mailpit" in resolve(v, secrets)], name
    assert COMPOSE["services"]["mailpit"]["profiles"] == ["dev"]


def test_every_secret_is_required_and_nothing_else_is():
    required = set(re.findall(r"\$\{(CLINIC_[A-Z_]+):\?", COMPOSE_TEXT))
    assert required == OPERATOR_SECRETS
    environment = {k: v for spec in APP_SERVICES.values() for k, v in spec["environment"].items()}
    with pytest.raises(KeyError):
        resolve(environment["CLINIC_STAFF_TOKEN"], {})


def test_images_are_pinned_to_versions():
    for name, spec in COMPOSE["services"].items():
        if "image" in spec:
            image, _, tag = spec["image"].partition(":")
            # PostgreSQL's versions are major.minor; the others' major.minor.patch
            assert re.fullmatch(r"v?\d+\.\d+(\.\d+)?(-[a-z]+)?", tag), f"{name}: {spec['image']} is not pinned"


def test_rabbitmq_uses_quorum_queues_and_a_three_node_cluster_is_a_profile():
    for name, spec in APP_SERVICES.items():
        assert spec["environment"]["CLINIC_QUORUM_QUEUES"] == "1", name
    nodes = {name: spec for name, spec in COMPOSE["services"].items() if name.startswith("rabbitmq")}
    assert set(nodes) == {"rabbitmq", "rabbitmq-2", "rabbitmq-3"}
    assert "profiles" not in nodes["rabbitmq"]
    cluster = (REPO / "deploy" / "rabbitmq-cluster.conf").read_text()
    for name in ("rabbitmq-2", "rabbitmq-3"):
        assert nodes[name]["profiles"] == ["cluster"] and nodes[name]["hostname"] == name
        assert "./deploy/rabbitmq-cluster.conf:/etc/rabbitmq/conf.d/20-cluster.conf:ro" in nodes[name]["volumes"]
    assert f"nodes.1 = rabbit@{nodes['rabbitmq']['hostname']}" in cluster
    cookies = {spec["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] for spec in nodes.values()}
    assert len(cookies) == 1  # one secret shared by the nodes


def test_every_setting_it_uses_is_documented():
    for name, spec in APP_SERVICES.items():
        for variable in spec["environment"]:
            assert variable in DOCUMENTED, f"{name} sets {variable}, which README.md does not document"
    for variable in set(re.findall(r"\$\{(CLINIC_[A-Z_]+)", COMPOSE_TEXT)):
        assert variable in DOCUMENTED, f"docker-compose.yml reads {variable}, which README.md does not document"


def resolve(value: str, given: dict) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, nested ones first, with `given` standing for
    the operator's environment."""
    def one(match):
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if given.get(name):
            return given[name]
        if op == ":-" or (op is None and name not in given):
            return rest or ""
        raise KeyError(f"{name} must be set: {rest}")

    value, before = str(value), None
    while value != before:
        before, value = value, re.sub(r"\$\{([A-Z_]+)(?:(:-|:\?)([^${}]*))?\}", one, value)
    return value


@pytest.mark.system
def test_compose_commands_run_the_slice_on_local_backends(tmp_path, amqp_url, postgres_admin_url, redis_url):
    """Each app service's command with its own container's environment (nothing else), only host names and
    ports mapped to this machine, each service on its own PostgreSQL role, RabbitMQ on quorum queues."""
    from clinic_shared.testing import free_port, running_smtp_server

    ports = {str(port): str(free_port()) for port in (8080, 8081, 8082, 8083, 8084)}
    prefix = f"clinic-test-{uuid.uuid4().hex[:10]}"
    with service_roles(postgres_admin_url) as databases, running_smtp_server() as mailbox:
        operator_env = {name: "secret-" + uuid.uuid4().hex for name in OPERATOR_SECRETS}
        operator_env["CLINIC_SMTP_URL"] = mailbox.url

        def local(value: str) -> str:
            value = resolve(value, operator_env)
            value = re.sub(r"amqp://clinic:[^@]+@rabbitmq:5672//", amqp_url, value)
            value = re.sub(r"^redis://redis:6379/0$", redis_url, value)
            for service, url in databases.items():
                value = re.sub(rf"postgresql\+psycopg://{service}:[^@]+@postgres:5432/{service}$", url, value)
            for container, local_port in ports.items():
                value = re.sub(rf"(0\.0\.0\.0|screening|booking|notifications|staff):{container}\b",
                               f"127.0.0.1:{local_port}", value)
            return value

        def container(name: str) -> list[str]:
            """`env -i` and the container's own environment: a process sees no other service's credentials."""
            spec = APP_SERVICES[name]
            env = {key: local(value) for key, value in spec["environment"].items()}
            (tmp_path / name).mkdir(exist_ok=True)
            env.update({"CLINIC_DATA_DIR": str(tmp_path / name), "CLINIC_TOPOLOGY_PREFIX": prefix,
                        "CLINIC_WORKER_HEARTBEAT_TIMEOUT": "6", "PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1"})
            if name == "gateway":
                env["CLINIC_RATE_LIMIT"] = "off"
                env["CLINIC_PORT"] = ports["8080"]
            argv = [sys.executable if part == "python" else local(part) for part in spec["command"]]
            if argv[0] == "gunicorn":
                argv[0] = str(Path(sys.executable).parent / "gunicorn")
            return ["env", "-i", *(f"{key}={value}" for key, value in env.items()), *argv]

        commands = {name: container(name) for name in PROCESSES}
        setup = [container(f"{service}-migrate") for service in SERVICES]
        admin = {"CLINIC_ADMIN_EMAIL": "admin@clinic.test", "CLINIC_ADMIN_PASSWORD": operator_env["CLINIC_ADMIN_PASSWORD"]}
        system = start_system(tmp_path, {"CLINIC_PORT": ports["8080"], "CLINIC_STAFF_TOKEN": operator_env[
            "CLINIC_STAFF_TOKEN"], **admin, **{f"CLINIC_{s.upper()}_URL": f"http://127.0.0.1:{ports[str(8081 + i)]}"
                                               for i, s in enumerate(SERVICES)}},
                              commands=commands, setup=setup)
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
            booking_env = dict(part.split("=", 1) for part in commands["booking"][2:] if "=" in part
                               and part.split("=", 1)[0].startswith("CLINIC_"))
            assert not {key for key in booking_env if key.endswith("_DATABASE_URL")} - {"CLINIC_BOOKING_DATABASE_URL"}

            # The gateway's own environment counts the sign-in limit in Redis, keyed on the address the proxy
            # put last in X-Forwarded-For (what a client wrote before it is not believed).
            asked = system.call("POST", "/api/auth/link", json={"email": "nobody@example.org"},
                                headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
            assert asked.status_code == 202, asked.text
            store = redis.Redis.from_url(redis_url)
            counted = [key.decode() for key in store.scan_iter(match=f"*{prefix}-gateway/*")]
            assert [key for key in counted if "sign-in:address:203.0.113.9" in key], counted
            assert not [key for key in counted if "198.51.100.7" in key], counted
        finally:
            system.stop_all()
            store = redis.Redis.from_url(redis_url)
            keys = list(store.scan_iter(match=f"*{prefix}-gateway/*"))
            if keys:
                store.delete(*keys)
            from kombu import Connection

            from clinic_shared.topology import Topology
            with Connection(amqp_url) as connection:
                Topology(prefix, quorum=True).delete(connection)
