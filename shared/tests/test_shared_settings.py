import multiprocessing

from clinic_shared.settings import load_settings, read_or_create_secret


def test_defaults_are_embedded(tmp_path):
    settings = load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'booking.db'}"
    assert settings.broker_url == "filesystem://"
    assert settings.smtp_url is None
    assert settings.timezone == "Europe/London"
    assert settings.rate_limit == "120/minute"
    assert settings.port == 8082
    assert (tmp_path / "staff-token").read_text().strip() == settings.staff_token
    assert settings.service_urls["notifications"] == "http://127.0.0.1:8083"


def test_environment_overrides(tmp_path):
    env = {
        "CLINIC_DATA_DIR": str(tmp_path),
        "CLINIC_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
        "CLINIC_BOOKING_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/booking",
        "CLINIC_STAFF_TOKEN": "staff-secret",
        "CLINIC_SECRET_KEY": "signing-key",
        "CLINIC_TIMEZONE": "Europe/Paris",
        "CLINIC_PORT": "9000",
        "CLINIC_BOOKING_URL": "http://booking:8082",
    }
    booking = load_settings("booking", env)
    assert booking.database_url.startswith("postgresql+psycopg://")
    assert booking.staff_token == "staff-secret" and booking.secret_key == "signing-key"
    assert booking.tz.key == "Europe/Paris"
    assert load_settings("gateway", env).port == 9000
    assert booking.service_urls["booking"] == "http://booking:8082"
    assert not (tmp_path / "staff-token").exists()  # given, so never generated


def _read(path, queue):
    queue.put(read_or_create_secret(path))


def test_secret_created_once_when_processes_race(tmp_path):
    path = tmp_path / "secret-key"
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_read, args=(path, queue)) for _ in range(6)]
    for p in processes:
        p.start()
    values = {queue.get(timeout=20) for _ in processes}
    for p in processes:
        p.join()
    assert len(values) == 1
    assert path.read_text().strip() in values


def test_treatment_areas_default_to_clinic_md_and_are_overridable():
    import pytest

    from clinic_shared.catalog import load_areas

    assert [(a.id, a.minutes) for a in load_areas({})] == [
        ("face", 60), ("neck", 30), ("decolletage", 45), ("scalp", 45), ("hands", 30)]
    lips = load_areas({"CLINIC_AREAS": '[{"id": "lips", "name": "Lips", "minutes": 15}]'})
    assert [(a.id, a.name, a.minutes) for a in lips] == [("lips", "Lips", 15)]
    for bad in ('[]', '[{"id": "a", "name": "A", "minutes": 0}]',
                '[{"id": "a", "name": "A", "minutes": 5}, {"id": "a", "name": "B", "minutes": 5}]'):
        with pytest.raises(ValueError):
            load_areas({"CLINIC_AREAS": bad})
