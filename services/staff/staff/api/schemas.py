"""Marshmallow schemas of the staff endpoints (requests are strict: unknown fields are refused)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from clinic_shared.datetimes import OffsetDateTime
from clinic_shared.events import AUDIT_ACTIONS
from clinic_shared.roles import ROLES

from ..context import current_context
from ..domain.passwords import password_problem


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be empty.")


def _password(value: str) -> None:
    problem = password_problem(value)
    if problem:
        raise ValidationError(problem)


def _known_practitioner(value: str | None) -> None:
    if value is not None and value not in current_context().practitioner_ids():
        raise ValidationError("Not one of GET /api/practitioners.")


class SignInSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class MemberSchema(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
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
    name = fields.String(required=True, validate=[_not_blank, validate.Length(max=200)])
    email = fields.Email(required=True, validate=validate.Length(max=320))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(required=True, load_only=True, validate=[_password, validate.Length(max=1000)])
    practitioner_id = fields.String(load_default=None, allow_none=True, validate=_known_practitioner)


class MemberChangeSchema(Schema):
    name = fields.String(validate=[_not_blank, validate.Length(max=200)])
    role = fields.String(validate=validate.OneOf(ROLES))
    password = fields.String(load_only=True, validate=[_password, validate.Length(max=1000)])
    practitioner_id = fields.String(allow_none=True, validate=_known_practitioner)
    active = fields.Boolean()

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Name at least one of name, role, password, practitioner_id, active.", "_schema")


class MemberListSchema(Schema):
    members = fields.List(fields.Nested(MemberSchema))


class AuditQuerySchema(Schema):
    actor = fields.String(validate=validate.Length(max=100))
    resource_id = fields.String(validate=validate.Length(max=100))
    action = fields.String(validate=validate.OneOf(AUDIT_ACTIONS))
    from_ = OffsetDateTime(data_key="from", metadata={"type": "string", "format": "date-time"})
    to = OffsetDateTime(metadata={"type": "string", "format": "date-time"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.String(validate=validate.Length(max=200))


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


class AuditPageSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = fields.String(allow_none=True)
