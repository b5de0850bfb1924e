"""Start the whole system as `make run` does (the Procfile's commands), for the system tests.

Each process gets its own log file; a failing test prints them. Ports are free ones, so a test run
never collides with a `make run` on the same machine.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from clinic_shared.testing import free_port

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("screening", "booking", "notifications", "staff")


def procfile_commands(path: Path = REPO / "Procfile") -> dict[str, str]:
    commands = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


@dataclass
class RunningSystem:
    env: dict
    data_dir: Path
    staff_token: str
    commands: dict = field(default_factory=procfile_commands)  # name -> shell line or argv
    processes: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['CLINIC_PORT']}"

    def start(self, name: str) -> None:
        command = self.commands[name]
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        log = open(self.data_dir / f"{name}.log", "ab")
        self.logs[name] = self.data_dir / f"{name}.log"
        self.processes[name] = subprocess.Popen(argv, env=self.env, cwd=REPO, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, name: str, sig=signal.SIGTERM) -> int:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def wait_healthy(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            try:
                last = requests.get(self.url + "/api/health", timeout=2)
                if last.status_code == 200:
                    return
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.3)
        raise RuntimeError(f"the system did not become healthy: {last}\n{self.all_logs()}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def all_logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log_tail(name)}" for name in self.logs)

    # --- HTTP helpers --------------------------------------------------------------------------
    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=15, **kwargs)

    def staff(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.call(method, path, token=self.staff_token, **kwargs)

    @property
    def admin(self) -> dict:
        """The first admin's e-mail and password (made by `staff.migrate`)."""
        return {"email": self.env["CLINIC_ADMIN_EMAIL"], "password": self.env["CLINIC_ADMIN_PASSWORD"]}

    def service_url(self, service: str) -> str:
        """A service's own address: for requests that skip the gateway."""
        return self.env[f"CLINIC_{service.upper()}_URL"]


def system_env(data_dir: Path, extra: dict | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLINIC_")}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "CLINIC_DATA_DIR": str(data_dir),
        "CLINIC_PORT": str(free_port()),
        "CLINIC_STAFF_TOKEN": "staff-" + os.urandom(8).hex(),
        "CLINIC_ADMIN_EMAIL": "admin@clinic.test",
        "CLINIC_ADMIN_PASSWORD": "admin-" + os.urandom(8).hex(),
        "CLINIC_RATE_LIMIT": "off",
        "CLINIC_SIGN_IN_RATE_LIMIT": "off",  # every test client comes from 127.0.0.1
        "CLINIC_WORKER_HEARTBEAT_TIMEOUT": "6",  # a dead worker shows in /api/health within seconds
        "PYTHONUNBUFFERED": "1",
    })
    for service in SERVICES:
        port = free_port()
        env[f"CLINIC_{service.upper()}_PORT"] = str(port)
        env[f"CLINIC_{service.upper()}_URL"] = f"http://127.0.0.1:{port}"
    env.update(extra or {})
    return env


def run_once(argv: list[str], env: dict) -> None:
    result = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")


def start_system(data_dir: Path, extra_env: dict | None = None, commands: dict | None = None,
                 setup: list[list[str]] | None = None) -> RunningSystem:
    """Run the set-up commands (default: first start + migrations, as `make run`), then every process."""
    env = system_env(data_dir, extra_env)
    default_setup = [[sys.executable, "-m", "clinic_shared.first_start"]] + [
        [sys.executable, "-m", f"{service}.migrate"] for service in SERVICES]
    for argv in default_setup if setup is None else setup:
        run_once(argv, env)
    system = RunningSystem(env=env, data_dir=data_dir, staff_token=env["CLINIC_STAFF_TOKEN"],
                           commands=commands or procfile_commands())
    for name in system.commands:
        system.start(name)
    try:
        system.wait_healthy()
    except Exception:
        system.stop_all()
        raise
    return system


def shell_quote_env(env: dict) -> str:  # handy when a test fails: paste to reproduce
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()) if k.startswith("CLINIC_"))


def undelivered_events(system: RunningSystem, seconds: float = 60):
    """(every outbox event, the ones missing from a consumer's inbox per consumer) after waiting up to
    `seconds` for the workers to catch up. Nothing missing when every event reached every consumer bound
    to its type: the broker's whole promise (the inbox makes repeats harmless)."""
    from sqlalchemy import MetaData, Table, inspect, select

    from clinic_shared.db import make_engine
    from clinic_shared.settings import load_settings
    from clinic_shared.topology import CONSUMES

    def rows(service: str, table: str) -> list[tuple[str, str]]:
        engine = make_engine(load_settings(service, system.env).database_url)
        try:
            if not inspect(engine).has_table(table):
                return []
            found = Table(table, MetaData(), autoload_with=engine)
            with engine.connect() as connection:
                return [tuple(r) for r in connection.execute(select(found.c.event_id, found.c.type))]
        finally:
            engine.dispose()

    deadline = time.monotonic() + seconds
    while True:
        published = {event for service in SERVICES for event in rows(service, "outbox")}
        missing = {}
        for consumer, types in CONSUMES.items():
            handled = {event_id for event_id, _ in rows(consumer, "inbox")}
            lost = sorted(e for e in published if e[1] in types and e[0] not in handled)
            if lost:
                missing[consumer] = lost
        if not missing or time.monotonic() > deadline:
            return published, missing
        time.sleep(1)


def table_rows(system: RunningSystem, service: str, table: str) -> list[dict]:
    """Every row of one table of a service's own database, as dicts (empty when the table does not exist)."""
    from sqlalchemy import MetaData, Table, inspect, select

    from clinic_shared.db import make_engine
    from clinic_shared.settings import load_settings

    engine = make_engine(load_settings(service, system.env).database_url)
    try:
        if not inspect(engine).has_table(table):
            return []
        found = Table(table, MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(found))]
    finally:
        engine.dispose()


def text_columns(system: RunningSystem, service: str) -> list[tuple[str, str]]:
    """(table, column) of every column of a service's database that can hold text: on PostgreSQL every text,
    varchar and JSON column of its schema (information_schema); on SQLite every column (its types are loose)."""
    from sqlalchemy import text

    from clinic_shared.db import make_engine
    from clinic_shared.settings import load_settings

    engine = make_engine(load_settings(service, system.env).database_url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                return [tuple(r) for r in connection.execute(text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND data_type IN "
                    "('text', 'character varying', 'character', 'json', 'jsonb') ORDER BY table_name, column_name"))]
            tables = [r[0] for r in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))]
            return [(table, column[1]) for table in tables
                    for column in connection.execute(text(f'PRAGMA table_info("{table}")'))]
    finally:
        engine.dispose()


def find_in_databases(system: RunningSystem, values: list[str]) -> list[tuple[str, str, str, str]]:
    """(service, table, column, value) for every text column of every service's database holding one of
    `values` (ignoring case), however it is stored (inside JSON too)."""
    from sqlalchemy import text

    from clinic_shared.db import make_engine
    from clinic_shared.settings import load_settings

    found = []
    for service in SERVICES:
        columns = text_columns(system, service)
        engine = make_engine(load_settings(service, system.env).database_url)
        try:
            with engine.connect() as connection:
                for table, column in columns:
                    for value in values:
                        hits = connection.execute(text(
                            f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS TEXT)) LIKE :value'),
                            {"value": f"%{value.lower()}%"}).scalar()
                        if hits:
                            found.append((service, table, column, value))
        finally:
            engine.dispose()
    return found
