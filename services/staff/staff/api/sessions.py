"""Signing in and out, and who am I: POST /api/staff/sessions, DELETE .../current, GET /api/staff/me."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.db import transaction, utcnow
from clinic_shared.datetimes import to_local_iso
from clinic_shared.errors import ApiError, rate_limited
from clinic_shared.web import ErrorEnvelopeSchema, request_id

from ..context import current_context
from ..operations import sign_in, sign_out
from .auth import bearer_token, staff_only
from .presenters import member_view
from .schemas import MemberSchema, SessionSchema, SignInSchema

BEARER = [{"bearerAuth": []}]


def sessions_blueprint() -> Blueprint:
    blp = Blueprint("staff_sessions", __name__, description="Staff sign-in.")

    @blp.route("/api/staff/sessions")
    class Sessions(MethodView):
        @blp.arguments(SignInSchema)
        @blp.response(201, SessionSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="A wrong e-mail or password (one answer).")
        @blp.alt_response(429, schema=ErrorEnvelopeSchema, description="Five failed attempts in 15 minutes.")
        def post(self, body):
            """Sign in with e-mail and password: a token for `CLINIC_STAFF_SESSION_HOURS`."""
            ctx = current_context()
            with transaction(ctx.session_factory) as session:
                result = sign_in(session, ctx.settings, body["email"], body["password"], utcnow(), request_id())
            if result.locked_seconds:
                raise rate_limited("Too many failed sign-ins for this e-mail; try again later.", result.locked_seconds)
            if not result.succeeded:
                raise ApiError(401, "unauthorized", "The e-mail or the password is wrong.")
            staff = member_view(result.member)
            staff.pop("active")
            return {"token": result.token, "expires_at": to_local_iso(result.expires_at, ctx.settings.base.tz),
                    "staff": staff}

    @blp.route("/api/staff/sessions/current")
    class CurrentSession(MethodView):
        @staff_only()
        @blp.response(204)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
        @blp.doc(security=BEARER)
        def delete(self):
            """Sign out: this token answers 401 from now on (the operator key cannot be signed out)."""
            ctx = current_context()
            with transaction(ctx.session_factory) as session:
                sign_out(session, bearer_token(), utcnow())

    @blp.route("/api/staff/me")
    class Me(MethodView):
        @staff_only()
        @blp.response(200, MemberSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not a staff token.")
        @blp.doc(security=BEARER)
        def get(self):
            """The member this token signs in (the operator key: the operator, role admin)."""
            staff = g.principal.staff
            return {"id": staff.id, "name": staff.name, "email": staff.email, "role": staff.role,
                    "practitioner_id": staff.practitioner_id, "active": True}

    return blp
