"""The notifications service: turns booking and screening events into e-mails, each sent once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.auth import TokenAuthority
from clinic_shared.broker import broker_ok
from clinic_shared.db import database_ok, make_engine, make_session_factory, utcnow
from clinic_shared.heartbeat import worker_check

from .settings import NotificationSettings, load_settings
from .store.repository import Repository
from .store.tables import make_tables


@dataclass
class Service:
    """What a request handler needs, built once per app (current_app.extensions["notifications"])."""

    settings: NotificationSettings
    authority: TokenAuthority
    session_factory: sessionmaker[Session]
    repository: Repository
    clock: Callable[[], datetime]
    outbox: object = None  # the outbox Table: what staff do here is audited through it


def create_app(settings: NotificationSettings | None = None, clock: Callable[[], datetime] | None = None,
               **overrides) -> Flask:
    from clinic_shared.web import create_service_app

    from clinic_shared.erasure import ErasedClients

    from .api.client_data import internal_export_blueprint
    from .api.notifications import blp

    settings = (settings or load_settings()).with_overrides(**overrides)
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    tables = make_tables()
    app, api = create_service_app("notifications", "Clinic notifications", {
        "database": lambda: database_ok(engine),
        "broker": lambda: broker_ok(settings),
        "worker": worker_check(session_factory, tables.heartbeat, settings.worker_heartbeat_timeout_seconds),
    })
    app.extensions["notifications"] = Service(
        settings=settings,
        authority=TokenAuthority.from_settings(settings,
                                               revoked=ErasedClients(session_factory, tables.erased_clients)),
        session_factory=session_factory, repository=Repository(tables),
        clock=clock or utcnow, outbox=tables.outbox,
    )
    api.register_blueprint(blp)
    app.register_blueprint(internal_export_blueprint())  # not public: left out of the OpenAPI document
    return app
