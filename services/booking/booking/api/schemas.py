"""Marshmallow schemas of the booking endpoints (API.md); they also write the OpenAPI document."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from clinic_shared.datetimes import OffsetDateTime

BOOKING_TYPES = ("treatment", "consultation")
MAX_RANGE_DAYS = 31
# Far outside any bookable time, and far from datetime's limits (arithmetic there overflows: a 500).
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)
DATE_RANGE = validate.Range(min=EARLIEST, max=LATEST, error="Not a date the clinic can book.")


class ClinicDateTime(OffsetDateTime):
    """A request date-time with an offset, within the dates above."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST <= parsed.date() <= LATEST:
            raise ValidationError("Not a date-time the clinic can book.")
        return parsed


class AreaSchema(Schema):
    id = fields.String()
    name = fields.String()
    duration_minutes = fields.Integer()


class ConsultationSchema(Schema):
    duration_minutes = fields.Integer()


class TreatmentsSchema(Schema):
    areas = fields.List(fields.Nested(AreaSchema))
    consultation = fields.Nested(ConsultationSchema)
    max_session_minutes = fields.Integer()


class PractitionerSchema(Schema):
    id = fields.String()
    name = fields.String()


class PractitionersSchema(Schema):
    practitioners = fields.List(fields.Nested(PractitionerSchema))


class AreasField(fields.Field):
    """`areas=face,neck` in a query string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("A comma-separated list of area ids.")
        return [a.strip() for a in value.split(",") if a.strip()]


class AvailabilityQuerySchema(Schema):
    date = fields.Date(validate=DATE_RANGE, metadata={"description": "One local day (YYYY-MM-DD)."})
    from_ = fields.Date(data_key="from", validate=DATE_RANGE, metadata={"description": "First day of a range (with `to`)."})
    to = fields.Date(validate=DATE_RANGE, metadata={"description": "Last day of a range, at most 31 days in all."})
    areas = AreasField(load_default=list, metadata={"description": "Comma-separated area ids."})
    type = fields.String(load_default="treatment", validate=validate.OneOf(BOOKING_TYPES))

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
    start = fields.String()
    end = fields.String()
    practitioners_free = fields.Integer()


class AvailabilitySchema(Schema):
    timezone = fields.String()
    slots = fields.List(fields.Nested(SlotSchema))


class BookingRequestSchema(Schema):
    screening_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(load_default="treatment", validate=validate.OneOf(BOOKING_TYPES))
    areas = fields.List(fields.String(), load_default=list)
    start = ClinicDateTime(required=True, metadata={"type": "string", "format": "date-time"})


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
    id = fields.String()
    reference = fields.String()
    status = fields.String()
    type = fields.String()
    areas = fields.List(fields.String())
    start = fields.String(metadata={"format": "date-time"})
    end = fields.String(metadata={"format": "date-time"})
    practitioner = fields.Nested(PractitionerSchema)
    client_id = fields.String()
    screening_id = fields.String()
    course_id = fields.String(allow_none=True)
    version = fields.Integer(metadata={"description": "Raised by every change; send it as `If-Match` to change "
                                                      "only the booking you saw."})


class BookingListSchema(Schema):
    bookings = fields.List(fields.Nested(BookingSchema))


class BookingsQuerySchema(Schema):
    date = fields.Date(validate=DATE_RANGE, metadata={"description": "Only bookings starting on this local day."})


class CancelSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class RescheduleSchema(Schema):
    start = ClinicDateTime(required=True, metadata={"type": "string", "format": "date-time"})


class CourseRequestSchema(Schema):
    screening_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    areas = fields.List(fields.String(), required=True)
    sessions = fields.Integer(required=True, strict=True)
    interval_weeks = fields.Integer(required=True, strict=True)
    start = ClinicDateTime(required=True, metadata={"type": "string", "format": "date-time"})


class CourseSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    screening_id = fields.String()
    areas = fields.List(fields.String())
    sessions = fields.Integer()
    interval_weeks = fields.Integer()
    bookings = fields.List(fields.Nested(BookingSchema))


class ClosureSchema(Schema):
    date = fields.Date(required=True, validate=DATE_RANGE)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ClosureListSchema(Schema):
    closures = fields.List(fields.Nested(ClosureSchema))
