"""Marshmallow schemas of the booking endpoints (API.md); they also write the OpenAPI document."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from webargs.fields import DelimitedList

from clinic_shared.datetimes import OffsetDateTime
from clinic_shared.openapi import DOCUMENTED_BY
from clinic_shared.paging import PageQuerySchema, PageSchema

from ..domain.clinic import ClinicRules
from ..domain.waitlist import STATUSES as WAITLIST_STATUSES

BOOKING_TYPES = ("treatment", "consultation")
STATUSES = ("confirmed", "cancelled", "completed")
MAX_RANGE_DAYS = 31
# Far outside any bookable time, and far from datetime's limits (arithmetic there overflows: a 500).
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)
DATE_RANGE = validate.Range(min=EARLIEST, max=LATEST, error="Not a date the clinic can book.")
# The same bounds as the document says them: JSON Schema's `format` alone allows the years 0001-9999.
YEAR_PATTERN = "^(19[0-9]{2}|[2-8][0-9]{3}|9000)-"
DATE_DOC = {"pattern": YEAR_PATTERN}
DATE_TIME_DOC = {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN,
                 "description": "ISO 8601 with an offset, e.g. 2026-12-01T09:00:00+00:00."}
AREA = {DOCUMENTED_BY: "areas"}


def documented_settings(rules: ClinicRules) -> dict:
    """What this app's document says about its settings (clinic_shared.openapi.document_settings)."""
    (fewest, most), (nearest, furthest) = rules.course_sessions, rules.course_interval_weeks
    return {
        "areas": {"type": "string", "enum": [area.id for area in rules.areas]},
        "course_sessions": {"minimum": fewest, "maximum": most},
        "course_interval_weeks": {"minimum": nearest, "maximum": furthest},
    }


class ClinicDateTime(OffsetDateTime):
    """A request date-time with an offset, within the dates above."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST <= parsed.date() <= LATEST:
            raise ValidationError("Not a date-time the clinic can book.")
        return parsed


class AreaSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)


class ConsultationSchema(Schema):
    duration_minutes = fields.Integer(required=True)


class ContactSchema(Schema):
    phone = fields.String(required=True)
    email = fields.String(required=True)


class ChangePolicySchema(Schema):
    notice_hours = fields.Integer(required=True, metadata={
        "description": "A client may cancel or reschedule up to this many hours before the start."})
    contact = fields.Nested(ContactSchema, required=True, metadata={
        "description": "How to reach the clinic for a change inside the notice."})


class TreatmentsSchema(Schema):
    areas = fields.List(fields.Nested(AreaSchema), required=True)
    consultation = fields.Nested(ConsultationSchema, required=True)
    max_session_minutes = fields.Integer(required=True)
    change_policy = fields.Nested(ChangePolicySchema, required=True)


class PractitionerSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class PractitionersSchema(Schema):
    practitioners = fields.List(fields.Nested(PractitionerSchema), required=True)


class AreasParameter(DelimitedList):
    """`areas=face,neck` in a query string; blanks around and between the commas are ignored."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = ",".join(part.strip() for part in value.split(",") if part.strip())
            if not value:
                return []
        return super()._deserialize(value, attr, data, **kwargs)


class AvailabilityQuerySchema(Schema):
    date = fields.Date(validate=DATE_RANGE, metadata={"description": "One local day (YYYY-MM-DD).", **DATE_DOC})
    from_ = fields.Date(data_key="from", validate=DATE_RANGE,
                        metadata={"description": "First day of a range (with `to`).", **DATE_DOC})
    to = fields.Date(validate=DATE_RANGE,
                     metadata={"description": "Last day of a range, at most 31 days in all.", **DATE_DOC})
    areas = AreasParameter(fields.String(metadata=AREA), load_default=list,
                           metadata={"description": "Comma-separated area ids (treatment only)."})
    type = fields.String(load_default="treatment", validate=validate.OneOf(BOOKING_TYPES))

    @pre_load
    def _repeated_areas(self, data, **kwargs):
        # `areas=face&areas=neck` means what `areas=face,neck` means; webargs would keep only the first.
        repeated = data.getlist("areas") if hasattr(data, "getlist") else []
        if len(repeated) > 1:
            data = {**{key: data[key] for key in data}, "areas": ",".join(repeated)}
        return data

    @validates_schema
    def _one_period(self, data, **kwargs):
        has_range = "from_" in data or "to" in data
        if "date" in data and has_range:
            raise ValidationError("Give either date, or from and to.", "date")
        if "date" not in data and not has_range:
            raise ValidationError("Give a date, or from and to.", "date")
        if has_range:
            if "from_" not in data or "to" not in data:
                raise ValidationError("A range needs both from and to.", "to" if "to" not in data else "from")
            span = (data["to"] - data["from_"]).days + 1
            if span < 1:
                raise ValidationError("to must not be before from.", "to")
            if span > MAX_RANGE_DAYS:
                raise ValidationError(f"A range covers at most {MAX_RANGE_DAYS} days.", "to")
        if data["type"] == "treatment" and not data["areas"]:
            raise ValidationError("Give areas for a treatment, or type=consultation.", "areas")


class SlotSchema(Schema):
    start = fields.String(required=True, metadata={"format": "date-time"})
    end = fields.String(required=True, metadata={"format": "date-time"})
    practitioners_free = fields.Integer(required=True, validate=validate.Range(min=1))


class AvailabilitySchema(Schema):
    timezone = fields.String(required=True)
    slots = fields.List(fields.Nested(SlotSchema), required=True)


class BookingRequestSchema(Schema):
    screening_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(load_default="treatment", validate=validate.OneOf(BOOKING_TYPES))
    areas = fields.List(fields.String(metadata=AREA), load_default=list,
                        metadata={"uniqueItems": True, "description": "Treatment only (at least one)."})
    start = ClinicDateTime(required=True, metadata=DATE_TIME_DOC)


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(data_key="Idempotency-Key", validate=validate.Length(min=1, max=200),
                                    metadata={"description": "Repeat a request safely: same key, same booking."})


class VersionTag(fields.Integer):
    """`If-Match: "3"` (an entity tag) or `If-Match: 3`: the booking's `version` the change is meant for."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().removeprefix("W/").strip('"')
        return super()._deserialize(value, attr, data, **kwargs)


class IfMatchHeaderSchema(Schema):
    if_match = VersionTag(data_key="If-Match", validate=validate.Range(min=1), metadata={
        "description": "Change the booking only if its `version` is still this one; otherwise 409 `conflict`."})


class BookingSchema(Schema):
    id = fields.String(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    type = fields.String(required=True, validate=validate.OneOf(BOOKING_TYPES))
    areas = fields.List(fields.String(), required=True)
    start = fields.String(required=True, metadata={"format": "date-time"})
    end = fields.String(required=True, metadata={"format": "date-time"})
    practitioner = fields.Nested(PractitionerSchema, required=True)
    client_id = fields.String(required=True)
    screening_id = fields.String(required=True)
    course_id = fields.String(required=True, allow_none=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1), metadata={
        "description": "Raised by every change; send it as `If-Match` to change only the booking you saw."})
    changeable_until = fields.String(required=True, metadata={
        "format": "date-time",
        "description": "The last moment the client may cancel or reschedule it themselves "
                       "(CLINIC_CHANGE_NOTICE_HOURS before the start); later, 422 too_late_to_change. "
                       "Staff may change it at any time."})


class BookingListSchema(PageSchema):
    """GET /api/bookings: a page of the list, ordered by start, then id."""
    bookings = fields.List(fields.Nested(BookingSchema), required=True)


class BookingsQuerySchema(PageQuerySchema):
    date = fields.Date(validate=DATE_RANGE,
                       metadata={"description": "Only bookings starting on this local day.", **DATE_DOC})


class CancelSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class RescheduleSchema(Schema):
    start = ClinicDateTime(required=True, metadata=DATE_TIME_DOC)


class CourseRequestSchema(Schema):
    screening_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    areas = fields.List(fields.String(metadata=AREA), required=True, metadata={"minItems": 1, "uniqueItems": True})
    sessions = fields.Integer(required=True, strict=True, metadata={DOCUMENTED_BY: "course_sessions"})
    interval_weeks = fields.Integer(required=True, strict=True, metadata={DOCUMENTED_BY: "course_interval_weeks"})
    start = ClinicDateTime(required=True, metadata=DATE_TIME_DOC)


class CourseSchema(Schema):
    id = fields.String(required=True)
    client_id = fields.String(required=True)
    screening_id = fields.String(required=True)
    areas = fields.List(fields.String(), required=True)
    sessions = fields.Integer(required=True)
    interval_weeks = fields.Integer(required=True)
    bookings = fields.List(fields.Nested(BookingSchema), required=True)


class ClosureSchema(Schema):
    date = fields.Date(required=True, validate=DATE_RANGE, metadata=DATE_DOC)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ClosureListSchema(Schema):
    closures = fields.List(fields.Nested(ClosureSchema), required=True)


class WaitlistRequestSchema(Schema):
    screening_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(load_default="treatment", validate=validate.OneOf(BOOKING_TYPES))
    areas = fields.List(fields.String(metadata=AREA), load_default=list,
                        metadata={"uniqueItems": True, "description": "Treatment only (at least one)."})
    date = fields.Date(required=True, validate=DATE_RANGE,
                       metadata={"description": "The local day to wait for (YYYY-MM-DD).", **DATE_DOC})


class WaitlistOfferSchema(Schema):
    start = fields.String(required=True, metadata={"format": "date-time"})
    end = fields.String(required=True, metadata={"format": "date-time"})
    expires_at = fields.String(required=True, metadata={
        "format": "date-time", "description": "The time is held for this client until then."})


class WaitlistEntrySchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(WAITLIST_STATUSES))
    type = fields.String(required=True, validate=validate.OneOf(BOOKING_TYPES))
    areas = fields.List(fields.String(), required=True)
    date = fields.Date(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    offer = fields.Nested(WaitlistOfferSchema, required=True, allow_none=True, metadata={
        "description": "The freed time offered to this entry (null while it waits); book it with POST /api/bookings."})
    client_id = fields.String(required=True)
    screening_id = fields.String(required=True)
    booking_id = fields.String(required=True, allow_none=True, metadata={
        "description": "The booking that took the offered time, once `booked`."})


class WaitlistListSchema(PageSchema):
    """GET /api/waitlist: a page of the list, in the order the entries joined (created_at, then id)."""
    waitlist = fields.List(fields.Nested(WaitlistEntrySchema), required=True)


class WaitlistQuerySchema(PageQuerySchema):
    date = fields.Date(validate=DATE_RANGE,
                       metadata={"description": "Only entries waiting for this local day.", **DATE_DOC})
