"""Forwarding `/api/...` to the service that owns the path, unchanged."""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from clinic_shared.errors import ApiError, error_response
from clinic_shared.logs import REQUEST_ID_HEADER
from clinic_shared.web import request_id

from .routing import owner_of

# The forwarded request headers, by the WSGI environ key each arrives under: read from the environ directly,
# since every lookup through `request.headers` costs a Werkzeug header view and a context-local lookup.
FORWARDED_REQUEST_HEADERS = {"Content-Type": "CONTENT_TYPE", "Authorization": "HTTP_AUTHORIZATION",
                             "Idempotency-Key": "HTTP_IDEMPOTENCY_KEY", "If-Match": "HTTP_IF_MATCH"}
# The returned response headers, by their lower-case names (the answer's headers are read in one pass).
RETURNED_RESPONSE_HEADERS = {name.lower(): name for name in ("Content-Type", "Retry-After", "Location", "Allow")}
# OPTIONS too: the owning service answers it with the methods that path really has (`Allow`).
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

blp = Blueprint("proxy", __name__)


@blp.route("/api/<path:rest>", methods=METHODS)
def forward(rest: str):
    path = request.path
    service = owner_of(path)
    if service is None:
        allowed = _own_methods(path)
        if allowed:  # a path of the gateway itself (GET /api/health), asked with another method
            return error_response(405, headers={"Allow": ", ".join(sorted(allowed))})
        raise ApiError(404, "not_found", f"There is no endpoint at {path}.")
    environ = request.environ
    headers = {name: environ[key] for name, key in FORWARDED_REQUEST_HEADERS.items() if key in environ}
    headers[REQUEST_ID_HEADER] = request_id()
    upstream = current_app.extensions["gateway.upstreams"].forward(
        service, request.method, path, request.query_string.decode("latin-1"), request.get_data(cache=True), headers)
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
    """The answer's headers the client gets (the first of each, were one repeated), in one pass over them."""
    returned: dict[str, str] = {}
    for name, value in upstream.headers.items():
        ours = RETURNED_RESPONSE_HEADERS.get(name.lower())
        if ours is not None and ours != skip:
            returned.setdefault(ours, value)
    return returned


def _is_envelope(body: bytes) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and isinstance(document.get("error"), dict)
