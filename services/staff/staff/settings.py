"""The staff service's settings: the shared ones plus its own.

| environment | meaning | default |
|---|---|---|
| CLINIC_STAFF_SESSION_HOURS | how long a member's session token lasts | 12 |
| CLINIC_ADMIN_EMAIL | the first admin, made on first start | admin@clinic.test |
| CLINIC_ADMIN_PASSWORD | that admin's password | generated into `<data dir>/admin-password`, printed once |
| CLINIC_STAFF_DATABASE_URL | this service's database | `<data dir>/staff.db` (SQLite) |
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from clinic_shared.settings import OnSharedSettings, Settings, load_settings

SERVICE = "staff"


@dataclass(frozen=True)
class StaffSettings(OnSharedSettings):
    base: Settings
    session_hours: float = 12
    admin_email: str = "admin@clinic.test"
    admin_password: str | None = None  # None: generated once into the data dir
    failed_sign_in_limit: int = 5  # API.md: five failed attempts for one e-mail ...
    failed_sign_in_window_minutes: int = 15  # ... within fifteen minutes lock it


def load_staff_settings(environ: Mapping[str, str] | None = None) -> StaffSettings:
    env = os.environ if environ is None else environ
    hours = float(env.get("CLINIC_STAFF_SESSION_HOURS") or 12)
    if hours <= 0:
        raise ValueError("CLINIC_STAFF_SESSION_HOURS must be positive")
    return StaffSettings(
        base=load_settings(SERVICE, env),
        session_hours=hours,
        admin_email=(env.get("CLINIC_ADMIN_EMAIL") or "admin@clinic.test").strip().lower(),
        admin_password=env.get("CLINIC_ADMIN_PASSWORD") or None,
    )
