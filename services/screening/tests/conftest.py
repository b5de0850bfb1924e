"""Fixtures of the screening tests: a migrated database (SQLite and PostgreSQL) and an app on it."""
from __future__ import annotations

import pytest

from clinic_shared.migrations import upgrade
from clinic_shared.settings import load_settings

from screening import create_app
from screening.settings import ScreeningSettings

STAFF_TOKEN = "staff-token-for-tests"


@pytest.fixture
def screening_settings(tmp_path, database_url):
    upgrade("screening", database_url)
    base = load_settings("screening", {
        "CLINIC_DATA_DIR": str(tmp_path / "data"),
        "CLINIC_STAFF_TOKEN": STAFF_TOKEN,
        "CLINIC_SECRET_KEY": "secret-for-tests",
        "CLINIC_SCREENING_DATABASE_URL": database_url,
    })
    return ScreeningSettings(base=base)


@pytest.fixture
def app(screening_settings):
    app = create_app(screening_settings)
    yield app
    app.extensions["screening"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def staff():
    return {"Authorization": f"Bearer {STAFF_TOKEN}"}


@pytest.fixture
def make_body():
    """A valid screening body on which no rule fires; keyword arguments change answers."""
    def make(**answer_changes):
        answers = {
            "active_acne": False, "eczema": False, "psoriasis": False, "fitzpatrick_type": "II",
            "pregnant_or_breastfeeding": False, "isotretinoin_last_6_months": False,
            "active_skin_infection": False, "keloid_scarring": False, "blood_thinners": False,
        }
        answers.update(answer_changes)
        return {"client": {"name": "Ada Client", "email": "ada@example.com", "phone": "+44 20 7946 0000"},
                "areas": ["face"], "answers": answers}
    return make
