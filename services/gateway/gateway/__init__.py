"""The gateway: the one HTTP entry point for web clients and staff, and the booking web page.

`create_app()` is the composition root (served by `gunicorn 'gateway:create_app()'`; with
`CLINIC_REDIS_URL` set, as many worker processes and replicas as wanted share one rate-limit count).
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from clinic_shared.settings import Settings
from clinic_shared.web import create_service_app

from . import api, client_export, pages, proxy
from .limiting import install_rate_limit
from .rate_limit import parse_rate
from .request_ids import DropInsaneRequestIds
from .settings import GatewaySettings, load_gateway_settings
from .upstreams import DEFAULT_TIMEOUT, Upstreams


def create_app(settings: GatewaySettings | Settings | None = None, *,
               upstream_timeout: tuple[float, float] = DEFAULT_TIMEOUT, **overrides) -> Flask:
    """`settings`: the gateway's (default: from the environment), or the shared ones alone (then no Redis
    and no trusted proxies); `overrides` may replace any of them (e.g. rate_limit="5/second")."""
    settings = settings or load_gateway_settings()
    if isinstance(settings, Settings):
        settings = GatewaySettings(base=settings)
    if overrides:
        settings = settings.with_overrides(**overrides)
    base = settings.base
    rate = parse_rate(base.rate_limit)  # a bad setting stops the start, not a request
    sign_in_rate = parse_rate(settings.sign_in_rate_limit, "CLINIC_SIGN_IN_RATE_LIMIT")

    # The shared app brings the error envelope, the 64 KiB limit (chunked bodies too), the NUL and
    # JSON-depth guards, request ids and GET /health
    # (the gateway's own liveness; /api/health asks the services).
    app, smorest_api = create_service_app("gateway", "Clinic gateway", health_checks={})
    app.wsgi_app = DropInsaneRequestIds(app.wsgi_app)
    if settings.trusted_proxies:
        # The client's address is what the outermost trusted proxy saw: X-Forwarded-For's value that many
        # hops from its end. Only the address: the gateway builds no URL from the request's host or scheme.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=0, x_host=0, x_port=0,
                                x_prefix=0)
    app.extensions["gateway.api"] = smorest_api
    app.extensions["gateway.upstreams"] = Upstreams(base.service_urls, timeout=upstream_timeout)
    # Keys carry the deployment's prefix, so deployments sharing one Redis (as they may share a broker) do not mix.
    install_rate_limit(app, rate, sign_in_rate, settings.redis_url, key_prefix=f"{base.topology_prefix}-gateway")

    smorest_api.register_blueprint(api.blp)
    smorest_api.register_blueprint(client_export.blp)
    app.register_blueprint(proxy.blp)
    app.register_blueprint(pages.blp)
    pages.install_page_headers(app)
    return app
