"""Everything a request of this service needs, built once by `create_app` (the composition root)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.auth import TokenAuthority

from .domain.ruleset import RuleSet
from .settings import ScreeningSettings

EXTENSION_KEY = "screening"


@dataclass(frozen=True)
class ScreeningContext:
    settings: ScreeningSettings
    ruleset: RuleSet
    engine: Engine
    session_factory: sessionmaker[Session]
    tokens: TokenAuthority


def current_context() -> ScreeningContext:
    return current_app.extensions[EXTENSION_KEY]
