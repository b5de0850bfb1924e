"""A client's data: their erasure (admin; this service owns the record) and this service's part of their export.

The export is gathered by the gateway (`GET /api/clients/{id}/export`) from each service's
`/internal/clients/{id}/export`; this service answers for the client and their screenings, and 404 for a
client it does not know (or no longer does), which the gateway passes on.
"""
from __future__ import annotations

from flask import Blueprint as FlaskBlueprint, g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.db import transaction, utcnow
from clinic_shared.errors import ApiError
from clinic_shared.web import ErrorEnvelopeSchema, request_id

from ..client_data import ClientNotFound, export_client, request_erasure
from ..context import current_context
from ..store.repository import get_erasure
from .auth import authorized
from .presenters import erasure_view, export_view
from .schemas import ErasureSchema

BEARER = [{"bearerAuth": []}]


def _no_client() -> ApiError:
    return ApiError(404, "not_found", "No such client.")


def clients_blueprint() -> Blueprint:
    blp = Blueprint("clients", __name__, description="A client's data: erasure (admin).")

    @blp.route("/api/clients/<string:client_id>/erasure")
    class Erasure(MethodView):
        @authorized("staff", "client_data")
        @blp.response(202, ErasureSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not an admin.")
        @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No such client.")
        @blp.doc(security=BEARER)
        def post(self, client_id):
            """Erase a client everywhere: future bookings cancelled without a message, past ones kept without
            anything that identifies them; name, e-mail, phone and answers removed from every service; their
            tokens end. Asking again answers the erasure already under way (or done)."""
            ctx = current_context()
            try:
                with transaction(ctx.session_factory) as session:
                    record = request_erasure(session, client_id, reason="request", now=utcnow(),
                                             tz=ctx.settings.base.tz, principal=g.principal,
                                             correlation_id=request_id())
            except ClientNotFound:
                raise _no_client()
            return erasure_view(record, ctx.settings.base.tz)

        @authorized("staff", "client_data")
        @blp.response(200, ErasureSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not an admin.")
        @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No erasure of this client.")
        @blp.doc(security=BEARER)
        def get(self, client_id):
            """The erasure of a client: `done` once every service has erased its part."""
            ctx = current_context()
            with ctx.session_factory() as session:
                record = get_erasure(session, client_id)
            if record is None:
                raise ApiError(404, "not_found", "No erasure of this client.")
            return erasure_view(record, ctx.settings.base.tz)

    return blp


def internal_export_blueprint() -> FlaskBlueprint:
    """Not behind the gateway's forwarding (and left out of the OpenAPI document): the gateway asks it."""
    blp = FlaskBlueprint("client_export", __name__)

    @blp.get("/internal/clients/<string:client_id>/export")
    def export(client_id: str):
        ctx = current_context()
        principal = ctx.tokens.require_own_or_staff(request, client_id, "client_data")
        try:
            with transaction(ctx.session_factory) as session:
                records = export_client(session, client_id, principal, request_id())
        except ClientNotFound:
            raise _no_client()
        return jsonify(export_view(client_id, records, ctx.settings.base.tz))

    return blp
