"""Fixtures the shared library's tests have in common."""
import pytest

from clinic_shared.settings import load_settings


@pytest.fixture(params=["filesystem", "rabbitmq"])
def settings(request, tmp_path, topology_prefix):
    """Settings on each broker in turn: kombu's file transport, then RabbitMQ (names unique to the test)."""
    env = {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_TOPOLOGY_PREFIX": topology_prefix}
    if request.param == "rabbitmq":
        env["CLINIC_BROKER_URL"] = request.getfixturevalue("amqp_url")
    return load_settings("booking", env)
