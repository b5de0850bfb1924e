"""A database that goes away for a moment costs a request a short wait, not a 5xx, unless it may have committed."""
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from clinic_shared.db import make_engine
from clinic_shared.tcp_proxy import TcpProxy
from clinic_shared.testing import free_port
from clinic_shared.web import create_service_app


@pytest.fixture
def proxied_engine(postgres_url_factory):
    url = make_url(postgres_url_factory())
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432, free_port()).start()
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE things (n int)"))
    yield engine, proxy
    proxy.restore()
    engine.dispose()


def _outage(proxy: TcpProxy, seconds: float) -> None:
    """Cut now; restore after `seconds`, from another thread, while the request waits."""
    proxy.cut()
    threading.Timer(seconds, proxy.restore).start()


def test_a_request_cut_off_before_committing_is_run_again(proxied_engine):
    engine, proxy = proxied_engine
    app, _api = create_service_app("t", "t", health_checks={})
    attempts = []

    @app.post("/api/things")
    def add():
        attempts.append(1)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO things VALUES (1)"))
            if len(attempts) == 1:
                _outage(proxy, 1.0)  # the connection drops under the open transaction
            connection.execute(text("SELECT count(*) FROM things"))
        return {"attempts": len(attempts)}, 201

    response = app.test_client().post("/api/things")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert len(attempts) >= 2
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM things")) == 1  # the first try left nothing behind


def test_a_request_arriving_while_the_database_is_away_waits_for_it(proxied_engine):
    engine, proxy = proxied_engine
    app, _api = create_service_app("t", "t", health_checks={})

    @app.get("/api/things")
    def count():
        with engine.connect() as connection:
            return {"things": connection.scalar(text("SELECT count(*) FROM things"))}

    _outage(proxy, 1.5)  # pooled connections dropped, new ones refused for a moment
    response = app.test_client().get("/api/things")
    assert response.status_code == 200 and response.get_json() == {"things": 0}


def test_a_request_that_may_have_committed_is_not_run_again(proxied_engine):
    engine, proxy = proxied_engine
    app, _api = create_service_app("t", "t", health_checks={})
    attempts = []

    @app.post("/api/things")
    def add_then_read():
        attempts.append(1)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO things VALUES (1)"))
        _outage(proxy, 1.0)
        with engine.connect() as connection:  # dropped under it: pre-ping replaces it; the query then fails
            connection.execute(text("SELECT pg_sleep(0.5)"))
            proxy.cut()
            connection.execute(text("SELECT 1"))
        return {}, 201

    response = app.test_client().post("/api/things")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "service_unavailable"
    assert len(attempts) == 1
    proxy.restore()
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM things")) == 1
