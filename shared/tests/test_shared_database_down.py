"""A database that refuses connections makes the service unavailable (503), not broken (500)."""
from sqlalchemy import text

from clinic_shared.db import make_engine
from clinic_shared.testing import free_port
from clinic_shared.web import create_service_app


def test_an_unreachable_database_is_503_with_retry_after():
    # A real PostgreSQL URL on a port nobody listens on: connecting fails as when the server is
    # down or has no connection slots left ("too many clients").
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2")
    app, _api = create_service_app("t", "t", health_checks={})

    @app.get("/api/things")
    def things():
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        return {}

    response = app.test_client().get("/api/things")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0
