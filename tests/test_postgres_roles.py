"""deploy/postgres-init.sh on the local PostgreSQL: each service's role owns its own database and no other."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

sys.path.insert(0, str(Path(__file__).parent))

from service_roles import INIT_SCRIPT, service_roles  # noqa: E402


def migrate(service: str, url: str, data_dir: Path) -> None:
    env = {**os.environ, f"CLINIC_{service.upper()}_DATABASE_URL": url, "CLINIC_DATA_DIR": str(data_dir)}
    result = subprocess.run([sys.executable, "-m", f"{service}.migrate"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def as_role(url: str, database: str | None = None):
    return create_engine(make_url(url).set(database=database) if database else url)


@pytest.fixture
def roles(postgres_admin_url):
    with service_roles(postgres_admin_url) as urls:
        yield urls


def test_each_role_runs_its_own_migrations_and_uses_its_tables(roles, tmp_path):
    for service in ("screening", "booking"):
        migrate(service, roles[service], tmp_path)
        engine = as_role(roles[service])
        try:
            tables = set(inspect(engine).get_table_names())
            assert {"outbox", "alembic_version"} <= tables
            with engine.begin() as connection:
                assert connection.scalar(text("SELECT count(*) FROM outbox")) == 0
        finally:
            engine.dispose()


def test_booking_cannot_read_screening(roles, tmp_path, postgres_admin_url):
    migrate("screening", roles["screening"], tmp_path)
    screening_db = make_url(roles["screening"]).database
    booking = as_role(roles["booking"], database=screening_db)
    try:
        with pytest.raises(OperationalError, match="permission denied for database"):
            booking.connect().close()
        # Even let in (a mistaken GRANT CONNECT), it reads none of screening's tables: they are screening's.
        admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
        booking_role = make_url(roles["booking"]).username
        with admin.connect() as connection:
            connection.execute(text(f'GRANT CONNECT ON DATABASE "{screening_db}" TO "{booking_role}"'))
        admin.dispose()
        booking.dispose()
        with booking.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert "outbox" in tables
            for table in tables:
                with pytest.raises(ProgrammingError, match="permission denied for table"):
                    connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1'))
                connection.rollback()
    finally:
        booking.dispose()


def test_the_roles_are_plain_logins(roles, postgres_admin_url):
    admin = create_engine(postgres_admin_url)
    try:
        with admin.connect() as connection:
            for url in roles.values():
                flags = connection.execute(text(
                    "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin FROM pg_roles "
                    "WHERE rolname = :name"), {"name": make_url(url).username}).one()
                assert tuple(flags) == (False, False, False, False, True)
    finally:
        admin.dispose()


def test_the_script_refuses_to_run_without_a_password(postgres_admin_url):
    env = {key: value for key, value in os.environ.items() if not key.endswith("_DB_PASSWORD")}
    result = subprocess.run(["sh", str(INIT_SCRIPT)], env={**env, "PGHOST": "127.0.0.1"}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "set CLINIC_SCREENING_DB_PASSWORD" in result.stderr
