"""The staff service's rules as plain functions: the sign-in lock, passwords, session tokens."""
from datetime import datetime, timedelta, timezone

import pytest

from staff.domain.lockout import locked_for_seconds, normalise_email
from staff.domain.passwords import hash_password, password_matches
from staff.domain.session_tokens import new_token, token_digest

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=15)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.mark.parametrize("failures, wait", [
    ([], 0),
    ([ago(1)] * 4, 0),                                   # four: not yet
    ([ago(14), ago(3), ago(2), ago(1), ago(0.5)], 60),   # five within 15 min: open when the oldest leaves
    ([ago(16), ago(3), ago(2), ago(1), ago(0.5)], 0),    # the oldest is outside the window
    ([ago(20), ago(10), ago(9), ago(8), ago(7), ago(6)], 5 * 60),  # the latest five count
    ([ago(15 - 1 / 120)] + [ago(1)] * 4, 1),             # under a second left: still at least 1
])
def test_the_lock_holds_while_five_failures_fall_within_fifteen_minutes(failures, wait):
    assert locked_for_seconds(failures, NOW, 5, WINDOW) == wait


def test_emails_are_compared_as_typed_without_case_or_spaces():
    assert normalise_email("  Ada@Clinic.TEST ") == "ada@clinic.test"


def test_a_password_is_kept_only_as_an_argon2_hash():
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct horse battery" not in hashed
    assert password_matches(hashed, "correct horse battery")
    assert not password_matches(hashed, "correct horse battery!")
    assert not password_matches(None, "not a password of anyone")  # the decoy never signs anyone in
    assert not password_matches("not a hash", "anything")


def test_session_tokens_are_random_and_kept_as_digests():
    one, two = new_token(), new_token()
    assert one != two and one.startswith("stf_") and len(one) > 40
    assert token_digest(one) != one and len(token_digest(one)) == 64
