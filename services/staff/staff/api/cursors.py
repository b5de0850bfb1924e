"""The audit list's cursor: where the previous page ended, as "<microseconds since 1970>-<sequence>".

Every string of that form is a position in the list (the document's pattern says it), so any cursor the
pattern allows gives a page, possibly empty, never an error.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CURSOR_PATTERN = r"^[0-9]{1,16}-[0-9]{1,15}$"  # up to the year 2286; sequences far beyond any table
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def encode_cursor(at: datetime, seq: int) -> str:
    return f"{(at - _EPOCH) // timedelta(microseconds=1)}-{seq}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    micros, _, seq = cursor.partition("-")
    return _EPOCH + timedelta(microseconds=int(micros)), int(seq)
