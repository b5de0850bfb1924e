"""`GET /api/clients/{client_id}/export` (API.md "A client's data"): everything the system holds about one
person, gathered from each service's own `/internal/clients/{id}/export`.

Each service answers only for what it owns and checks the caller itself (admin, or the client for their own),
so the gateway passes the token on and decides nothing but how the answers combine (`combine_exports`, pure):
the screening service knows who the client is, so its 404 (never screened, or erased) is the answer; any
other refusal (401, 403) is passed on as it is; a service that cannot answer makes the whole export 503,
since a partial export would look complete.
"""
from __future__ import annotations

import json

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from clinic_shared.errors import ApiError
from clinic_shared.logs import REQUEST_ID_HEADER
from clinic_shared.web import ErrorEnvelopeSchema, request_id

from .upstreams import unavailable

PARTS = {  # service -> the keys of the export it answers for
    "screening": ("client", "screenings"),
    "booking": ("bookings", "courses", "waitlist"),
    "notifications": ("notifications",),
}
EXPORT_PATH = "/internal/clients/{client_id}/export"

blp = Blueprint("client_export", __name__, url_prefix="/api", description="A client's data")


class ExportedClientSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)


class ClientExportSchema(Schema):
    client = fields.Nested(ExportedClientSchema, required=True)
    screenings = fields.List(fields.Dict(), required=True,
                             metadata={"description": "as GET /api/screenings/{id} gives them, answers included"})
    bookings = fields.List(fields.Dict(), required=True, metadata={"description": "as GET /api/bookings/{id}"})
    courses = fields.List(fields.Dict(), required=True, metadata={"description": "as GET /api/courses/{id}"})
    notifications = fields.List(fields.Dict(), required=True,
                                metadata={"description": "as GET /api/notifications lists them, with each `body`"})
    waitlist = fields.List(fields.Dict(), required=True, metadata={"description": "the client's waitlist entries"})


@blp.route("/clients/<string:client_id>/export")
class ClientExport(MethodView):
    @blp.response(200, ClientExportSchema)
    @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one (an erased client's).")
    @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Staff without the admin role.")
    @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No such client (or another client's, or erased).")
    @blp.alt_response(503, schema=ErrorEnvelopeSchema, description="A service could not answer.")
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, client_id):
        """Everything the system holds about a client, from every service (admin, or the client for their own).

        An admin's export is recorded in the audit trail (`client.exported`, and `screening.answers_read`
        for each screening)."""
        headers = {REQUEST_ID_HEADER: request_id()}
        if "Authorization" in request.headers:
            headers["Authorization"] = request.headers["Authorization"]
        upstreams = current_app.extensions["gateway.upstreams"]
        answers = upstreams.ask_each(list(PARTS), "GET", EXPORT_PATH.format(client_id=client_id), headers)
        return combine_exports(answers)


def combine_exports(answers: dict) -> dict:
    """service -> (status, body as bytes) or None when it did not answer: the export, or the ApiError to give."""
    parsed = {}
    for service, answer in answers.items():
        if answer is None or answer[0] >= 500:
            raise unavailable(service)
        parsed[service] = (answer[0], _json(answer[1]))
    for service in PARTS:  # the screening service's refusal first: it knows who the client is
        status, body = parsed[service]
        if status != 200:
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                raise ApiError(status, error.get("code", "error"), error.get("message", ""), error.get("details"))
            raise ApiError(503, "service_unavailable", f"The {service} service gave no usable answer.",
                           {"service": service})
    return {key: parsed[service][1][key] for service, keys in PARTS.items() for key in keys}


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None
