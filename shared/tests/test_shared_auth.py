import time

from flask import Flask

from clinic_shared.auth import TokenAuthority
from clinic_shared.errors import ApiError

import pytest


def authority(ttl=60):
    return TokenAuthority("secret", "staff-token", ttl)


def test_client_token_names_its_client():
    auth = authority()
    principal = auth.principal_for(auth.issue_client_token("client-1"))
    assert principal.role == "client" and principal.client_id == "client-1"
    assert principal.may_see("client-1") and not principal.may_see("client-2")


def test_staff_token_sees_everything():
    principal = authority().principal_for("staff-token")
    assert principal.is_staff and principal.may_see("anyone")


def test_tampered_or_foreign_tokens_are_refused():
    token = authority().issue_client_token("client-1")
    assert authority().principal_for(token[:-2] + "xx") is None
    assert TokenAuthority("other-secret", "staff-token", 60).principal_for(token) is None
    assert authority().principal_for("staff-token-but-longer") is None


def test_expired_token_is_refused():
    auth = authority(ttl=1)
    token = auth.issue_client_token("client-1")
    time.sleep(2.1)
    assert auth.principal_for(token) is None


@pytest.mark.parametrize("header, status", [
    (None, 401), ("Bearer nonsense", 401), ("Basic staff-token", 401), ("Bearer staff-token", None),
])
def test_require_staff(header, status):
    app = Flask(__name__)
    headers = {"Authorization": header} if header else {}
    with app.test_request_context(headers=headers):
        from flask import request
        if status is None:
            assert authority().require_staff(request).is_staff
        else:
            with pytest.raises(ApiError) as caught:
                authority().require_staff(request)
            assert caught.value.status == status and caught.value.code == "unauthorized"


def test_staff_on_a_client_endpoint_is_forbidden():
    app = Flask(__name__)
    with app.test_request_context(headers={"Authorization": "Bearer staff-token"}):
        from flask import request
        with pytest.raises(ApiError) as caught:
            authority().require_client(request)
        assert caught.value.status == 403


def test_client_on_staff_endpoint_is_forbidden():
    auth = authority()
    app = Flask(__name__)
    with app.test_request_context(headers={"Authorization": "Bearer " + auth.issue_client_token("c")}):
        from flask import request
        with pytest.raises(ApiError) as caught:
            auth.require_staff(request)
        assert caught.value.status == 403 and caught.value.code == "forbidden"



# --- booking tokens (the manage link of a booking's e-mails) ------------------------------------------

def _in(seconds):
    from datetime import datetime, timedelta, timezone
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def test_a_booking_token_names_its_client_and_its_one_booking():
    auth = authority()
    principal = auth.principal_for(auth.issue_booking_token("client-1", "booking-1", _in(3600)))
    assert (principal.role, principal.client_id, principal.booking_id) == ("client", "client-1", "booking-1")
    assert principal.is_booking_scoped and not principal.is_staff
    assert principal.may_see_booking("booking-1") and not principal.may_see_booking("booking-2")
    whole = auth.principal_for(auth.issue_client_token("client-1"))
    assert not whole.is_booking_scoped and whole.may_see_booking("booking-2")


def test_a_booking_token_lasts_until_its_booking_ends_however_long_that_is():
    auth = authority(ttl=1)  # the client tokens' lifetime does not cut a booking token short
    assert auth.principal_for(auth.issue_booking_token("c", "b", _in(400 * 24 * 3600))) is not None
    assert auth.principal_for(auth.issue_booking_token("c", "b", _in(-1))) is None


def test_a_tampered_or_foreign_booking_token_is_refused():
    token = authority().issue_booking_token("client-1", "booking-1", _in(3600))
    assert authority().principal_for(token[:-2] + "xx") is None
    assert TokenAuthority("other-secret", "staff-token", 60).principal_for(token) is None


def test_a_booking_token_is_not_a_whole_client_token_to_code_that_reads_only_those():
    """Its own salt: a service that knows only client tokens refuses it instead of widening it."""
    from itsdangerous import BadSignature, URLSafeTimedSerializer
    token = authority().issue_booking_token("client-1", "booking-1", _in(3600))
    with pytest.raises(BadSignature):
        URLSafeTimedSerializer("secret", salt="clinic-client-token").loads(token)


@pytest.mark.parametrize("method", ["optional_principal", "require_principal", "require_client"])
def test_an_endpoint_refuses_a_booking_token_unless_it_serves_one(method):
    app = Flask(__name__)
    auth = authority()
    token = auth.issue_booking_token("client-1", "booking-1", _in(3600))
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        from flask import request
        with pytest.raises(ApiError) as caught:
            getattr(auth, method)(request)
        assert (caught.value.status, caught.value.code) == (403, "forbidden")
        assert getattr(auth, method)(request, booking_scope=True).booking_id == "booking-1"
