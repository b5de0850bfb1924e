"""GET /api/screenings in pages (API.md, Conventions: `limit`, `cursor`, `next_cursor`) on SQLite and PostgreSQL.

Screenings made in one instant (the use case with one `now`) share their created_at: only the id orders them."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from clinic_shared.db import transaction

from screening.operations import Contact, submit_screening
from screening.store.tables import outbox

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
CLEAN = {"active_acne": False, "eczema": False, "psoriasis": False, "fitzpatrick_type": "II",
         "pregnant_or_breastfeeding": False, "isotretinoin_last_6_months": False, "active_skin_infection": False,
         "keloid_scarring": False, "blood_thinners": False}


def make_screenings(app, count: int, at: datetime, **answer_changes) -> list[str]:
    ctx = app.extensions["screening"]
    ids = []
    with transaction(ctx.session_factory) as session:
        for n in range(count):
            record = submit_screening(session, ruleset=ctx.ruleset, client_id=f"client-{at:%H%M}-{n}",
                                      contact=Contact(name="Ada Client", email="ada@example.com"), areas=["face"],
                                      answers={**CLEAN, **answer_changes}, now=at, validity_days=90,
                                      tz=ctx.settings.base.tz)
            ids.append(record.id)
    return ids


@pytest.fixture
def many(app):
    """Five screenings at each of three instants, one of them needing a consultation: 15, in list order."""
    made = {}
    for minutes in (0, 1, 2):
        at = T0 + timedelta(minutes=minutes)
        for id_ in make_screenings(app, 4, at):
            made[id_] = at
        for id_ in make_screenings(app, 1, at, blood_thinners=True):
            made[id_] = at
    return sorted(made, key=lambda id_: (made[id_], id_))


def walk(client, staff, limit: int, between=None, **filters) -> list[str]:
    seen, cursor = [], None
    while True:
        query = {"limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/screenings", headers=staff, query_string=query)
        assert answer.status_code == 200, answer.json
        assert len(answer.json["screenings"]) <= limit
        seen.extend(s["id"] for s in answer.json["screenings"])
        cursor = answer.json["next_cursor"]
        if cursor is None:
            return seen
        if between:
            between()


@pytest.mark.parametrize("limit", [1, 2, 4, 5, 14, 15, 16, 1000])
def test_pages_of_any_size_give_the_list_once_oldest_first(client, staff, many, limit):
    assert walk(client, staff, limit) == many


def test_the_clearance_queue_pages_too(app, client, staff, many):
    queue = walk(client, staff, 1, outcome="consultation_required")
    assert len(queue) == 3 and queue == [id_ for id_ in many if id_ in queue]


def test_screenings_made_between_pages_are_never_repeated_and_none_is_skipped(app, client, staff, many):
    added = []

    def more():  # at every instant of the list, before, at and after wherever the walk has got to
        for minutes in (0, 1, 2, 3):
            added.extend(make_screenings(app, 1, T0 + timedelta(minutes=minutes)))

    seen = walk(client, staff, 4, between=more)
    assert len(seen) == len(set(seen))
    assert set(many) <= set(seen) <= set(many) | set(added)


def test_a_cleared_screening_leaving_the_queue_between_pages_moves_nothing_else(client, staff, app):
    queue = make_screenings(app, 6, T0, blood_thinners=True)
    queue.sort()
    first = client.get("/api/screenings", headers=staff,
                       query_string={"outcome": "consultation_required", "limit": 3}).json
    assert [s["id"] for s in first["screenings"]] == queue[:3]
    for id_ in queue[:3]:  # the first page is worked through: it leaves the queue
        answer = client.post(f"/api/screenings/{id_}/clearance", json={"decision": "approved"}, headers=staff)
        assert answer.status_code == 200, answer.json
    rest = client.get("/api/screenings", headers=staff, query_string={
        "outcome": "consultation_required", "limit": 3, "cursor": first["next_cursor"]}).json
    assert [s["id"] for s in rest["screenings"]] == queue[3:] and rest["next_cursor"] is None


def test_only_the_answers_a_page_shows_are_recorded_as_read(app, client, staff, many):
    def reads():
        with app.extensions["screening"].session_factory() as session:
            bodies = session.execute(select(outbox.c.body)).scalars().all()
        return sum(json.loads(b)["type"] == "audit.recorded" for b in bodies)

    before = reads()
    assert len(client.get("/api/screenings", headers=staff, query_string={"limit": 2}).json["screenings"]) == 2
    assert reads() == before + 2


@pytest.mark.parametrize("query, field", [({"cursor": "nonsense"}, "cursor"), ({"cursor": "1-"}, "cursor"),
                                          ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                                          ({"limit": "all"}, "limit")])
def test_a_bad_cursor_or_limit_is_422_naming_the_field(client, staff, query, field):
    answer = client.get("/api/screenings", headers=staff, query_string=query)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == "validation_error"
    assert set(answer.json["error"]["details"]["fields"]) == {field}


def test_a_client_token_still_cannot_list_whatever_the_paging(client, app):
    token = app.extensions["screening"].tokens.issue_client_token("someone")
    answer = client.get("/api/screenings", headers={"Authorization": f"Bearer {token}"},
                        query_string={"cursor": "0-0"})
    assert answer.status_code == 403


def test_without_a_limit_a_page_holds_a_hundred(app, client, staff):
    made = make_screenings(app, 101, T0)
    first = client.get("/api/screenings", headers=staff).json
    assert len(first["screenings"]) == 100 and first["next_cursor"]
    rest = client.get("/api/screenings", headers=staff, query_string={"cursor": first["next_cursor"]}).json
    assert [s["id"] for s in first["screenings"] + rest["screenings"]] == sorted(made)
    assert rest["next_cursor"] is None
