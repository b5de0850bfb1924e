"""GET /api/notifications in pages (API.md, Conventions: `limit`, `cursor`, `next_cursor`) on SQLite and
PostgreSQL. Bookings confirmed at one moment for one start give messages that share their send_at: only the
id orders them."""
from __future__ import annotations

import pytest

from clinic_shared.auth import TokenAuthority

from notifications import create_app

STAFF = {"Authorization": "Bearer staff-secret-token"}


def token_for(system, client_id):
    settings = system.settings
    authority = TokenAuthority(settings.secret_key, settings.staff_token, settings.client_token_ttl_seconds)
    return {"Authorization": f"Bearer {authority.issue_client_token(client_id)}"}


@pytest.fixture
def many(system, booking_data):
    """Eight bookings at one start (four clients, two each), confirmed at one moment."""
    for n in range(8):
        system.deliver("booking.confirmed", booking_data(booking_id=f"b{n}", client_id=f"c{n % 4}"))
    return system


@pytest.fixture
def client(many, clock):
    return create_app(many.settings, clock=clock).test_client()


def in_list_order(rows) -> list[str]:
    return [r.id for r in sorted(rows, key=lambda r: (r.send_at, r.id))]


def walk(client, headers, limit, between=None, **filters) -> list[str]:
    seen, cursor = [], None
    while True:
        query = {"limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/notifications", headers=headers, query_string=query)
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        assert len(page["notifications"]) <= limit
        seen.extend(n["id"] for n in page["notifications"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between:
            between()


def test_the_list_has_ties_to_page_through(many):
    rows = many.messages()
    assert len(rows) >= 16 and len({r.send_at for r in rows}) < len(rows) / 4


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8, 9, 1000])
def test_pages_of_any_size_give_the_list_once_in_its_order(client, many, limit):
    rows = many.messages()
    assert walk(client, STAFF, limit) == in_list_order(rows)
    assert walk(client, token_for(many, "c1"), limit) == in_list_order(r for r in rows if r.client_id == "c1")
    assert walk(client, STAFF, limit, booking_id="b5") == in_list_order(r for r in rows if r.booking_id == "b5")
    assert walk(client, STAFF, limit, status="scheduled") == in_list_order(r for r in rows
                                                                          if r.status == "scheduled")


def test_messages_scheduled_between_pages_are_never_repeated_and_none_is_skipped(client, many, booking_data):
    before = {r.id for r in many.messages()}
    made = iter(range(100, 200))

    def book_more():  # same start, same moment: messages sorting before, among and after the walk's place
        n = next(made)
        many.deliver("booking.confirmed", booking_data(booking_id=f"b{n}", client_id=f"c{n % 4}"))

    seen = walk(client, STAFF, 3, between=book_more)
    assert len(seen) == len(set(seen))
    assert before <= set(seen) <= {r.id for r in many.messages()}


def test_without_a_limit_a_page_holds_a_hundred(client, many, booking_data):
    n = 8
    while len(many.messages()) <= 100:  # just over a page: every booking brings a few messages
        many.deliver("booking.confirmed", booking_data(booking_id=f"b{n}", client_id=f"c{n % 4}"))
        n += 1
    rows = many.messages()
    first = client.get("/api/notifications", headers=STAFF).get_json()
    assert len(first["notifications"]) == 100 and first["next_cursor"]
    rest = client.get("/api/notifications", headers=STAFF, query_string={"cursor": first["next_cursor"]}).get_json()
    assert [n["id"] for n in first["notifications"] + rest["notifications"]] == in_list_order(rows)
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("query, field", [({"cursor": "nonsense"}, "cursor"), ({"cursor": "12-a/b"}, "cursor"),
                                          ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                                          ({"limit": "x"}, "limit")])
def test_a_bad_cursor_or_limit_is_422_naming_the_field(client, query, field):
    for headers in (STAFF, None):
        answer = client.get("/api/notifications", headers=headers or {}, query_string=query)
        if headers is None:  # the token first: no token is 401 whatever the query
            assert answer.status_code == 401
            continue
        assert answer.status_code == 422, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "validation_error" and set(error["details"]["fields"]) == {field}


def test_a_cursor_of_the_documented_form_is_a_place_in_the_list(client, many):
    everything = in_list_order(many.messages())
    assert walk(client, STAFF, 1000, cursor="0-0") == everything
    end = client.get("/api/notifications", headers=STAFF, query_string={"cursor": "9999999999999999-z"})
    assert end.get_json() == {"notifications": [], "next_cursor": None}
