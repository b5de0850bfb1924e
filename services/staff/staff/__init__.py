"""The staff service: staff accounts, their sessions, and the audit trail of what staff did."""
from __future__ import annotations


def create_app(settings=None, **overrides):
    """The composition root: settings, database, tokens, API. Nothing happens at import."""
    from clinic_shared.auth import TokenAuthority
    from clinic_shared.broker import broker_ok
    from clinic_shared.db import database_ok, make_engine, make_session_factory
    from clinic_shared.heartbeat import worker_check
    from clinic_shared.web import create_service_app

    from .api.audit import audit_blueprint
    from .api.internal import internal_blueprint
    from .api.members import members_blueprint
    from .api.sessions import sessions_blueprint
    from .context import EXTENSION_KEY, StaffContext
    from .directory import LocalStaffSessions, Practitioners
    from .settings import SERVICE, load_staff_settings
    from .store.tables import heartbeat

    settings = settings or load_staff_settings()
    if overrides:
        settings = settings.with_overrides(**overrides)
    base = settings.base
    engine = make_engine(base.database_url)
    session_factory = make_session_factory(engine)
    context = StaffContext(
        settings=settings, engine=engine, session_factory=session_factory,
        tokens=TokenAuthority(base.secret_key, base.staff_token, base.client_token_ttl_seconds,
                              LocalStaffSessions(session_factory)),
        practitioner_ids=Practitioners(base.service_urls["booking"]).ids)

    app, api = create_service_app(SERVICE, "Clinic staff service", {
        "database": lambda: database_ok(engine),
        "broker": lambda: broker_ok(base),
        "worker": worker_check(session_factory, heartbeat, base.worker_heartbeat_timeout_seconds),
    })
    app.extensions[EXTENSION_KEY] = context
    api.register_blueprint(sessions_blueprint())
    api.register_blueprint(members_blueprint())
    api.register_blueprint(audit_blueprint())
    app.register_blueprint(internal_blueprint())  # not public: left out of the OpenAPI document
    return app
