"""The parts of a service's Flask app that every service shares.

`create_service_app` builds the app and its flask-smorest `Api` (inside the factory, never at
import time), the error envelope, request ids, body limits and `GET /health`. The service then
registers its own blueprints on the returned `api`.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Mapping

from flask import Flask, g, jsonify, request
from flask_smorest import Api
from marshmallow import Schema, fields

from . import request_transaction
from .database_retry import install_database_retry
from .errors import MAX_BODY_BYTES, register_error_handlers
from .request_guards import install_request_guards
from .logs import REQUEST_ID_HEADER, bind_correlation_id, new_request_id


access_log = logging.getLogger("clinic.access")


class ErrorDetailSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorEnvelopeSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class ClinicApi(Api):
    ERROR_SCHEMA = ErrorEnvelopeSchema


def create_service_app(name: str, title: str, health_checks: Mapping[str, Callable[[], bool]],
                       version: str = "1.0") -> tuple[Flask, ClinicApi]:
    app = Flask(name)
    app.config.update(
        API_TITLE=title,
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    api = ClinicApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}})
    app.before_request(_bind_request_id)  # first, so every later log line carries the id
    register_error_handlers(app)
    install_request_guards(app)
    install_database_retry(app)
    app.after_request(_echo_request_id)
    app.teardown_request(request_transaction.discard)  # one the token check began and the view never continued

    @app.get("/health")
    def health():
        checks = {part: ("ok" if check() else "down") for part, check in health_checks.items()}
        ok = all(state == "ok" for state in checks.values())
        return jsonify({"status": "ok" if ok else "down", "checks": checks}), (200 if ok else 503)

    return app, api


def request_id() -> str | None:
    return g.get("request_id")


def _bind_request_id():
    g.request_id = request.headers.get(REQUEST_ID_HEADER) or new_request_id()
    g.request_started = time.perf_counter()
    bind_correlation_id(g.request_id)


def _echo_request_id(response):
    if g.get("request_id"):
        response.headers[REQUEST_ID_HEADER] = g.request_id
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    access_log.info("%s %s %s %sms", request.method, request.path, response.status_code, duration_ms)
    return response
