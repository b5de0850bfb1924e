"""Settings: defaults, the environment, overrides, and a rule set file chosen by configuration."""
from __future__ import annotations

import json

import pytest

from clinic_shared.migrations import upgrade

from screening import create_app
from screening.domain.ruleset import DEFAULT_RULES_FILE, RuleSetError
from screening.settings import DEFAULT_AREAS, load_screening_settings


def env(tmp_path, **extra):
    return {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_STAFF_TOKEN": "s", "CLINIC_SECRET_KEY": "k", **extra}


def test_defaults(tmp_path):
    settings = load_screening_settings(env(tmp_path))
    assert settings.validity_days == 90
    assert settings.rules_file == DEFAULT_RULES_FILE
    assert settings.areas == DEFAULT_AREAS == ("face", "neck", "decolletage", "scalp", "hands")
    assert settings.base.service == "screening"
    assert settings.base.port == 8081
    assert settings.base.database_url == f"sqlite:///{tmp_path / 'screening.db'}"


def test_environment_overrides(tmp_path):
    settings = load_screening_settings(env(
        tmp_path, CLINIC_SCREENING_VALIDITY_DAYS="30", CLINIC_SCREENING_RULES_FILE="/x/rules.json",
        CLINIC_AREAS='[{"id": "face", "name": "Face", "minutes": 60}, {"id": "neck", "name": "Neck", "minutes": 30}]',
        CLINIC_SCREENING_DATABASE_URL="sqlite:///elsewhere.db"))
    assert settings.validity_days == 30
    assert str(settings.rules_file) == "/x/rules.json"
    assert settings.areas == ("face", "neck")
    assert settings.base.database_url == "sqlite:///elsewhere.db"


def test_with_overrides_reaches_both_parts(tmp_path):
    settings = load_screening_settings(env(tmp_path)).with_overrides(validity_days=7, timezone="UTC")
    assert settings.validity_days == 7 and settings.base.timezone == "UTC"
    with pytest.raises(TypeError):
        settings.with_overrides(no_such_setting=1)


def test_validity_and_rules_file_come_from_settings(tmp_path, database_url):
    upgrade("screening", database_url)
    rules = json.loads(DEFAULT_RULES_FILE.read_text())
    rules["version"] = "test-7"
    rules["rules"] = [r for r in rules["rules"] if r["code"] != "keloid_scarring"]
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(rules))
    settings = load_screening_settings(env(tmp_path, CLINIC_SCREENING_DATABASE_URL=database_url))
    app = create_app(settings, validity_days=10, rules_file=rules_file)
    try:
        client = app.test_client()
        assert client.get("/api/screening/questionnaire").json["version"] == "test-7"
        answers = {q["id"]: False for q in client.get("/api/screening/questionnaire").json["questions"]}
        answers.update(fitzpatrick_type="I", keloid_scarring=True)
        body = {"client": {"name": "A", "email": "a@example.com"}, "areas": ["neck"], "answers": answers}
        created = client.post("/api/screenings", json=body).json
        assert created["outcome"] == "eligible"  # the rule was taken out of the data
        stored = client.get(f"/api/screenings/{created['id']}", headers={"Authorization": "Bearer s"}).json
        assert stored["rules_version"] == "test-7"
        from datetime import datetime
        assert (datetime.fromisoformat(stored["valid_until"]) - datetime.fromisoformat(stored["created_at"])).days == 10
    finally:
        app.extensions["screening"].engine.dispose()


def test_a_broken_rules_file_stops_the_start(tmp_path):
    (tmp_path / "rules.json").write_text('{"version": "x", "questions": [], "rules": []}')
    settings = load_screening_settings(env(tmp_path, CLINIC_SCREENING_RULES_FILE=str(tmp_path / "rules.json")))
    with pytest.raises(RuleSetError):
        create_app(settings)
