"""The /api/waitlist endpoints: join the waitlist for a full day, read, list and leave it."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.auth import authorised
from clinic_shared.paging import page_of

from .context import client_filter, require_client, require_principal, waitlist
from .schemas import WaitlistEntrySchema, WaitlistListSchema, WaitlistQuerySchema, WaitlistRequestSchema

blp = Blueprint("waitlist", __name__, url_prefix="/api", description="Waiting for a full day")


@blp.route("/waitlist")
class WaitlistEntries(MethodView):
    @authorised(require_client)
    @blp.arguments(WaitlistRequestSchema)
    @blp.response(201, WaitlistEntrySchema)
    def post(self, body):
        """Wait for a day (client token): checked as a booking would be, without a slot; time that frees up
        on it is offered to the oldest waiting entry that fits, and held for a while."""
        row = waitlist().join(g.principal.client_id, body["screening_id"], body["type"], body["areas"], body["date"])
        return waitlist().entry_view(row)

    @authorised(require_principal)
    @blp.arguments(WaitlistQuerySchema, location="query")
    @blp.response(200, WaitlistListSchema)
    def get(self, query):
        """Waitlist entries in the order they joined (on one date, the order they are served): a client's own, or
        all for staff (`?date=` for one day's); in pages of `limit`, the next one from `next_cursor`."""
        rows = waitlist().list_entries(client_filter(g.principal), query.get("date"), limit=query["limit"],
                                       after=query.get("cursor"))
        page, next_cursor = page_of(rows, query["limit"], lambda r: (r.created_at, r.id))
        return {"waitlist": [waitlist().entry_view(r) for r in page], "next_cursor": next_cursor}


@blp.route("/waitlist/<entry_id>")
class WaitlistEntryById(MethodView):
    @authorised(require_principal)
    @blp.response(200, WaitlistEntrySchema)
    def get(self, entry_id):
        """One entry, with the offer it holds, for its client or staff."""
        return waitlist().entry_view(waitlist().get(entry_id, client_filter(g.principal)))

    @authorised(require_principal)
    @blp.response(204)
    def delete(self, entry_id):
        """Leave the waitlist (its client, or staff); time held for it goes to the next entry."""
        waitlist().remove(entry_id, client_filter(g.principal))
