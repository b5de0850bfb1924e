"""This service's part of a client's export (`GET /internal/clients/{id}/export`), gathered by the gateway into
`GET /api/clients/{id}/export`: the client's bookings, courses and waitlist entries. Admin, or the client."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .context import context, scheduler, waitlist
from .courses import course_view
from .schemas import WaitlistEntrySchema


def internal_export_blueprint() -> Blueprint:
    blp = Blueprint("client_export", __name__)

    @blp.get("/internal/clients/<string:client_id>/export")
    def export(client_id: str):
        ctx = context()
        ctx.tokens.require_own_or_staff(request, client_id, "client_data")
        bookings, courses, entries = scheduler().client_export(client_id)
        return jsonify({
            "bookings": [scheduler().booking_view(b) for b in bookings],
            "courses": [course_view(c, [b for b in bookings if b.course_id == c.id]) for c in courses],
            "waitlist": WaitlistEntrySchema(many=True).dump([waitlist().entry_view(row) for row in entries]),
        })

    return blp
