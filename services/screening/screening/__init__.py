"""The screening service: the contraindication questionnaire, its outcome, staff clearance."""
from __future__ import annotations


def create_app(settings=None, **overrides):
    """The composition root: settings, rule set, database, tokens, API. Nothing happens at import."""
    from clinic_shared.auth import TokenAuthority
    from clinic_shared.broker import broker_ok
    from clinic_shared.db import database_ok, make_engine, make_session_factory
    from clinic_shared.heartbeat import worker_check
    from clinic_shared.openapi import document_settings
    from clinic_shared.web import create_service_app

    from clinic_shared.erasure import ErasedClients

    from .api.clients import clients_blueprint, internal_export_blueprint
    from .api.questionnaire import questionnaire_blueprint
    from .api.schemas import documented_settings
    from .api.screenings import screenings_blueprint
    from .api.sign_in import sign_in_blueprint
    from .context import EXTENSION_KEY, ScreeningContext
    from .domain.ruleset import load_ruleset
    from .settings import SERVICE, load_screening_settings
    from .store.tables import erased_clients, heartbeat

    settings = settings or load_screening_settings()
    if overrides:
        settings = settings.with_overrides(**overrides)
    base = settings.base
    ruleset = load_ruleset(settings.rules_file)  # a broken rule set stops the start, not a request
    engine = make_engine(base.database_url)
    session_factory = make_session_factory(engine)
    context = ScreeningContext(
        settings=settings, ruleset=ruleset, engine=engine, session_factory=session_factory,
        tokens=TokenAuthority.from_settings(base, revoked=ErasedClients(session_factory, erased_clients)))

    app, api = create_service_app(SERVICE, "Clinic screening service", {
        "database": lambda: database_ok(engine),
        "broker": lambda: broker_ok(base),
        "worker": worker_check(context.session_factory, heartbeat, base.worker_heartbeat_timeout_seconds),
    })
    app.extensions[EXTENSION_KEY] = context
    document_settings(api, documented_settings(settings.areas, ruleset))
    api.register_blueprint(questionnaire_blueprint())
    api.register_blueprint(screenings_blueprint())
    api.register_blueprint(sign_in_blueprint())
    api.register_blueprint(clients_blueprint())
    app.register_blueprint(internal_export_blueprint())  # not public: left out of the OpenAPI document
    return app
