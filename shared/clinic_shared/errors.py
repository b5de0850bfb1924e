"""The contract's error envelope, and Flask handlers that put every error into it.

`{"error": {"code": ..., "message": ..., "details": {...}}}` whatever went wrong, including
flask-smorest's validation errors, an unreachable database (503) and unexpected exceptions (which
answer 500, never a traceback).
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .datetimes import TIMEZONE_REQUIRED

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 2

STATUS_CODES = {
    400: ("bad_request", "The request body is not valid JSON."),
    401: ("unauthorized", "A valid bearer token is required."),
    403: ("forbidden", "This token does not give access to that."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "That method is not allowed here."),
    409: ("conflict", "That conflicts with the current state."),
    413: ("payload_too_large", "The request body is larger than 64 KiB."),
    422: ("validation_error", "Some fields are missing or malformed."),
    429: ("rate_limited", "Too many requests; try again later."),
    500: ("internal_error", "Something went wrong on our side; nothing was changed twice."),
    503: ("service_unavailable", "A part of the system is not available right now."),
}

MAX_BODY_BYTES = 64 * 1024


class ApiError(Exception):
    """An error a handler raises on purpose: it becomes the envelope with this status and code."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def rate_limited(message: str, wait_seconds: int) -> ApiError:
    """429 `rate_limited`, saying how long to wait both in `details.retry_after_seconds` and in `Retry-After`."""
    return ApiError(429, "rate_limited", message, {"retry_after_seconds": wait_seconds},
                    headers={"Retry-After": str(wait_seconds)})


def validation_error(fields: dict) -> ApiError:
    """422 `validation_error` naming each bad field, as schemas do, for checks a schema cannot make."""
    code, message = STATUS_CODES[422]
    return ApiError(422, code, message, {"fields": fields})


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str | None = None, message: str | None = None,
                   details: dict | None = None, headers: dict | None = None):
    default_code, default_message = STATUS_CODES.get(status, ("error", "Request failed."))
    response = jsonify(error_body(code or default_code, message or default_message, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_details(messages) -> dict:
    """Turn webargs' `{"json": {"field": [...]}, "query": {...}}` into `{"fields": {...}}`."""
    fields: dict = {}
    if isinstance(messages, dict):
        for location, per_field in messages.items():
            if isinstance(per_field, dict):
                fields.update(per_field)
            else:
                fields[location] = per_field
    return {"fields": fields}


def _mentions(value, text: str) -> bool:
    if isinstance(value, str):
        return value == text
    if isinstance(value, dict):
        return any(_mentions(v, text) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, text) for v in value)
    return False


def register_error_handlers(app: Flask) -> None:
    """Install the envelope for every error. Call after `Api.init_app` so these win."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 422:
            details = validation_details(getattr(exc, "data", {}).get("messages", {}))
            if _mentions(details, TIMEZONE_REQUIRED):
                return error_response(422, "timezone_required", TIMEZONE_REQUIRED, details)
            return error_response(422, details=details)
        if status == 400:
            return error_response(400)
        headers = {}
        if status == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return error_response(status, headers=headers)

    @app.errorhandler(OperationalError)
    def _database_unavailable(exc: OperationalError):
        # The database refused or dropped the connection (down, restarting, out of connections):
        # the service is down for the moment, which API.md answers with 503, not 500.
        log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.orig or exc)
        return error_response(503, message="The database is not available right now; try again shortly.",
                              headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)

    app.before_request(_require_json_body)


def _require_json_body():
    """Refuse a body that is not JSON with 400 before any handler sees it (API.md: 400 bad_request)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return error_response(413)
    raw = request.get_data(cache=True)  # never past the limit: chunked bodies are measured in request_guards
    if not raw.strip():
        return None  # an empty body is an empty object: the schema says what is missing
    if not request.is_json:
        return error_response(400, message="The body must be JSON (Content-Type: application/json).")
    if request.get_json(silent=True) is None:
        return error_response(400)
    return None
