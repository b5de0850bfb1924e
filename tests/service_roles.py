"""Databases and roles made by deploy/postgres-init.sh on the local PostgreSQL, under names of their own."""
from __future__ import annotations

import os
import subprocess
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

from system import REPO, SERVICES

INIT_SCRIPT = REPO / "deploy" / "postgres-init.sh"


@contextmanager
def service_roles(admin_url: str):
    """Run the init script; yield {service: its own role's URL to its own database}; drop them all after."""
    prefix = f"clinic_roles_{uuid.uuid4().hex[:10]}_"
    passwords = {service: uuid.uuid4().hex for service in SERVICES}
    admin = urlsplit(admin_url.replace("+psycopg", ""))
    host, port = admin.hostname or "127.0.0.1", admin.port or 5432
    env = {**os.environ, "PGHOST": host, "PGPORT": str(port), "PGUSER": admin.username or "postgres",
           "CLINIC_DB_NAME_PREFIX": prefix,
           **{f"CLINIC_{service.upper()}_DB_PASSWORD": password for service, password in passwords.items()}}
    try:
        subprocess.run(["sh", str(INIT_SCRIPT)], env=env, check=True, capture_output=True, text=True, timeout=60)
        yield {service: f"postgresql+psycopg://{prefix}{service}:{passwords[service]}@{host}:{port}/{prefix}{service}"
               for service in SERVICES}
    finally:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for service in SERVICES:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}{service}" WITH (FORCE)'))
                connection.execute(text(f'DROP ROLE IF EXISTS "{prefix}{service}"'))
        engine.dispose()
