"""The /api/bookings endpoints: book, read, list, cancel, reschedule, complete."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.auth import authorised
from clinic_shared.paging import page_of

from .context import (client_filter, in_scope, require_client, require_principal_or_booking_token,
                      require_staff, scheduler)
from .schemas import (BookingListSchema, BookingRequestSchema, BookingSchema, BookingsQuerySchema,
                      CancelSchema, IdempotencyHeaderSchema, IfMatchHeaderSchema, RescheduleSchema)

blp = Blueprint("bookings", __name__, url_prefix="/api", description="Bookings")


@blp.route("/bookings")
class Bookings(MethodView):
    # The client's revocation check reads in the booking's transaction (Scheduler.book: one, nothing before it).
    @authorised(require_client, shares_transaction=True)
    # Instances, not classes: webargs would build a schema from a class on every request (its fields deep-copied).
    @blp.arguments(BookingRequestSchema())
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.response(201, BookingSchema)
    @blp.alt_response(200, schema=BookingSchema, description="The same Idempotency-Key and body again")
    def post(self, body, headers):
        """Book a treatment or a consultation (client token); an Idempotency-Key replays the same booking."""
        booked = scheduler().book(g.principal.client_id, body["screening_id"], body["type"], body["areas"],
                                  body["start"], headers.get("idempotency_key"))
        return scheduler().booking_view(booked.row), (201 if booked.created else 200)

    @authorised(require_principal_or_booking_token)
    @blp.arguments(BookingsQuerySchema, location="query")
    @blp.response(200, BookingListSchema)
    def get(self, query):
        """Bookings by start time, then id: a client's own, or all for staff (`?date=` for one day's schedule);
        in pages of `limit`, the next one from `next_cursor`.

        With a booking token (a manage link) the list holds that one booking: the page finds it there."""
        rows = scheduler().list_bookings(client_filter(g.principal), query.get("date"),
                                         limit=query["limit"], after=query.get("cursor"))
        page, next_cursor = page_of(rows, query["limit"], lambda r: (r.start_at, r.id))
        page = [r for r in page if g.principal.may_see_booking(r.id)]
        return {"bookings": [scheduler().booking_view(r) for r in page], "next_cursor": next_cursor}


@blp.route("/bookings/<booking_id>")
class BookingById(MethodView):
    @authorised(require_principal_or_booking_token)
    @blp.response(200, BookingSchema)
    def get(self, booking_id):
        """One booking, for its client (or a booking token of it) or staff."""
        return scheduler().booking_view(scheduler().get(in_scope(g.principal, booking_id), client_filter(g.principal)))


@blp.route("/bookings/<booking_id>/cancel")
class CancelBooking(MethodView):
    @authorised(require_principal_or_booking_token)
    @blp.arguments(CancelSchema)
    @blp.arguments(IfMatchHeaderSchema, location="headers")
    @blp.response(200, BookingSchema)
    def post(self, body, headers, booking_id):
        """Cancel a confirmed booking (its client or staff); its unsent messages are cancelled.

        A client may do so up to CLINIC_CHANGE_NOTICE_HOURS before the start (422 too_late_to_change after)."""
        return scheduler().booking_view(scheduler().cancel(in_scope(g.principal, booking_id), client_filter(g.principal),
                                                           body["reason"], headers.get("if_match")))


@blp.route("/bookings/<booking_id>/reschedule")
class RescheduleBooking(MethodView):
    @authorised(require_principal_or_booking_token)
    @blp.arguments(RescheduleSchema)
    @blp.arguments(IfMatchHeaderSchema, location="headers")
    @blp.response(200, BookingSchema)
    def post(self, body, headers, booking_id):
        """Move a confirmed booking to a new start, by the same rules as a new booking.

        A client may do so up to CLINIC_CHANGE_NOTICE_HOURS before the start (422 too_late_to_change after)."""
        return scheduler().booking_view(scheduler().reschedule(in_scope(g.principal, booking_id),
                                                               client_filter(g.principal), body["start"],
                                                               headers.get("if_match")))


@blp.route("/bookings/<booking_id>/complete")
class CompleteBooking(MethodView):
    @authorised(require_staff)
    @blp.arguments(IfMatchHeaderSchema, location="headers")
    @blp.response(200, BookingSchema)
    def post(self, headers, booking_id):
        """Mark a confirmed booking completed (staff); aftercare is sent at once."""
        return scheduler().booking_view(scheduler().complete(booking_id, headers.get("if_match")))
