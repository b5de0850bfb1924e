"""Marshmallow schemas of the screening endpoints (requests are strict: unknown fields are refused)."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from clinic_shared.openapi import DOCUMENTED_BY
from clinic_shared.paging import PageQuerySchema, PageSchema

from ..context import current_context
from ..domain.clearance import DECISIONS
from ..domain.evaluation import answer_errors
from ..domain.ruleset import OUTCOMES, RuleSet

# At least five digits among spaces, dots, dashes and parentheses, an optional leading +; written
# without look-ahead so that the document's `pattern` means the same in any JSON Schema validator.
PHONE_PATTERN = r"^\+?[ ().\-]*([0-9][ ().\-]*){5,}$"
NOT_BLANK_PATTERN = r"[^ \t\n\r\f\v]"  # the whitespace that every regex dialect agrees on


def documented_settings(areas, ruleset: RuleSet) -> dict:
    """What this app's document says about its settings (clinic_shared.openapi.document_settings)."""
    answers = {}
    for question in ruleset.questions:
        answers[question.id] = ({"type": "boolean"} if question.type == "boolean"
                                else {"type": "string", "enum": list(question.choices)})
    return {
        "areas": {"type": "string", "enum": list(areas)},
        "answers": {"type": "object", "properties": answers, "required": list(answers),
                    "additionalProperties": False},
    }


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


def _matches(pattern: str, message: str):
    """A validator meaning what `pattern` means in the document: JSON Schema searches, and its `$` is
    the very end (Python's would also match before a final newline)."""
    compiled = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)

    def check(value: str) -> None:
        if not compiled.search(value):
            raise ValidationError(message)
    return check


class ClientInSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200),
                                                  _matches(NOT_BLANK_PATTERN, "Must not be empty.")],
                         metadata={"pattern": NOT_BLANK_PATTERN})
    email = fields.Email(required=True, validate=validate.Length(max=320))
    phone = fields.String(load_default=None, allow_none=True, metadata={"pattern": PHONE_PATTERN}, validate=[
        validate.Length(max=31),
        _matches(PHONE_PATTERN, "Not a valid phone number (at least 5 digits; spaces, +, -, dots and "
                                "parentheses allowed).")])


class ScreeningInSchema(Schema):
    client = fields.Nested(ClientInSchema, required=True)
    areas = fields.List(fields.String(metadata={DOCUMENTED_BY: "areas"}), required=True,
                        validate=[validate.Length(min=1, error="Name at least one area."), _known_areas],
                        metadata={"uniqueItems": True})
    answers = AnswersField(required=True, metadata={
        DOCUMENTED_BY: "answers",
        "description": "One answer per question of GET /api/screening/questionnaire: "
                       "JSON booleans for boolean questions, one of the choices for choice questions."})


class ClearanceInSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(tuple(DECISIONS)))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ScreeningQuerySchema(PageQuerySchema):
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))


class QuestionSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(("boolean", "choice")))
    text = fields.String(required=True)
    choices = fields.List(fields.String())  # choice questions only


class QuestionnaireSchema(Schema):
    version = fields.String(required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)


class ReasonSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)


class ClientOutSchema(Schema):
    name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)


class ClearanceOutSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(tuple(DECISIONS)))
    note = fields.String(required=True, allow_none=True)
    decided_by = fields.String(required=True)
    decided_at = fields.String(required=True, metadata={"format": "date-time"})


class ScreeningCreatedSchema(Schema):
    id = fields.String(required=True)
    client_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    valid_until = fields.String(required=True, metadata={"format": "date-time"})
    access_token = fields.String(required=True)


class ScreeningSchema(Schema):
    id = fields.String(required=True)
    client_id = fields.String(required=True)
    client = fields.Nested(ClientOutSchema, required=True)
    areas = fields.List(fields.String(), required=True)
    answers = fields.Dict()
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    valid_until = fields.String(required=True, metadata={"format": "date-time"})
    rules_version = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    clearance = fields.Nested(ClearanceOutSchema, required=True, allow_none=True)


class ScreeningListSchema(PageSchema):
    """GET /api/screenings: a page of the list, oldest first (by created_at, then id)."""
    screenings = fields.List(fields.Nested(ScreeningSchema), required=True)


class SignInLinkInSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))


class SignInLinkSchema(Schema):
    """Always empty: nothing that says whether the e-mail is known."""


class SignInTokenInSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=200))


class NewestScreeningSchema(Schema):
    id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    areas = fields.List(fields.String(), required=True)
    valid_until = fields.String(required=True, metadata={"format": "date-time"})
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class SignInTokenSchema(Schema):
    access_token = fields.String(required=True)
    client_id = fields.String(required=True)
    client = fields.Nested(ClientOutSchema, required=True, metadata={
        "description": "The contact of the client's newest screening (beyond API.md, additive)."})
    screening = fields.Nested(NewestScreeningSchema, required=True, metadata={
        "description": "The client's newest screening, to book again with (beyond API.md, additive)."})


class ErasureServicesSchema(Schema):
    screening = fields.String(required=True, validate=validate.OneOf(("pending", "done")))
    booking = fields.String(required=True, validate=validate.OneOf(("pending", "done")))
    notifications = fields.String(required=True, validate=validate.OneOf(("pending", "done")))


class ErasureSchema(Schema):
    client_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("in_progress", "done")))
    services = fields.Nested(ErasureServicesSchema, required=True,
                             metadata={"description": "each service's part: done once it has erased what it holds"})
    reason = fields.String(required=True, validate=validate.OneOf(("request", "retention")),
                           metadata={"description": "request (an admin) or retention (the daily job)"})
    requested_at = fields.String(required=True, metadata={"format": "date-time"})
    completed_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
