"""Staff members (admin): add, list, change."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.db import transaction, utcnow
from clinic_shared.errors import ApiError
from clinic_shared.web import ErrorEnvelopeSchema, request_id

from ..context import current_context
from ..operations import EmailTaken, MemberNotFound, change_member, create_member
from ..store.repository import list_members
from .auth import staff_only
from .presenters import member_view
from .schemas import MemberChangeSchema, MemberListSchema, MemberSchema, NewMemberSchema

BEARER = [{"bearerAuth": []}]


def _email_taken() -> ApiError:
    return ApiError(409, "conflict", "A member already has this e-mail.", {"fields": {"email": ["Already used."]}})


def members_blueprint() -> Blueprint:
    blp = Blueprint("staff_members", __name__, description="Staff members (admin).")

    @blp.route("/api/staff/members")
    class Members(MethodView):
        @staff_only("staff_members")
        @blp.arguments(NewMemberSchema)
        @blp.response(201, MemberSchema)
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not an admin.")
        @blp.alt_response(409, schema=ErrorEnvelopeSchema, description="The e-mail is already used.")
        @blp.doc(security=BEARER)
        def post(self, body):
            """Add a member with a password of at least 12 characters."""
            ctx = current_context()
            try:
                with transaction(ctx.session_factory) as session:
                    member = create_member(session, g.principal.staff.actor, now=utcnow(), request_id=request_id(),
                                           **body)
            except EmailTaken:
                raise _email_taken()
            return member_view(member)

        @staff_only("staff_members")
        @blp.response(200, MemberListSchema)
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not an admin.")
        @blp.doc(security=BEARER)
        def get(self):
            """Every member, active or not, in the order they were added."""
            with current_context().session_factory() as session:
                return {"members": [member_view(m) for m in list_members(session)]}

    @blp.route("/api/staff/members/<string:member_id>")
    class MemberById(MethodView):
        @staff_only("staff_members")
        @blp.arguments(MemberChangeSchema)
        @blp.response(200, MemberSchema)
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not an admin.")
        @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No such member.")
        @blp.doc(security=BEARER)
        def patch(self, body, member_id):
            """Change a member; made inactive or given a new password, they are signed out everywhere."""
            ctx = current_context()
            try:
                with transaction(ctx.session_factory) as session:
                    member = change_member(session, g.principal.staff.actor, member_id, body, utcnow(), request_id())
            except MemberNotFound:
                raise ApiError(404, "not_found", "No such member.")
            return member_view(member)

    return blp
