"""The role matrix (API.md "Staff accounts and roles") and how a principal is checked against it."""
import pytest
from flask import Flask, request

from clinic_shared.auth import Principal, TokenAuthority
from clinic_shared.errors import ApiError
from clinic_shared.roles import MATRIX, may
from clinic_shared.staff_sessions import OPERATOR, StaffIdentity

# API.md's table, row by row: admin, practitioner, reception
API_MD = {
    "bookings": (True, True, True), "screenings": (True, True, True),
    "screening_answers": (True, True, False), "clearance": (True, True, False),
    "closures": (True, True, True), "notifications": (True, True, True),
    "staff_members": (True, False, False), "audit": (True, False, False), "client_data": (True, False, False),
}


def test_the_matrix_is_api_md_s_table():
    assert set(MATRIX) == set(API_MD)
    for permission, rights in API_MD.items():
        assert tuple(may(role, permission) for role in ("admin", "practitioner", "reception")) == rights, permission


def test_an_unknown_role_has_nothing_and_an_unknown_permission_is_a_mistake():
    assert not any(may(role, "bookings") for role in (None, "client", "Admin"))
    with pytest.raises(KeyError):
        may("admin", "bokings")


def test_a_principal_may_what_its_role_may():
    reception = Principal("staff", staff=StaffIdentity("m1", "Rita", "reception"))
    assert reception.may("bookings") and not reception.may("screening_answers")
    assert Principal("staff", staff=OPERATOR).may("audit")  # the operator key is an admin
    assert not Principal("client", client_id="c1").may("bookings")


def test_require_staff_with_a_permission_answers_403_for_a_role_without_it():
    tokens = TokenAuthority("secret", "operator-key", 3600)
    app = Flask(__name__)
    client_token = tokens.issue_client_token("c1")
    with app.test_request_context(headers={"Authorization": "Bearer operator-key"}):
        assert tokens.require_staff(request, "staff_members").staff == OPERATOR
    with app.test_request_context(headers={"Authorization": f"Bearer {client_token}"}):
        with pytest.raises(ApiError) as refused:
            tokens.require_staff(request, "bookings")
        assert refused.value.status == 403
    with app.test_request_context(headers={"Authorization": "Bearer stf_unknown"}):
        with pytest.raises(ApiError) as unknown:  # no staff service configured: a session token is unknown
            tokens.require_staff(request)
        assert unknown.value.status == 401


def test_an_unreachable_staff_service_is_503_not_401():
    from clinic_shared.staff_sessions import StaffSessions
    from clinic_shared.testing import free_port

    sessions = StaffSessions(f"http://127.0.0.1:{free_port()}", "operator-key", timeout=1)
    with pytest.raises(ApiError) as unavailable:
        sessions.identity("stf_whatever")
    assert unavailable.value.status == 503 and unavailable.value.code == "service_unavailable"
