"""GET /api/notifications: the messages of a booking (owner or staff), or a client's own, or all (staff)."""
from __future__ import annotations

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.auth import authorised
from clinic_shared.datetimes import to_local_iso
from clinic_shared.errors import ApiError

from ..domain.kinds import SCHEDULED, SENDING
from .schemas import NotificationListSchema, NotificationQuerySchema

blp = Blueprint("notifications", __name__, url_prefix="/api/notifications",
                description="The e-mails a booking or a screening sends.")


def public_status(status: str) -> str:
    return SCHEDULED if status == SENDING else status  # a claim in progress is still "not yet sent"


def to_json(row, tz) -> dict:
    return {
        "id": row.id, "booking_id": row.booking_id, "kind": row.kind, "channel": "email",
        "to": row.to_address, "subject": row.subject, "send_at": to_local_iso(row.send_at, tz),
        "status": public_status(row.status), "sent_at": to_local_iso(row.sent_at, tz) if row.sent_at else None,
        "attempts": row.attempts,
    }


def _principal():
    """The owner, or staff whose role may read notifications (clinic_shared.roles)."""
    principal = current_app.extensions["notifications"].authority.require_principal(request)
    if principal.is_staff and not principal.may("notifications"):
        raise ApiError(403, "forbidden", "This role may not read notifications.")
    return principal


@blp.route("")
class Notifications(MethodView):
    @authorised(_principal)  # the token first: no token is 401 even when the query is also wrong
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationListSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, query):
        """List notifications, ordered by when they are due."""
        service = current_app.extensions["notifications"]
        principal = g.principal
        booking_id = query.get("booking_id")
        statuses = None
        if "status" in query:
            statuses = (SCHEDULED, SENDING) if query["status"] == SCHEDULED else (query["status"],)
        with service.session_factory() as session:
            if booking_id is not None:
                booking = service.repository.booking(session, booking_id)
                if booking is None or not principal.may_see(booking.client_id):
                    raise ApiError(404, "not_found", "No such booking.")
            client_id = None if principal.is_staff else principal.client_id
            rows = service.repository.list(session, booking_id=booking_id, client_id=client_id, statuses=statuses)
        return {"notifications": [to_json(row, service.settings.tz) for row in rows]}
