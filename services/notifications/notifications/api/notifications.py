"""GET /api/notifications: the messages of a booking (owner or staff), or a client's own, or all (staff);
POST /api/notifications/{id}/retry: staff send a `failed` message again."""
from __future__ import annotations

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.audit import record_audit
from clinic_shared.auth import authorised
from clinic_shared.datetimes import to_local_iso
from clinic_shared.db import transaction
from clinic_shared.errors import ApiError
from clinic_shared.paging import page_of
from clinic_shared.web import ErrorEnvelopeSchema, request_id

from ..domain.kinds import SCHEDULED, SENDING
from .schemas import CalendarQuerySchema, NotificationListSchema, NotificationQuerySchema, NotificationSchema

BEARER = [{"bearerAuth": []}]

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
    """The owner (or a booking token, kept to its booking by the view), or staff whose role may read
    notifications (clinic_shared.roles)."""
    principal = current_app.extensions["notifications"].authority.require_principal(request, booking_scope=True)
    if principal.is_staff and not principal.may("notifications"):
        raise ApiError(403, "forbidden", "This role may not read notifications.")
    return principal


def _staff():
    return current_app.extensions["notifications"].authority.require_staff(request, "notifications")


@blp.route("")
class Notifications(MethodView):
    @authorised(_principal)  # the token first: no token is 401 even when the query is also wrong
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationListSchema)
    @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
    @blp.doc(security=BEARER)
    def get(self, query):
        """List notifications, ordered by when they are due (then by id), in pages.

        A filter never answers 404: a booking this service has not heard of yet, or another client's,
        gives an empty list (a client only ever sees their own messages)."""
        service = current_app.extensions["notifications"]
        principal = g.principal
        statuses = None
        if "status" in query:
            statuses = (SCHEDULED, SENDING) if query["status"] == SCHEDULED else (query["status"],)
        booking_id = query.get("booking_id")
        if principal.is_booking_scoped:  # a manage link's token: that booking's messages, nothing else
            if booking_id is not None and booking_id != principal.booking_id:
                return {"notifications": [], "next_cursor": None}
            booking_id = principal.booking_id
        with service.session_factory() as session:
            client_id = None if principal.is_staff else principal.client_id
            rows = service.repository.page(session, booking_id=booking_id, client_id=client_id,
                                           statuses=statuses, limit=query["limit"], after=query.get("cursor"))
        page, next_cursor = page_of(rows, query["limit"], lambda row: (row.send_at, row.id))
        return {"notifications": [to_json(row, service.settings.tz) for row in page], "next_cursor": next_cursor}


@blp.route("/calendar")
class BookingCalendar(MethodView):
    @authorised(_principal)
    @blp.arguments(CalendarQuerySchema, location="query")
    @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
    @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No calendar file for such a booking of yours.")
    @blp.doc(security=BEARER, responses={"200": {
        "description": "The booking's calendar file (`text/calendar`): its newest invitation, or its cancellation.",
        "content": {"text/calendar": {"schema": {"type": "string"}}}}})
    def get(self, query):
        """A booking's `.ics` as its e-mails last carried it (same UID and SEQUENCE), for "add to calendar"
        (beyond API.md, additive): owner, a booking token of it, or staff."""
        service = current_app.extensions["notifications"]
        principal = g.principal
        booking_id = query["booking_id"]
        calendar = None
        if principal.may_see_booking(booking_id):
            with service.session_factory() as session:
                calendar = service.repository.newest_calendar(
                    session, booking_id, None if principal.is_staff else principal.client_id)
        if calendar is None:
            raise ApiError(404, "not_found", "There is no calendar file for this booking (yet).")
        return Response(calendar, mimetype="text/calendar",
                        headers={"Content-Disposition": 'attachment; filename="appointment.ics"'})


@blp.route("/<notification_id>/retry")
class RetryNotification(MethodView):
    @authorised(_staff)
    @blp.response(200, NotificationSchema)
    @blp.alt_response(401, schema=ErrorEnvelopeSchema, description="No token, or a bad one.")
    @blp.alt_response(403, schema=ErrorEnvelopeSchema, description="Not a staff token.")
    @blp.alt_response(404, schema=ErrorEnvelopeSchema, description="No such notification.")
    @blp.alt_response(409, schema=ErrorEnvelopeSchema, description="The notification is not `failed`.")
    @blp.doc(security=BEARER)
    def post(self, notification_id):
        """Send a `failed` message again (staff): it is `scheduled`, due now."""
        service = current_app.extensions["notifications"]
        with transaction(service.session_factory) as session:
            retried = service.repository.retry(session, notification_id, service.clock())
            row = service.repository.get(session, notification_id)
            if retried:  # in the retry's transaction: the trail has it exactly when it happened
                record_audit(session, service.outbox, g.principal, "notification.retried", "notification",
                             notification_id, producer="notifications", correlation_id=request_id())
        if row is None:
            raise ApiError(404, "not_found", "No such notification.")
        if not retried:
            raise ApiError(409, "conflict", f"Only a failed notification can be retried; this one is "
                                            f"{public_status(row.status)}.")
        return to_json(row, service.settings.tz)
