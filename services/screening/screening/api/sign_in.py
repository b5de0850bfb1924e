"""Sign-in by e-mail (API.md "Clients who come back"): ask for a link, exchange its code for a client token.

Both are public. The link's answer is the same 202 whether or not anyone has the e-mail.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.datetimes import to_local_iso
from clinic_shared.db import transaction, utcnow
from clinic_shared.errors import ApiError, rate_limited
from clinic_shared.web import ErrorEnvelopeSchema, request_id

from ..context import current_context
from ..operations import SignInCodeNotValid, TooManySignInLinks, exchange_sign_in_code, request_sign_in_link
from .schemas import SignInLinkInSchema, SignInLinkSchema, SignInTokenInSchema, SignInTokenSchema


def sign_in_blueprint() -> Blueprint:
    blp = Blueprint("sign_in", __name__, description="Clients who come back: sign-in by e-mail.")

    @blp.route("/api/auth/link")
    class SignInLink(MethodView):
        @blp.arguments(SignInLinkInSchema)
        @blp.response(202, SignInLinkSchema)
        @blp.alt_response(429, schema=ErrorEnvelopeSchema, description="Too many links for this e-mail lately.")
        @blp.doc(security=[{}])
        def post(self, body):
            """Send a sign-in link to this e-mail if a client has it: `<CLINIC_PUBLIC_URL>/#code=<code>`,
            working once for 15 minutes. The same answer whether or not the e-mail is known."""
            ctx = current_context()
            try:
                with transaction(ctx.session_factory) as session:
                    request_sign_in_link(session, email=body["email"], now=utcnow(), policy=ctx.settings.sign_in,
                                         tz=ctx.settings.base.tz, correlation_id=request_id())
            except TooManySignInLinks as refused:
                raise rate_limited("Several sign-in links went to this address just now; please use the newest "
                                   "one or wait a little.", refused.wait_seconds)
            return {}

    @blp.route("/api/auth/token")
    class SignInToken(MethodView):
        @blp.arguments(SignInTokenInSchema)
        @blp.response(200, SignInTokenSchema)
        @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="A used, expired or unknown code.")
        @blp.doc(security=[{}])
        def post(self, body):
            """Exchange a sign-in code (once) for a client token; the client's contact and newest screening
            come with it (beyond API.md, additive), so the page need not ask for them again."""
            ctx = current_context()
            try:
                with transaction(ctx.session_factory) as session:
                    newest = exchange_sign_in_code(session, code=body["code"], now=utcnow())
            except SignInCodeNotValid:
                raise ApiError(401, "unauthorized", "This sign-in link has been used or has expired; "
                                                    "please ask for a new one.")
            tz = ctx.settings.base.tz
            return {
                "access_token": ctx.tokens.issue_client_token(newest.client_id),
                "client_id": newest.client_id,
                "client": {"name": newest.client_name, "email": newest.client_email, "phone": newest.client_phone},
                "screening": {"id": newest.id, "outcome": newest.outcome, "areas": list(newest.areas),
                              "valid_until": to_local_iso(newest.valid_until, tz),
                              "created_at": to_local_iso(newest.created_at, tz)},
            }

    return blp
