from marshmallow import Schema, fields, validate

from clinic_shared.paging import PageQuerySchema, PageSchema

from ..domain.kinds import ALL_KINDS, PUBLIC_STATUSES


class NotificationQuerySchema(PageQuerySchema):
    booking_id = fields.String(metadata={"description": "A booking; clients must give one of their own or none."})
    status = fields.String(validate=validate.OneOf(PUBLIC_STATUSES))


class NotificationSchema(Schema):
    id = fields.String(required=True)
    booking_id = fields.String(allow_none=True, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ALL_KINDS))
    channel = fields.String(required=True, metadata={"enum": ["email"]})
    to = fields.String(required=True)
    subject = fields.String(required=True)
    send_at = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.String(required=True, validate=validate.OneOf(PUBLIC_STATUSES))
    sent_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    attempts = fields.Integer(required=True)


class NotificationListSchema(PageSchema):
    """GET /api/notifications: a page of the list, ordered by send_at, then id."""
    notifications = fields.List(fields.Nested(NotificationSchema), required=True)


class CalendarQuerySchema(Schema):
    booking_id = fields.String(required=True, validate=validate.Length(min=1, max=100),
                               metadata={"description": "The booking whose calendar file is wanted."})
