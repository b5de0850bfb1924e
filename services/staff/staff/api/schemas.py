"""Marshmallow schemas of the staff endpoints (requests are strict: unknown fields are refused)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from clinic_shared.datetimes import OffsetDateTime
from clinic_shared.events import AUDIT_ACTIONS
from clinic_shared.paging import BY_SEQUENCE, Cursor, PageQuerySchema, PageSchema
from clinic_shared.roles import ROLES

from ..context import current_context
from ..domain.passwords import MIN_LENGTH as MIN_PASSWORD_LENGTH


# Written as the document says them (minLength, pattern), so what the document allows is accepted.
_NAME = [validate.Length(min=1, max=200), validate.Regexp(r"^\s*\S", error="Must not be empty.")]
_PASSWORD = validate.Length(min=MIN_PASSWORD_LENGTH, max=1000,
                            error=f"A password needs {MIN_PASSWORD_LENGTH} to {{max}} characters.")


def _known_practitioner(value: str | None) -> None:
    if value is not None and value not in current_context().practitioner_ids():
        raise ValidationError("Not one of GET /api/practitioners.")


class SignInSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class MemberSchema(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True, metadata={"description": "null only for the operator key"})
    role = fields.String(validate=validate.OneOf(ROLES))
    practitioner_id = fields.String(allow_none=True)
    active = fields.Boolean()


class SignedInStaffSchema(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    practitioner_id = fields.String(allow_none=True)


class SessionSchema(Schema):
    token = fields.String()
    expires_at = fields.String()
    staff = fields.Nested(SignedInStaffSchema)


class NewMemberSchema(Schema):
    name = fields.String(required=True, validate=_NAME)
    email = fields.Email(required=True, validate=validate.Length(max=320))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(required=True, load_only=True, validate=_PASSWORD)
    practitioner_id = fields.String(load_default=None, allow_none=True, validate=_known_practitioner)


class MemberChangeSchema(Schema):
    """Any of the fields; an empty change changes nothing (and is not audited)."""
    name = fields.String(validate=_NAME)
    role = fields.String(validate=validate.OneOf(ROLES))
    password = fields.String(load_only=True, validate=_PASSWORD)
    practitioner_id = fields.String(allow_none=True, validate=_known_practitioner)
    active = fields.Boolean()


class MemberListSchema(Schema):
    members = fields.List(fields.Nested(MemberSchema))


# Ids here are uuids, "operator" or dates, cursors base64url: short ASCII, so that no query of this list,
# however filled in, outgrows the request line the servers accept.
_ID = [validate.Length(min=1, max=64), validate.Regexp(r"^[A-Za-z0-9._:-]+$", error="Not an id.")]


class AuditQuerySchema(PageQuerySchema):
    actor = fields.String(validate=_ID, metadata={"description": "An actor's id (a member's, or `operator`)."})
    resource_id = fields.String(validate=_ID)
    action = fields.String(validate=validate.OneOf(AUDIT_ACTIONS))
    from_ = OffsetDateTime(data_key="from", metadata={"type": "string", "format": "date-time", "maxLength": 40})
    to = OffsetDateTime(metadata={"type": "string", "format": "date-time", "maxLength": 40})
    cursor = Cursor(BY_SEQUENCE)  # entries are ordered by (at, seq)


class ActorSchema(Schema):
    id = fields.String(allow_none=True)
    name = fields.String()
    role = fields.String(allow_none=True)


class ResourceSchema(Schema):
    type = fields.String()
    id = fields.String(allow_none=True)


class AuditEntrySchema(Schema):
    id = fields.String()
    at = fields.String()
    actor = fields.Nested(ActorSchema)
    action = fields.String()
    resource = fields.Nested(ResourceSchema)
    request_id = fields.String(allow_none=True)


class AuditPageSchema(PageSchema):
    entries = fields.List(fields.Nested(AuditEntrySchema))
