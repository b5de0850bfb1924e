"""Date-times at the edges: requests must carry an offset; responses speak the clinic's time zone."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields

TIMEZONE_REQUIRED = "A date-time needs an offset, e.g. 2026-12-01T09:00:00+00:00 or ...Z."


def parse_aware(value: str) -> datetime:
    """Parse ISO 8601 with an offset; raise ValueError for anything else (a naive one included)."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise NaiveDateTime(value)
    return parsed


class NaiveDateTime(ValueError):
    pass


def to_local_iso(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat()


class OffsetDateTime(fields.Field):
    """A marshmallow field for request date-times: an offset is required (422 timezone_required)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_aware(value)
        except NaiveDateTime:
            raise ValidationError(TIMEZONE_REQUIRED)
        except (ValueError, TypeError):
            raise ValidationError("Not a valid ISO 8601 date-time.")

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat()
