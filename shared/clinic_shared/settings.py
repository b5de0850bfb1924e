"""Settings every service reads: the environment variables of API.md, with embedded defaults.

One place reads the environment; everything else takes a `Settings` object, so tests build
their own without touching `os.environ`.
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo

SERVICES = ("screening", "booking", "notifications", "staff")
DEFAULT_SERVICE_PORTS = {"gateway": 8080, "screening": 8081, "booking": 8082, "notifications": 8083,
                         "staff": 8084}


@dataclass(frozen=True)
class Settings:
    service: str
    data_dir: Path
    broker_url: str
    database_url: str
    smtp_url: str | None
    staff_token: str
    secret_key: str
    timezone: str
    rate_limit: str
    port: int
    topology_prefix: str = "clinic"
    service_urls: Mapping[str, str] = field(default_factory=dict)
    client_token_ttl_seconds: int = 90 * 24 * 3600
    worker_heartbeat_timeout_seconds: float = 30.0
    message_retention_days: float = 7.0  # published outbox rows and inbox rows are deleted after this
    quorum_queues: bool = False  # RabbitMQ quorum queues (clinic_shared.topology)
    worker_alive_file: Path | None = None  # touched by the worker while its loops live (clinic_shared.healthcheck)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uses_file_broker(self) -> bool:
        return self.broker_url.startswith("filesystem:")

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


class OnSharedSettings:
    """For a service's own settings dataclass that holds the shared ones as its `base` field."""

    def with_overrides(self, **changes):
        """Apply overrides to whichever part owns each name (the shared settings or the service's own)."""
        own = {f.name for f in fields(self)} - {"base"}
        mine = {k: v for k, v in changes.items() if k in own}
        shared = {k: v for k, v in changes.items() if k not in own}
        unknown = set(shared) - {f.name for f in fields(Settings)}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(self, base=self.base.with_overrides(**shared) if shared else self.base, **mine)


def load_settings(service: str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings of `service` (one of SERVICES, or "gateway") from the environment."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("CLINIC_DATA_DIR") or "./var").resolve()
    prefix = f"CLINIC_{service.upper()}_"
    default_db = f"sqlite:///{data_dir / (service + '.db')}"
    service_urls = {
        name: env.get(f"CLINIC_{name.upper()}_URL")
        or f"http://127.0.0.1:{port_of(env, name)}"
        for name in SERVICES
    }
    return Settings(
        service=service,
        data_dir=data_dir,
        broker_url=env.get("CLINIC_BROKER_URL") or "filesystem://",
        database_url=env.get(prefix + "DATABASE_URL") or default_db,
        smtp_url=env.get("CLINIC_SMTP_URL") or None,
        staff_token=env.get("CLINIC_STAFF_TOKEN") or read_or_create_secret(data_dir / "staff-token"),
        secret_key=env.get("CLINIC_SECRET_KEY") or read_or_create_secret(data_dir / "secret-key"),
        timezone=env.get("CLINIC_TIMEZONE") or "Europe/London",
        rate_limit=env.get("CLINIC_RATE_LIMIT") or "120/minute",
        port=port_of(env, service),
        topology_prefix=env.get("CLINIC_TOPOLOGY_PREFIX") or "clinic",
        service_urls=service_urls,
        worker_heartbeat_timeout_seconds=float(env.get("CLINIC_WORKER_HEARTBEAT_TIMEOUT") or 30),
        message_retention_days=_positive(env, "CLINIC_MESSAGE_RETENTION_DAYS", 7.0),
        quorum_queues=_flag(env, "CLINIC_QUORUM_QUEUES"),
        worker_alive_file=Path(env["CLINIC_WORKER_ALIVE_FILE"]) if env.get("CLINIC_WORKER_ALIVE_FILE") else None,
    )


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "0").strip().lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError(f"{name} must be 1 or 0 (true or false), not {value!r}")
    return value in ("1", "true", "yes", "on")


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = float(env.get(name) or default)
    if value <= 0:
        raise ValueError(f"{name} must be more than 0")
    return value


def port_of(env: Mapping[str, str], service: str) -> int:
    """The port `service` ("gateway" or one of SERVICES) listens on by its settings."""
    name = "CLINIC_PORT" if service == "gateway" else f"CLINIC_{service.upper()}_PORT"
    return int(env.get(name) or DEFAULT_SERVICE_PORTS[service])


def read_or_create_secret(path: Path) -> str:
    """Return the secret stored at `path`, creating it once if it does not exist.

    Several processes start together, so creation is atomic (O_EXCL): the loser of the race
    reads what the winner wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


def _read_when_written(path: Path) -> str:
    for _ in range(50):  # the creator may not have written yet
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"secret file {path} is empty")
