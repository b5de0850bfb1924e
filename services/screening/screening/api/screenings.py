"""Screenings: submit (public), read (owner or staff), the clearance queue and decisions (staff)."""
from __future__ import annotations

import uuid

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.db import transaction, utcnow
from clinic_shared.errors import ApiError
from clinic_shared.paging import page_of
from clinic_shared.web import ErrorEnvelopeSchema, request_id

from ..client_data import ClientErased, ensure_not_erased
from ..context import current_context
from ..operations import (ClearanceConflict, Contact, ScreeningNotFound, clear_screening, note_answers_read,
                          submit_screening)
from ..store.repository import get_screening, list_screenings
from .auth import authorized
from .presenters import screening_view
from .schemas import (ClearanceInSchema, ScreeningCreatedSchema, ScreeningInSchema, ScreeningListSchema,
                      ScreeningQuerySchema, ScreeningSchema)

BEARER = [{"bearerAuth": []}]


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "No such screening.")


def screenings_blueprint() -> Blueprint:
    blp = Blueprint("screenings", __name__, description="Screenings: who may be treated.")

    @blp.route("/api/screenings")
    class Screenings(MethodView):
        @authorized("optional")
        @blp.arguments(ScreeningInSchema)
        @blp.response(201, ScreeningCreatedSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="A bad or expired token.")
        @blp.doc(security=[{}, *BEARER])
        def post(self, body):
            """Answer the questionnaire; with a client token the screening is added to that client.

            Without one a new client is made: a client is never looked up by e-mail, which would
            hand one person's screenings to whoever types their address.
            """
            ctx = current_context()
            principal = g.principal
            known = principal is not None and not principal.is_staff
            client_id = principal.client_id if known else str(uuid.uuid4())
            try:
                with transaction(ctx.session_factory) as session:
                    if known:
                        ensure_not_erased(session, client_id)  # an erasure that committed since the token check
                    record = submit_screening(
                        session, ruleset=ctx.ruleset, client_id=client_id, contact=Contact(**body["client"]),
                        areas=body["areas"], answers=body["answers"], now=utcnow(),
                        validity_days=ctx.settings.validity_days, tz=ctx.settings.base.tz,
                        correlation_id=request_id())
            except ClientErased:
                raise ApiError(401, "unauthorized", "The bearer token is invalid or has expired.")
            view = screening_view(record, ctx.settings.base.tz)
            view["access_token"] = ctx.tokens.issue_client_token(client_id)
            return view

        @authorized("staff", "screenings")
        @blp.arguments(ScreeningQuerySchema, location="query")
        @blp.response(200, ScreeningListSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not a staff token.")
        @blp.doc(security=BEARER)
        def get(self, query):
            """Screenings, oldest first, in pages; `?outcome=consultation_required` is the clearance queue.

            Without the role to read health data (reception) the screenings come without `answers`;
            with it, each answers read is recorded in the audit trail."""
            ctx = current_context()
            with_answers = g.principal.may("screening_answers")
            with transaction(ctx.session_factory) as session:
                rows = list_screenings(session, query.get("outcome"), limit=query["limit"],
                                       after=query.get("cursor"))
                records, next_cursor = page_of(rows, query["limit"], lambda r: (r.created_at, r.id))
                if with_answers:  # only what this page shows was read
                    note_answers_read(session, g.principal, [r.id for r in records], request_id())
            return {"screenings": [screening_view(r, ctx.settings.base.tz, with_answers) for r in records],
                    "next_cursor": next_cursor}

    @blp.route("/api/screenings/<string:screening_id>")
    class ScreeningById(MethodView):
        @authorized("principal")
        @blp.response(200, ScreeningSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
        @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No such screening, or not yours.")
        @blp.doc(security=BEARER)
        def get(self, screening_id):
            """One screening with its answers: for its client or staff (reception: without `answers`)."""
            ctx = current_context()
            principal = g.principal
            if principal.is_staff and not principal.may("screenings"):
                raise ApiError(403, "forbidden", "This role may not read screenings.")
            with_answers = not principal.is_staff or principal.may("screening_answers")
            with transaction(ctx.session_factory) as session:
                record = get_screening(session, screening_id)
                if record is None or not principal.may_see(record.client_id):
                    raise _not_found()  # another client's screening looks exactly like a missing one
                if principal.is_staff and with_answers:
                    note_answers_read(session, principal, [record.id], request_id())
            return screening_view(record, ctx.settings.base.tz, with_answers)

    @blp.route("/api/screenings/<string:screening_id>/clearance")
    class Clearance(MethodView):
        @authorized("staff", "clearance")
        @blp.arguments(ClearanceInSchema)
        @blp.response(200, ScreeningSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not a staff token.")
        @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No such screening.")
        @blp.alt_response(409, schema=ErrorEnvelopeSchema, description="The outcome is not consultation_required.")
        @blp.doc(security=BEARER)
        def post(self, body, screening_id):
            """After a consultation: approved makes the screening eligible, declined not_suitable.

            valid_until stays as it was (90 days from the screening): CLINIC.md counts validity
            from when the screening was made.
            """
            ctx = current_context()
            try:
                with transaction(ctx.session_factory) as session:
                    record = clear_screening(
                        session, screening_id, decision=body["decision"], note=body["note"],
                        decided_by=g.principal.staff.id, now=utcnow(), tz=ctx.settings.base.tz,
                        correlation_id=request_id(), principal=g.principal)
            except ScreeningNotFound:
                raise _not_found()
            except ClearanceConflict as exc:
                raise ApiError(409, "conflict",
                               "Only a screening whose outcome is consultation_required can be cleared.",
                               {"reason": str(exc)})
            return screening_view(record, ctx.settings.base.tz)

    return blp
