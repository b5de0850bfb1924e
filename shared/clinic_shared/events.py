"""The event envelope and the schema of every event's data.

Schemas only ever grow: consumers ignore fields they do not know (`unknown = EXCLUDE`), and a
breaking change is a new `version`. The routing key of an event is its `type`.

Two different versions, not to be confused:
- the envelope's `version` is the version of the event's *schema* (1 for the booking events, 2 for the
  screening events);
- a booking event's `data.version` is the version of the *booking*: 1 when booked, raised by one with
  every change. Consumers keep the newest one they applied per booking and skip older or equal ones,
  so events that arrive late or twice change nothing. The booking service always sends it; it is
  optional on reading because events published before it existed (still in flight at an upgrade) lack it.
Screening events carry the outcome, never the questionnaire's answers nor the reasons: a reason's code is the
question it fired on (`pregnant_or_breastfeeding` says what the answer was), so version 2 leaves them out.
The service publishes only version 2; version 1 (with `reasons`) is still read, so an event published before
the upgrade and still in flight is handled, its reasons ignored. Drop it once no producer can have one queued.
"""
from __future__ import annotations

import functools
import uuid
from datetime import datetime, timezone

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class ClientContactSchema(_Lenient):
    name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)


class ReasonSchema(_Lenient):
    code = fields.String(required=True)
    message = fields.String(required=True)


OUTCOMES = ("eligible", "consultation_required", "not_suitable")  # least to most severe (screening relies on it)


class ScreeningCompletedV2(_Lenient):
    """The outcome of a screening and nothing that says why (the client reads that, signed in)."""

    screening_id = fields.String(required=True)
    client_id = fields.String(required=True)
    client = fields.Nested(ClientContactSchema, required=True)
    areas = fields.List(fields.String(), required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    valid_until = fields.String(required=True)  # ISO 8601 with offset
    rules_version = fields.String(required=True)
    created_at = fields.String(required=True)


class _Clearance:  # the fields a clearance adds, in either version
    previous_outcome = fields.String(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(("approved", "declined")))
    decided_at = fields.String(required=True)


class ScreeningClearedV2(_Clearance, ScreeningCompletedV2):
    pass


class ScreeningCompletedV1(ScreeningCompletedV2):
    """Superseded by version 2; still read (its `reasons` dropped on loading) for events in flight."""

    reasons = fields.List(fields.Nested(ReasonSchema), required=True, load_only=True)

    @post_load
    def _drop_reasons(self, data: dict, **_kwargs) -> dict:
        data.pop("reasons", None)  # no consumer keeps them, whatever it does with the data
        return data


class ScreeningClearedV1(_Clearance, ScreeningCompletedV1):
    pass


class PractitionerRefSchema(_Lenient):
    id = fields.String(required=True)
    name = fields.String(required=True)


class BookingSnapshotV1(_Lenient):
    """What every booking event says about the booking as it now stands."""

    booking_id = fields.String(required=True)
    reference = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("treatment", "consultation")))
    status = fields.String(required=True)
    areas = fields.List(fields.String(), required=True)
    start = fields.String(required=True)  # ISO 8601, clinic time zone with its offset
    end = fields.String(required=True)
    timezone = fields.String(required=True)
    practitioner = fields.Nested(PractitionerRefSchema, required=True)
    client_id = fields.String(required=True)
    client = fields.Nested(ClientContactSchema, required=True)
    screening_id = fields.String(required=True)
    course_id = fields.String(load_default=None, allow_none=True)
    # The booking's version after the change this event reports (see the module's docstring).
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class BookingCancelledV1(BookingSnapshotV1):
    reason = fields.String(load_default=None, allow_none=True)


class BookingRescheduledV1(BookingSnapshotV1):
    previous_start = fields.String(required=True)
    previous_end = fields.String(required=True)


class BookingCompletedV1(BookingSnapshotV1):
    completed_at = fields.String(required=True)


class ClosureDeletedV1(_Lenient):
    """A closure day was lifted: its time may be offered to the waitlist (the booking service consumes it)."""

    date = fields.String(required=True)  # YYYY-MM-DD, the clinic's local day


class WaitlistOfferedV1(_Lenient):
    """Freed time held for a waiting client until `expires_at`; notifications sends the `waitlist_offer` e-mail."""

    entry_id = fields.String(required=True)
    client_id = fields.String(required=True)
    client = fields.Nested(ClientContactSchema, required=True)
    screening_id = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("treatment", "consultation")))
    areas = fields.List(fields.String(), required=True)
    date = fields.String(required=True)  # YYYY-MM-DD
    start = fields.String(required=True)  # ISO 8601, clinic time zone with its offset
    end = fields.String(required=True)
    expires_at = fields.String(required=True)
    hold_minutes = fields.Integer(required=True)
    timezone = fields.String(required=True)


class SignInRequestedV1(_Lenient):
    """A known client asked to sign in (API.md "Clients who come back"): the notifications service sends
    the `sign_in_link` e-mail. The code is the secret of the link; it works once, until `expires_at`, and the
    screening service keeps only its hash. An unknown e-mail publishes nothing."""

    request_id = fields.String(required=True)  # one per request: the message is sent once per request
    client_id = fields.String(required=True)
    client = fields.Nested(ClientContactSchema, required=True)
    code = fields.String(required=True)
    expires_at = fields.String(required=True)  # ISO 8601 with offset


AUDIT_ACTIONS = (  # API.md "Audit"
    "staff.signed_in", "staff.sign_in_failed", "staff.member_created", "staff.member_changed",
    "screening.answers_read", "screening.cleared", "booking.cancelled", "booking.rescheduled",
    "booking.completed", "closure.created", "closure.deleted", "notification.retried",
    "client.exported", "client.erasure_requested", "waitlist.deleted",
)


class ActorSchema(_Lenient):
    id = fields.String(required=True, allow_none=True)  # None: a failed sign-in with an unknown e-mail
    name = fields.String(required=True)
    role = fields.String(required=True, allow_none=True)


class ResourceSchema(_Lenient):
    type = fields.String(required=True)
    id = fields.String(required=True, allow_none=True)


class AuditRecordedV1(_Lenient):
    """What a member of staff did: who, which action on what, when. Never health data (no answers,
    no notes): ids only; the request id is the envelope's correlation_id."""

    actor = fields.Nested(ActorSchema, required=True)
    action = fields.String(required=True, validate=validate.OneOf(AUDIT_ACTIONS))
    resource = fields.Nested(ResourceSchema, required=True)
    at = fields.String(required=True)  # ISO 8601 with offset


ERASURE_REASONS = ("request", "retention")  # an admin asked (API.md), or the retention job (CLINIC.md)
ERASING_SERVICES = ("screening", "booking", "notifications")  # each reports its part of an erasure


class ClientErasureRequestedV1(_Lenient):
    """Erase everything of this client (clinic_shared.erasure). The id only: nothing left to identify them."""

    client_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(ERASURE_REASONS))
    requested_at = fields.String(required=True)  # ISO 8601 with offset


class ClientErasedV1(_Lenient):
    """A service's report: its part of the client's erasure is done."""

    client_id = fields.String(required=True)
    service = fields.String(required=True, validate=validate.OneOf(ERASING_SERVICES))
    erased_at = fields.String(required=True)


# (type, version) -> schema of `data`. Add a new version here; never change an old one.
EVENT_SCHEMAS: dict[tuple[str, int], type[Schema]] = {
    ("screening.completed", 1): ScreeningCompletedV1,
    ("screening.cleared", 1): ScreeningClearedV1,
    ("screening.completed", 2): ScreeningCompletedV2,
    ("screening.cleared", 2): ScreeningClearedV2,
    ("booking.confirmed", 1): BookingSnapshotV1,
    ("booking.cancelled", 1): BookingCancelledV1,
    ("booking.rescheduled", 1): BookingRescheduledV1,
    ("booking.completed", 1): BookingCompletedV1,
    ("audit.recorded", 1): AuditRecordedV1,
    ("closure.deleted", 1): ClosureDeletedV1,
    ("waitlist.offered", 1): WaitlistOfferedV1,
    ("client.sign_in_requested", 1): SignInRequestedV1,
    ("client.erasure_requested", 1): ClientErasureRequestedV1,
    ("client.erased", 1): ClientErasedV1,
}


class EnvelopeSchema(_Lenient):
    event_id = fields.String(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    producer = fields.String(required=True)
    correlation_id = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


class UnknownEvent(Exception):
    pass


_ENVELOPE = EnvelopeSchema()


def make_envelope(event_type: str, data: dict, producer: str, correlation_id: str | None = None,
                  version: int | None = None, occurred_at: datetime | None = None) -> dict:
    """Build an envelope, checking `data` against its schema so a bad event never leaves.

    `version` defaults to the newest one of the type. A field the schema does not declare is refused:
    only what the schema says leaves a service (an answer cannot ride along unnoticed)."""
    version = version if version is not None else newest_version(event_type)
    errors = _checker(event_type, version).validate(data)
    if errors:
        raise ValidationError(errors)
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": version,
        "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(),
        "producer": producer,
        "correlation_id": correlation_id,
        "data": data,
    }


@functools.lru_cache(maxsize=None)
def _checker(event_type: str, version: int) -> Schema:
    """One schema instance per event type and version, made on first use: building a marshmallow schema
    (and its nested ones) costs more than validating with it, and an instance can be used again and by
    several threads (loading and validating keep no state on it)."""
    return _schema(event_type, version)(unknown=RAISE)


@functools.lru_cache(maxsize=None)
def _loader(event_type: str, version: int) -> Schema:
    return _schema(event_type, version)()


def _schema(event_type: str, version: int) -> type[Schema]:
    schema = EVENT_SCHEMAS.get((event_type, version))
    if schema is None:
        raise UnknownEvent(f"{event_type} v{version}")
    return schema


@functools.lru_cache(maxsize=None)
def newest_version(event_type: str) -> int:
    versions = [version for (name, version) in EVENT_SCHEMAS if name == event_type]
    if not versions:
        raise UnknownEvent(event_type)
    return max(versions)


def parse_envelope(body: dict) -> tuple[dict, dict]:
    """Return (envelope, data) with `data` loaded by its schema; raise ValidationError or UnknownEvent."""
    envelope = _ENVELOPE.load(body)
    return envelope, _loader(envelope["type"], envelope["version"]).load(envelope["data"])
