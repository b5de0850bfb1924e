"""Keyset pages of the lists that can grow (API.md, Conventions): `limit` and `cursor` in, `next_cursor` out.

A list is ordered by a time and then a tie-breaker unique in the list (an id, or a sequence), so the order is
total even where many items share the time. A cursor is the (time, tie-breaker) of the last item of a page,
written "<microseconds since 1970, UTC>-<tie-breaker>"; the next page is what comes strictly after it in the
list's order (a WHERE on the sort key, never an OFFSET). So pages never repeat or skip an item, whatever is
inserted or removed between them; only an item whose own time changes meanwhile (a booking rescheduled) moves
to its new place in the list.

Cursors are validated, not signed: every string the documented pattern allows is a position in the list (the
API's fuzzer checks that what the document allows is accepted), and anything else is 422 validation_error.
Signing would protect nothing: a cursor only says where to start, and what a caller may see is decided by
their token and filters, never by the cursor.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import ColumnElement, Select, and_, or_

LIMIT_DEFAULT = 100
LIMIT_MAX = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROS = r"[0-9]{1,16}"  # up to the year 2286


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last item's sort time (aware) and its tie-breaker."""
    at: datetime
    tiebreak: Any


@dataclass(frozen=True)
class CursorFormat:
    """How one kind of list writes its positions: the tie-breaker's pattern (unanchored) and its type."""
    tiebreak_pattern: str
    tiebreak_type: Callable[[str], Any] = str

    @property
    def pattern(self) -> str:
        return rf"^{_MICROS}-{self.tiebreak_pattern}$"

    def encode(self, at: datetime, tiebreak) -> str:
        if at.tzinfo is None:
            raise ValueError("a cursor's time must be aware")
        cursor = f"{(at - _EPOCH) // timedelta(microseconds=1)}-{tiebreak}"
        if not re.fullmatch(self.pattern, cursor):  # an id outside the alphabet would give an unusable cursor
            raise ValueError(f"{tiebreak!r} cannot be written into a cursor of this list")
        return cursor

    def decode(self, cursor: str) -> Position:
        if not isinstance(cursor, str) or not re.fullmatch(self.pattern, cursor):
            raise ValueError("not a cursor of this list")
        micros, _, tiebreak = cursor.partition("-")
        return Position(_EPOCH + timedelta(microseconds=int(micros)), self.tiebreak_type(tiebreak))


# Lists ordered by (time, id): the services' ids are uuids; the alphabet is the URL's unreserved characters.
BY_ID = CursorFormat(r"[A-Za-z0-9._~-]{1,64}")
# Lists ordered by (time, sequence number).
BY_SEQUENCE = CursorFormat(r"[0-9]{1,15}", int)


class Cursor(fields.String):
    """The `cursor` query parameter: loads as a Position; anything not of the list's form is refused (422)."""

    def __init__(self, cursor_format: CursorFormat = BY_ID, **kwargs):
        self.cursor_format = cursor_format
        metadata = {"description": "`next_cursor` of the previous page (opaque: pass it back as it came).",
                    "pattern": cursor_format.pattern, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Position:
        try:
            return self.cursor_format.decode(super()._deserialize(value, attr, data, **kwargs))
        except ValueError:
            raise ValidationError("Not a cursor of this list.")


def limit_field() -> fields.Integer:
    return fields.Integer(load_default=LIMIT_DEFAULT, validate=validate.Range(min=1, max=LIMIT_MAX),
                          metadata={"description": f"Items per page, 1 to {LIMIT_MAX}."})


class PageQuerySchema(Schema):
    """`limit` and `cursor` of a list ordered by (time, id); a list's own query schema adds its filters.
    A list ordered by another tie-breaker overrides `cursor` with `Cursor(BY_SEQUENCE)` or its own format."""
    limit = limit_field()
    cursor = Cursor(BY_ID)


class PageSchema(Schema):
    """Beside the list in a page's answer; a list's own page schema adds the list."""
    next_cursor = fields.String(required=True, allow_none=True,
                                metadata={"description": "The `cursor` of the next page; null on the last page."})


def after(sort: ColumnElement, tiebreak: ColumnElement, position: Position | None,
          descending: bool = False) -> ColumnElement | None:
    """The WHERE that keeps what comes strictly after `position` in the order (sort, tiebreak)."""
    if position is None:
        return None
    if descending:
        return or_(sort < position.at, and_(sort == position.at, tiebreak < position.tiebreak))
    return or_(sort > position.at, and_(sort == position.at, tiebreak > position.tiebreak))


def keyset(query: Select, sort: ColumnElement, tiebreak: ColumnElement, position: Position | None,
           limit: int, descending: bool = False) -> Select:
    """`query` in the order (sort, tiebreak), from after `position`, one row more than `limit` (that row,
    left off the page, says that there is a next one)."""
    condition = after(sort, tiebreak, position, descending)
    if condition is not None:
        query = query.where(condition)
    order = (sort.desc(), tiebreak.desc()) if descending else (sort, tiebreak)
    return query.order_by(*order).limit(limit + 1)


def page_of(rows: Sequence, limit: int, key: Callable[[Any], tuple[datetime, Any]],
            cursor_format: CursorFormat = BY_ID) -> tuple[list, str | None]:
    """The page (at most `limit` of `rows`, as `keyset` fetched them) and its `next_cursor`: the position of
    its last item when more rows came than fit, else None."""
    items = list(rows[:limit])
    if len(rows) <= limit:
        return items, None
    return items, cursor_format.encode(*key(items[-1]))
