"""The booking service: appointments, courses, closures and availability by the clinic's rules."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from flask import Flask


def create_app(settings=None, clock: Callable[[], datetime] | None = None, **overrides) -> Flask:
    """The composition root: settings, database, token checks, Scheduler and blueprints.

    `settings` is a BookingSettings (default: from the environment); `overrides` may replace any
    shared setting or clinic rule (e.g. database_url=..., practitioners=["Solo"]); `clock` returns
    the current aware UTC time (tests pin it).
    """
    from clinic_shared.auth import TokenAuthority
    from clinic_shared.broker import broker_ok
    from clinic_shared.db import database_ok, make_engine, make_session_factory, utcnow
    from clinic_shared.heartbeat import worker_check
    from clinic_shared.openapi import document_settings
    from clinic_shared.web import create_service_app, request_id

    from .api import register_blueprints
    from .api.context import EXTENSION, BookingContext
    from .api.schemas import documented_settings
    from .operations import Scheduler
    from .settings import load_booking_settings, with_overrides
    from clinic_shared.erasure import ErasedClients

    from .api.client_data import internal_export_blueprint
    from .store.tables import erased_clients, heartbeat
    from .waitlist_offers import WaitlistOffers
    from .waitlist_operations import Waitlist

    settings = load_booking_settings() if settings is None else settings
    settings = with_overrides(settings, **overrides)
    base = settings.base
    engine = make_engine(base.database_url)
    session_factory = make_session_factory(engine)
    app, api = create_service_app("booking", "Clinic booking service", {
        "database": lambda: database_ok(engine),
        "broker": lambda: broker_ok(base),
        "worker": worker_check(session_factory, heartbeat, base.worker_heartbeat_timeout_seconds),
    })
    from flask import g

    # Who acts is read per request, like the request id: staff actions are audited (clinic_shared.audit).
    scheduler = Scheduler(settings, session_factory, clock or utcnow, correlation_id=request_id,
                          actor=lambda: g.get("principal"))
    tokens = TokenAuthority.from_settings(base, revoked=ErasedClients(session_factory, erased_clients))
    waitlist = Waitlist(scheduler, WaitlistOffers(settings, session_factory, clock or utcnow))
    app.extensions[EXTENSION] = BookingContext(settings, scheduler, tokens, engine, waitlist)
    document_settings(api, documented_settings(settings.rules))
    register_blueprints(api)
    app.register_blueprint(internal_export_blueprint())  # not public: left out of the OpenAPI document
    return app
