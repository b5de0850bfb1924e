"""The gateway: the one HTTP entry point for web clients and staff, and the booking web page.

`create_app()` is the composition root (served by `gunicorn 'gateway:create_app()'` with one
worker process and threads: the rate limiter lives in memory).
"""
from __future__ import annotations

from flask import Flask

from clinic_shared.settings import Settings, load_settings
from clinic_shared.web import create_service_app

from . import api, client_export, pages, proxy
from .limiting import install_rate_limit
from .rate_limit import parse_rate
from .request_ids import DropInsaneRequestIds
from .upstreams import DEFAULT_TIMEOUT, Upstreams


def create_app(settings: Settings | None = None, *,
               upstream_timeout: tuple[float, float] = DEFAULT_TIMEOUT, **overrides) -> Flask:
    settings = settings or load_settings("gateway")
    if overrides:
        settings = settings.with_overrides(**overrides)
    rate = parse_rate(settings.rate_limit)  # a bad setting stops the start, not a request

    # The shared app brings the error envelope, the 64 KiB limit (chunked bodies too), the NUL and
    # JSON-depth guards, request ids and GET /health
    # (the gateway's own liveness; /api/health asks the services).
    app, smorest_api = create_service_app("gateway", "Clinic gateway", health_checks={})
    app.wsgi_app = DropInsaneRequestIds(app.wsgi_app)
    app.extensions["gateway.api"] = smorest_api
    app.extensions["gateway.upstreams"] = Upstreams(settings.service_urls, timeout=upstream_timeout)
    install_rate_limit(app, rate)

    smorest_api.register_blueprint(api.blp)
    smorest_api.register_blueprint(client_export.blp)
    app.register_blueprint(proxy.blp)
    app.register_blueprint(pages.blp)
    pages.install_page_headers(app)
    return app
