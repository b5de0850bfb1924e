"""GET /api/bookings in pages (API.md, Conventions: `limit`, `cursor`, `next_cursor`) on SQLite and PostgreSQL:
many bookings share one start, so only the id tells them apart."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 10)  # a Tuesday, a week after the tests' "now"
STARTS = [datetime.combine(DAY, time(hh), tzinfo=LONDON) for hh in (9, 12, 15)]
PRACTITIONERS = [f"Practitioner {n}" for n in range(1, 7)]


def walk(clinic, limit: int, headers: dict, between=None, **filters) -> list[str]:
    """Every page from the first to the one whose next_cursor is null; the ids in the order served."""
    seen, cursor = [], None
    while True:
        query = {"limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        answer = clinic.http.get("/api/bookings", headers=headers, query_string=query)
        assert answer.status_code == 200, answer.get_json()
        page = answer.get_json()
        assert len(page["bookings"]) <= limit
        seen.extend(b["id"] for b in page["bookings"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between:
            between()


def book_at(clinic, start: datetime) -> dict:
    answer = clinic.book(clinic.screen(), start)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


@pytest.fixture
def busy_clinic(make_clinic):
    """Four bookings (four clients) at each of three starts, two practitioners left free at each."""
    clinic = make_clinic(practitioners=PRACTITIONERS)
    clinic.booked = [book_at(clinic, start) for start in STARTS for _ in range(4)]
    return clinic


def in_list_order(bookings: list[dict]) -> list[str]:
    return [b["id"] for b in sorted(bookings, key=lambda b: (datetime.fromisoformat(b["start"]), b["id"]))]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 11, 12, 13, 1000])
def test_pages_of_any_size_give_the_list_once_in_its_order(busy_clinic, limit):
    assert walk(busy_clinic, limit, busy_clinic.staff) == in_list_order(busy_clinic.booked)


def test_without_a_limit_a_page_holds_a_hundred(make_clinic):
    clinic = make_clinic(practitioners=PRACTITIONERS)
    clients = [clinic.screen() for _ in range(len(PRACTITIONERS))]
    for day in (date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)):
        for hh in range(9, 15):  # six consultations at each of six starts a day: 108
            for screening in clients:
                answer = clinic.book(screening, datetime.combine(day, time(hh), tzinfo=LONDON),
                                     type_="consultation", areas=())
                assert answer.status_code == 201, answer.get_json()
    total = len(walk(clinic, 1000, clinic.staff))
    assert total > 100, total  # enough for a second page
    first = clinic.http.get("/api/bookings", headers=clinic.staff).get_json()
    assert len(first["bookings"]) == 100 and first["next_cursor"] is not None
    rest = clinic.http.get("/api/bookings", headers=clinic.staff,
                           query_string={"cursor": first["next_cursor"]}).get_json()
    assert len(rest["bookings"]) == total - 100 and rest["next_cursor"] is None


def test_bookings_made_between_pages_are_never_repeated_and_none_is_skipped(busy_clinic):
    added = []

    def book_more():  # at every start: before, at and after wherever the walk has got to
        for start in STARTS:
            if len([b for b in added if b["start"] == start.isoformat()]) < 2:
                added.append(book_at(busy_clinic, start))

    seen = walk(busy_clinic, 3, busy_clinic.staff, between=book_more)
    assert len(seen) == len(set(seen))
    assert {b["id"] for b in busy_clinic.booked} <= set(seen) <= {b["id"] for b in busy_clinic.booked + added}
    assert len(added) == 6


def test_a_client_pages_through_their_own_bookings_only(busy_clinic):
    ada = busy_clinic.screen()
    own = [busy_clinic.book(ada, datetime.combine(date(2026, 11, d), time(9), tzinfo=LONDON), areas=(),
                            type_="consultation").get_json() for d in (11, 12, 13)]
    headers = busy_clinic.client_headers(ada["client_id"])
    assert walk(busy_clinic, 1, headers) == [b["id"] for b in own]
    assert walk(busy_clinic, 2, busy_clinic.staff, date="2026-11-10") == in_list_order(busy_clinic.booked)
    assert walk(busy_clinic, 2, busy_clinic.staff, date="2026-11-12") == [own[1]["id"]]


def test_a_cursor_that_is_not_one_or_a_limit_out_of_bounds_is_422_naming_the_field(busy_clinic):
    for query, field in [({"cursor": "nonsense"}, "cursor"), ({"cursor": "12-a b"}, "cursor"),
                         ({"cursor": ""}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                         ({"limit": "ten"}, "limit"), ({"limit": -5}, "limit")]:
        answer = busy_clinic.http.get("/api/bookings", headers=busy_clinic.staff, query_string=query)
        assert answer.status_code == 422, (query, answer.get_json())
        error = answer.get_json()["error"]
        assert error["code"] == "validation_error" and set(error["details"]["fields"]) == {field}, error


def test_any_cursor_of_the_documented_form_is_a_place_in_the_list(busy_clinic):
    everything = in_list_order(busy_clinic.booked)
    start = busy_clinic.http.get("/api/bookings", headers=busy_clinic.staff,
                                 query_string={"cursor": "0-0", "limit": 1000}).get_json()
    assert [b["id"] for b in start["bookings"]] == everything and start["next_cursor"] is None
    end = busy_clinic.http.get("/api/bookings", headers=busy_clinic.staff,
                               query_string={"cursor": "9999999999999999-zzz"}).get_json()
    assert end == {"bookings": [], "next_cursor": None}


def test_the_document_describes_the_parameters_and_next_cursor(busy_clinic):
    spec = busy_clinic.http.get("/openapi.json").get_json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/bookings"]["get"]["parameters"]}
    assert parameters["limit"]["schema"]["minimum"] == 1 and parameters["limit"]["schema"]["maximum"] == 1000
    assert parameters["limit"]["schema"]["default"] == 100
    assert parameters["cursor"]["schema"]["pattern"].startswith("^[0-9]{1,16}-")
    assert "date" in parameters
    page = spec["components"]["schemas"]["BookingList"]
    assert page["properties"]["next_cursor"]["type"] == ["string", "null"] or page["properties"]["next_cursor"].get(
        "nullable")
