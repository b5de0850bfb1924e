"""POST /internal/sessions/introspect: who a session token signs in, for the other services.

Not behind the gateway (it forwards /api/... only) and asked with the operator key, which every
service holds; it answers 404 for a token that is unknown, ended or expired.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, jsonify, request

from clinic_shared.db import utcnow
from clinic_shared.errors import ApiError

from ..context import current_context
from ..operations import member_of_token
from .auth import bearer_token


def internal_blueprint() -> Blueprint:
    blp = Blueprint("internal", __name__)

    @blp.post("/internal/sessions/introspect")
    def introspect():
        ctx = current_context()
        if not hmac.compare_digest(bearer_token().encode(), ctx.settings.base.staff_token.encode()):
            raise ApiError(401, "unauthorized", "This endpoint is for the clinic's services.")
        body = request.get_json(silent=True)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise ApiError(422, "validation_error", "Send {\"token\": \"...\"}.")
        with ctx.session_factory() as session:
            member = member_of_token(session, token, utcnow())
        if member is None:
            raise ApiError(404, "not_found", "No live session has this token.")
        return jsonify({"staff": {"id": member.id, "name": member.name, "email": member.email,
                                  "role": member.role, "practitioner_id": member.practitioner_id}})

    return blp
