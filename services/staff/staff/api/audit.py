"""GET /api/audit (admin): the trail of what staff did, newest first, in cursor pages."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.paging import BY_SEQUENCE, page_of
from clinic_shared.web import ErrorEnvelopeSchema

from ..context import current_context
from ..store.repository import AuditFilter, audit_page
from .auth import staff_only
from .presenters import audit_entry_view
from .schemas import AuditPageSchema, AuditQuerySchema

BEARER = [{"bearerAuth": []}]


def audit_blueprint() -> Blueprint:
    blp = Blueprint("audit", __name__, description="The audit trail (admin).")

    @blp.route("/api/audit")
    class Audit(MethodView):
        @staff_only("audit")
        @blp.arguments(AuditQuerySchema, location="query")
        @blp.response(200, AuditPageSchema)
        @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not an admin.")
        @blp.doc(security=BEARER)
        def get(self, query):
            """Entries newest first; filter by `actor` (id), `resource_id`, `action`, `from`, `to`."""
            ctx = current_context()
            where = AuditFilter(actor=query.get("actor"), resource_id=query.get("resource_id"),
                                action=query.get("action"), since=query.get("from_"), until=query.get("to"))
            with ctx.session_factory() as session:
                rows = audit_page(session, where, query["limit"], query.get("cursor"))
            entries, next_cursor = page_of(rows, query["limit"], lambda e: (e.at, e.seq), BY_SEQUENCE)
            return {"entries": [audit_entry_view(e, ctx.settings.base.tz) for e in entries],
                    "next_cursor": next_cursor}

    return blp
