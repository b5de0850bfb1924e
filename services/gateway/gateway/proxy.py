"""Forwarding `/api/...` to the service that owns the path, unchanged."""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from clinic_shared.errors import ApiError, error_response
from clinic_shared.logs import REQUEST_ID_HEADER
from clinic_shared.web import request_id

from .routing import owner_of

FORWARDED_REQUEST_HEADERS = ("Content-Type", "Authorization", "Idempotency-Key", "If-Match")
RETURNED_RESPONSE_HEADERS = ("Content-Type", "Retry-After", "Location", "Allow")
# OPTIONS too: the owning service answers it with the methods that path really has (`Allow`).
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

blp = Blueprint("proxy", __name__)


@blp.route("/api/<path:rest>", methods=METHODS)
def forward(rest: str):
    service = owner_of(request.path)
    if service is None:
        allowed = _own_methods(request.path)
        if allowed:  # a path of the gateway itself (GET /api/health), asked with another method
            return error_response(405, headers={"Allow": ", ".join(sorted(allowed))})
        raise ApiError(404, "not_found", f"There is no endpoint at {request.path}.")
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    headers[REQUEST_ID_HEADER] = request_id()
    upstream = current_app.extensions["gateway.upstreams"].forward(
        service, request.method, request.path, request.query_string.decode("latin-1"),
        request.get_data(cache=True), headers)
    if upstream.status >= 400 and not _is_envelope(upstream.body):
        # e.g. a proxy or a crashed worker's plain-text page: the contract promises the envelope
        return error_response(upstream.status, headers=_returned_headers(upstream, skip="Content-Type"))
    return Response(upstream.body, status=upstream.status, headers=_returned_headers(upstream))


@blp.after_app_request
def _allow_of_own_routes(response):
    """Flask's automatic OPTIONS answer lists the methods of every rule matching the path, this
    catch-all's too; a path the gateway serves itself has only its own."""
    rule = request.url_rule
    if request.method == "OPTIONS" and rule is not None and request.endpoint != "proxy.forward":
        response.headers["Allow"] = ", ".join(sorted(rule.methods or ()))
    return response


def _own_methods(path: str) -> set[str]:
    """The methods of the gateway's own route at `path`, if any (every one of them answers GET)."""
    try:
        endpoint, _ = current_app.url_map.bind("gateway").match(path, method="GET")
    except HTTPException:
        return set()
    return {method for rule in current_app.url_map.iter_rules()
            if rule.endpoint == endpoint and endpoint != request.endpoint for method in rule.methods or ()}


def _returned_headers(upstream, skip: str | None = None) -> dict:
    return {name: upstream.headers[name] for name in RETURNED_RESPONSE_HEADERS
            if name in upstream.headers and name != skip}


def _is_envelope(body: bytes) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and isinstance(document.get("error"), dict)
