"""Sign-in by e-mail (API.md "Clients who come back"): the link, the code's one use, the per-e-mail limit;
on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from clinic_shared.events import parse_envelope

from screening.domain import sign_in
from screening.store import repository
from screening.store.tables import outbox, sign_in_codes

EMAIL = "ada@example.com"


def sign_in_events(app) -> list[dict]:
    with app.extensions["screening"].session_factory() as session:
        bodies = [row.body for row in session.execute(select(outbox.c.body).order_by(outbox.c.id))]
    envelopes = [parse_envelope(json.loads(body))[0] for body in bodies]
    return [e["data"] for e in envelopes if e["type"] == "client.sign_in_requested"]


def code_rows(app) -> int:
    with app.extensions["screening"].session_factory() as session:
        return session.execute(select(func.count()).select_from(sign_in_codes)).scalar_one()


def screen(client, make_body, email=EMAIL, name="Ada Client", token=None):
    body = make_body()
    body["client"].update(email=email, name=name)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post("/api/screenings", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ask(client, email=EMAIL):
    return client.post("/api/auth/link", json={"email": email})


def exchange(client, code):
    return client.post("/api/auth/token", json={"code": code})


def test_a_known_client_gets_a_link_and_its_code_signs_them_in_once(app, client, make_body):
    screening = screen(client, make_body)
    response = ask(client)
    assert (response.status_code, response.get_json()) == (202, {})
    [event] = sign_in_events(app)
    assert event["client_id"] == screening["client_id"]
    assert event["client"]["email"] == EMAIL and event["client"]["name"] == "Ada Client"
    expires = datetime.fromisoformat(event["expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(timezone.utc) <= timedelta(minutes=15)

    signed_in = exchange(client, event["code"])
    assert signed_in.status_code == 200, signed_in.get_json()
    body = signed_in.get_json()
    assert body["client_id"] == screening["client_id"]
    assert body["client"] == {"name": "Ada Client", "email": EMAIL, "phone": "+44 20 7946 0000"}
    assert body["screening"]["id"] == screening["id"] and body["screening"]["outcome"] == "eligible"
    # The token is the client's: it reads their screening.
    own = client.get(f"/api/screenings/{screening['id']}", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert own.status_code == 200

    again = exchange(client, event["code"])
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "unauthorized"


def test_only_the_hash_of_a_code_is_kept(app, client, make_body):
    screen(client, make_body)
    ask(client)
    [event] = sign_in_events(app)
    with app.extensions["screening"].session_factory() as session:
        [row] = session.execute(select(sign_in_codes)).all()
    assert row.code_hash == sign_in.code_hash(event["code"]) != event["code"]
    assert EMAIL not in row.email_key and row.email_key == sign_in.email_key(EMAIL.upper())


def test_an_unknown_email_gets_the_same_answer_and_the_same_work_but_no_message(app, client, make_body):
    screen(client, make_body)
    response = ask(client, "nobody@example.com")
    assert (response.status_code, response.get_json()) == (202, {})
    assert sign_in_events(app) == []
    assert code_rows(app) == 1  # a code row is written either way (one that never works)
    with app.extensions["screening"].session_factory() as session:
        [row] = session.execute(select(sign_in_codes)).all()
    assert row.client_id is None


def test_the_email_is_matched_whatever_its_case(app, client, make_body):
    screening = screen(client, make_body, email="Ada.Client@Example.com")
    assert ask(client, "ADA.CLIENT@example.COM").status_code == 202
    [event] = sign_in_events(app)
    assert event["client_id"] == screening["client_id"]
    assert event["client"]["email"] == "Ada.Client@Example.com"  # written to as the client gave it


def test_the_newest_screening_with_the_email_says_which_client_signs_in(app, client, make_body):
    screen(client, make_body, name="Old Name")
    newer = screen(client, make_body, name="New Name")
    ask(client)
    [event] = sign_in_events(app)
    assert event["client_id"] == newer["client_id"] and event["client"]["name"] == "New Name"


@pytest.mark.parametrize("code", ["", "x" * 201])
def test_a_malformed_code_is_a_validation_error(client, code):
    response = exchange(client, code)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("body", [{}, {"email": "not-an-email"}, {"email": EMAIL, "extra": 1}])
def test_a_malformed_link_request_is_a_validation_error(client, body):
    response = client.post("/api/auth/link", json=body)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


def test_unknown_and_expired_codes_are_refused(app, client, make_body):
    assert exchange(client, "no-such-code").status_code == 401
    screening = screen(client, make_body)
    past = datetime.now(timezone.utc) - timedelta(minutes=16)
    with app.extensions["screening"].session_factory.begin() as session:
        repository.insert_sign_in_code(session, code_hash=sign_in.code_hash("old-code"), email_key="k",
                                       client_id=screening["client_id"], created_at=past,
                                       expires_at=past + timedelta(minutes=15))
    response = exchange(client, "old-code")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_a_code_made_for_an_unknown_email_never_works(app, client):
    now = datetime.now(timezone.utc)
    with app.extensions["screening"].session_factory.begin() as session:
        repository.insert_sign_in_code(session, code_hash=sign_in.code_hash("nobodys"), email_key="k",
                                       client_id=None, created_at=now, expires_at=now + timedelta(minutes=15))
    assert exchange(client, "nobodys").status_code == 401


def test_one_email_may_ask_three_times_in_a_quarter_of_an_hour_known_or_not(app, client, make_body):
    screen(client, make_body)
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(3):
            assert ask(client, email).status_code == 202
        refused = ask(client, email.upper())
        assert refused.status_code == 429
        assert refused.get_json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert ask(client, "someone.else@example.com").status_code == 202  # counted per e-mail
    assert len(sign_in_events(app)) == 3


def test_two_exchanges_of_one_code_at_once_sign_in_once(app, make_body):
    client = app.test_client()
    screen(client, make_body)
    ask(client)
    [event] = sign_in_events(app)
    barrier, statuses = threading.Barrier(4), []

    def attempt():
        own = app.test_client()
        barrier.wait()
        statuses.append(exchange(own, event["code"]).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 401, 401, 401]


@pytest.mark.parametrize("created_ago, expires_in, used, client_id, works", [
    (timedelta(0), timedelta(minutes=15), False, "c1", True),
    (timedelta(minutes=14, seconds=59), timedelta(seconds=1), False, "c1", True),
    (timedelta(minutes=15), timedelta(0), False, "c1", False),  # expired at this very moment
    (timedelta(minutes=20), -timedelta(minutes=5), False, "c1", False),
    (timedelta(minutes=1), timedelta(minutes=14), True, "c1", False),  # used
    (timedelta(minutes=1), timedelta(minutes=14), False, None, False),  # nobody's
    (-timedelta(minutes=1), timedelta(minutes=16), False, "c1", False),  # from the future: a clock gone wrong
])
def test_when_a_code_works(created_ago, expires_in, used, client_id, works):
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert sign_in.code_works(now - created_ago, now + expires_in, now if used else None, client_id, now) is works


def test_codes_are_long_random_and_their_lifetime_is_fifteen_minutes():
    codes = {sign_in.new_code() for _ in range(100)}
    assert len(codes) == 100 and all(len(c) >= 43 for c in codes)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert sign_in.expires_at(now, sign_in.SignInPolicy()) == now + timedelta(minutes=15)


@pytest.mark.parametrize("earlier_minutes_ago, wait", [
    ([], 0), ([1], 0), ([1, 2], 0), ([1, 2, 3], 12 * 60), ([14, 2, 1], 60), ([16, 20, 30], 0), ([15, 1, 2], 0),
])
def test_the_link_limit_per_email(earlier_minutes_ago, wait):
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    earlier = [now - timedelta(minutes=m) for m in earlier_minutes_ago]
    assert sign_in.link_wait_seconds(earlier, now, sign_in.SignInPolicy()) == wait
