"""Fixtures of the staff tests: a migrated database (SQLite and PostgreSQL) and an app on it."""
from __future__ import annotations

import pytest

from clinic_shared.migrations import upgrade
from clinic_shared.settings import load_settings

from staff import create_app
from staff.settings import StaffSettings

OPERATOR_KEY = "operator-key-for-tests"
ADMIN = {"email": "admin@clinic.test", "password": "first-admin-password"}


@pytest.fixture
def staff_settings(tmp_path, database_url):
    upgrade("staff", database_url)
    base = load_settings("staff", {
        "CLINIC_DATA_DIR": str(tmp_path / "data"),
        "CLINIC_STAFF_TOKEN": OPERATOR_KEY,
        "CLINIC_SECRET_KEY": "secret-for-tests",
        "CLINIC_STAFF_DATABASE_URL": database_url,
    })
    return StaffSettings(base=base, admin_email=ADMIN["email"], admin_password=ADMIN["password"])


@pytest.fixture
def app(staff_settings):
    from staff.first_admin import make_first_admin

    make_first_admin(staff_settings)
    app = create_app(staff_settings)
    yield app
    app.extensions["staff"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin() -> dict:
    """The first admin's e-mail and password."""
    return dict(ADMIN)


@pytest.fixture
def operator_key() -> str:
    return OPERATOR_KEY


@pytest.fixture
def operator():
    return {"Authorization": f"Bearer {OPERATOR_KEY}"}


@pytest.fixture
def sign_in(client):
    """Sign in and return the Authorization header of the new session."""
    def sign(email: str, password: str) -> dict:
        response = client.post("/api/staff/sessions", json={"email": email, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return sign


@pytest.fixture
def add_member(client, operator):
    def add(role: str, email: str, password: str = "a-long-enough-password", **extra) -> dict:
        response = client.post("/api/staff/members", headers=operator,
                               json={"name": f"{role.title()} Person", "email": email, "role": role,
                                     "password": password, **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return add
