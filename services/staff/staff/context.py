"""Everything a request of this service needs, built once by `create_app` (the composition root)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.auth import TokenAuthority

from .settings import StaffSettings

EXTENSION_KEY = "staff"


@dataclass(frozen=True)
class StaffContext:
    settings: StaffSettings
    engine: Engine
    session_factory: sessionmaker[Session]
    tokens: TokenAuthority
    practitioner_ids: Callable[[], set[str]]  # GET /api/practitioners of the booking service


def current_context() -> StaffContext:
    return current_app.extensions[EXTENSION_KEY]
