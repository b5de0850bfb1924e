"""The first admin, made on first start: CLINIC_ADMIN_EMAIL with CLINIC_ADMIN_PASSWORD, or a generated
password kept in `<data dir>/admin-password` and printed once (like the staff token)."""
from __future__ import annotations

from clinic_shared.db import make_engine, make_session_factory, transaction, utcnow
from clinic_shared.settings import read_or_create_secret

from .operations import ensure_first_admin
from .settings import StaffSettings


def make_first_admin(settings: StaffSettings, say=print) -> None:
    password_file = settings.base.data_dir / "admin-password"
    password = settings.admin_password or read_or_create_secret(password_file)
    engine = make_engine(settings.base.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            created = ensure_first_admin(session, settings.admin_email, password, utcnow())
    finally:
        engine.dispose()
    if created is not None and not settings.admin_password:
        say(f"First admin: {settings.admin_email}, password (stored in {password_file}): {password}", flush=True)
