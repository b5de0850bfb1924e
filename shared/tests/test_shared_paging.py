"""clinic_shared.paging: the cursor's form, the query schema's bounds, and keyset pages on SQLite and PostgreSQL
over a list where many items share one time."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from clinic_shared.db import UTCDateTime, make_engine
from clinic_shared.paging import (BY_ID, BY_SEQUENCE, LIMIT_DEFAULT, Cursor, PageQuerySchema, Position, keyset,
                                  page_of)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

metadata = MetaData()
items = Table("items", metadata, Column("id", String(36), primary_key=True),
              Column("at", UTCDateTime(), nullable=False), Column("seq", Integer, nullable=False))


def test_a_cursor_is_the_position_it_was_made_from():
    at = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    ident = str(uuid.uuid4())
    assert BY_ID.decode(BY_ID.encode(at, ident)) == Position(at, ident)
    assert BY_SEQUENCE.decode(BY_SEQUENCE.encode(at, 42)) == Position(at, 42)
    assert BY_ID.decode("0-a") == Position(datetime(1970, 1, 1, tzinfo=timezone.utc), "a")
    assert BY_SEQUENCE.decode("9999999999999999-999999999999999").at.year == 2286


@pytest.mark.parametrize("text", ["", "nonsense", "-abc", "12-", "12", "1.5-abc", "12-a b", "12-a/b",
                                  "12345678901234567-a", f"1-{'a' * 65}", "１２-a"])
def test_anything_else_is_not_a_cursor(text):
    with pytest.raises(ValueError):
        BY_ID.decode(text)


def test_sequence_cursors_take_numbers_only():
    with pytest.raises(ValueError):
        BY_SEQUENCE.decode("12-abc")


def test_a_position_that_cannot_be_written_is_refused_when_made():
    with pytest.raises(ValueError):
        BY_ID.encode(T0, "has space")
    with pytest.raises(ValueError):
        BY_ID.encode(T0.replace(tzinfo=None), "abc")


def test_the_query_schema_has_the_contracts_bounds():
    schema = PageQuerySchema()
    assert schema.load({}) == {"limit": LIMIT_DEFAULT}
    assert schema.load({"limit": "1"})["limit"] == 1
    assert schema.load({"limit": "1000"})["limit"] == 1000
    for bad in ("0", "1001", "-1", "ten", "1.5"):
        with pytest.raises(ValidationError) as refused:
            schema.load({"limit": bad})
        assert set(refused.value.messages) == {"limit"}
    assert schema.load({"cursor": "1-abc"})["cursor"] == Position(datetime(1970, 1, 1, 0, 0, 0, 1, timezone.utc),
                                                                  "abc")
    with pytest.raises(ValidationError) as refused:
        schema.load({"cursor": "nonsense"})
    assert refused.value.messages == {"cursor": ["Not a cursor of this list."]}


def test_a_list_with_another_tie_breaker_says_so_in_its_schema():
    class SequencePages(PageQuerySchema):
        cursor = Cursor(BY_SEQUENCE)

    assert SequencePages().load({"cursor": "5-7"})["cursor"] == Position(
        datetime(1970, 1, 1, 0, 0, 0, 5, timezone.utc), 7)
    with pytest.raises(ValidationError):
        SequencePages().load({"cursor": "5-abc"})


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _insert(engine, rows):
    with engine.begin() as connection:
        connection.execute(items.insert(), [{"id": i, "at": at, "seq": s} for i, at, s in rows])


def _fill(engine, count=23):
    """`count` items over four times only, ids random: the tie-breaker does most of the ordering."""
    rng = random.Random(count)
    rows = [(str(uuid.UUID(int=rng.getrandbits(128), version=4)), T0 + timedelta(minutes=rng.randrange(4)), n)
            for n in range(count)]
    _insert(engine, rows)
    return rows


def _page(engine, position, limit, descending=False, cursor_format=BY_ID):
    tiebreak = items.c.seq if cursor_format is BY_SEQUENCE else items.c.id
    with engine.connect() as connection:
        rows = connection.execute(keyset(select(items), items.c.at, tiebreak, position, limit, descending)).all()
    key = (lambda r: (r.at, r.seq)) if cursor_format is BY_SEQUENCE else (lambda r: (r.at, r.id))
    page, cursor = page_of(rows, limit, key, cursor_format)
    return [r.id for r in page], cursor


def _walk(engine, limit, descending=False, cursor_format=BY_ID, between=None):
    seen, cursor = [], None
    while True:
        page, cursor = _page(engine, cursor_format.decode(cursor) if cursor else None, limit, descending,
                             cursor_format)
        assert len(page) <= limit
        seen.extend(page)
        if cursor is None:
            return seen
        if between:
            between()


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 7, 22, 23, 24, 1000])
def test_pages_of_any_size_neither_repeat_nor_skip(engine, limit):
    rows = _fill(engine)
    with engine.connect() as connection:  # the list's own order, as one query gives it
        whole = [r.id for r in connection.execute(select(items).order_by(items.c.at, items.c.id))]
        newest_first = [r.id for r in connection.execute(select(items).order_by(items.c.at.desc(),
                                                                                  items.c.seq.desc()))]
    assert _walk(engine, limit) == whole and len(whole) == len(rows)
    assert _walk(engine, limit, descending=True, cursor_format=BY_SEQUENCE) == newest_first


def test_the_last_full_page_says_there_is_no_next_one(engine):
    _fill(engine, count=6)
    page, cursor = _page(engine, None, 6)
    assert len(page) == 6 and cursor is None
    page, cursor = _page(engine, None, 5)
    assert len(page) == 5 and cursor is not None
    rest, cursor = _page(engine, BY_ID.decode(cursor), 5)
    assert len(rest) == 1 and cursor is None and rest[0] not in page


def test_items_inserted_between_pages_are_never_repeated_and_nothing_is_skipped(engine):
    rows = _fill(engine)
    times = sorted({at for _, at, _ in rows})
    added = []

    def insert_some():  # at every time of the list, before and after wherever the walk is
        fresh = [(str(uuid.uuid4()), at, 1000 + len(added) + n) for n, at in enumerate(times)]
        added.extend(i for i, _, _ in fresh)
        _insert(engine, fresh)

    seen = _walk(engine, 4, between=insert_some)
    assert len(seen) == len(set(seen))
    assert {i for i, _, _ in rows} <= set(seen) <= {i for i, _, _ in rows} | set(added)


def test_a_cursor_from_before_or_after_everything_is_still_a_place_in_the_list(engine):
    rows = _fill(engine, count=5)
    assert _page(engine, BY_ID.decode("0-0"), 10)[0] == [r.id for r in _all(engine)]
    assert _page(engine, BY_ID.decode("9999999999999999-zzz"), 10) == ([], None)
    assert len(rows) == 5


def _all(engine):
    with engine.connect() as connection:
        return connection.execute(select(items).order_by(items.c.at, items.c.id)).all()
