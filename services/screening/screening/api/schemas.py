"""Marshmallow schemas of the screening endpoints (requests are strict: unknown fields are refused)."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from ..context import current_context
from ..domain.clearance import DECISIONS
from ..domain.evaluation import answer_errors
from ..domain.ruleset import OUTCOMES

_PHONE = re.compile(r"^\+?[0-9 ()\-.]{5,30}$")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be empty.")


def _phone(value: str) -> None:
    if not _PHONE.match(value) or sum(c.isdigit() for c in value) < 5:
        raise ValidationError("Not a valid phone number (digits, spaces, +, -, parentheses).")


def _known_areas(values: list) -> None:
    known = current_context().settings.areas
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValidationError(f"Unknown area(s): {', '.join(map(str, unknown))}. Known areas: {', '.join(known)}.")
    if len(set(values)) != len(values):
        raise ValidationError("An area is named more than once.")


class AnswersField(fields.Field):
    """The questionnaire's answers, checked against the rule set this app judges with."""

    def _deserialize(self, value, attr, data, **kwargs):
        errors = answer_errors(current_context().ruleset, value)
        if errors:
            raise ValidationError(errors)
        return dict(value)


class ClientInSchema(Schema):
    name = fields.String(required=True, validate=[_not_blank, validate.Length(max=200)])
    email = fields.Email(required=True, validate=validate.Length(max=320))
    phone = fields.String(load_default=None, allow_none=True, validate=_phone)


class ScreeningInSchema(Schema):
    client = fields.Nested(ClientInSchema, required=True)
    areas = fields.List(fields.String(), required=True,
                        validate=[validate.Length(min=1, error="Name at least one area."), _known_areas])
    answers = AnswersField(required=True, metadata={
        "type": "object",
        "description": "One answer per question of GET /api/screening/questionnaire: "
                       "JSON booleans for boolean questions, one of the choices for choice questions."})


class ClearanceInSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(tuple(DECISIONS)))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ScreeningQuerySchema(Schema):
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))


class QuestionSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    text = fields.String(required=True)
    choices = fields.List(fields.String())  # choice questions only


class QuestionnaireSchema(Schema):
    version = fields.String(required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)


class ReasonSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)


class ClientOutSchema(Schema):
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)


class ClearanceOutSchema(Schema):
    decision = fields.String()
    note = fields.String(allow_none=True)
    decided_by = fields.String()
    decided_at = fields.String()


class ScreeningCreatedSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    outcome = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))
    valid_until = fields.String()
    access_token = fields.String()


class ScreeningSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    client = fields.Nested(ClientOutSchema)
    areas = fields.List(fields.String())
    answers = fields.Dict()
    outcome = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))
    valid_until = fields.String()
    rules_version = fields.String()
    created_at = fields.String()
    clearance = fields.Nested(ClearanceOutSchema, allow_none=True)


class ScreeningListSchema(Schema):
    screenings = fields.List(fields.Nested(ScreeningSchema))
