"""A database that goes away for a moment costs a request a short wait, not a 5xx, unless it may have committed."""
import threading
import time

import pytest
from sqlalchemy import create_engine, text
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


def _app_adding_a_thing(engine, after_insert=lambda connection, attempt: None):
    """An app whose POST /api/things inserts one row in a transaction, in which `after_insert` runs next;
    with the list its attempts are counted in."""
    app, _api = create_service_app("t", "t", health_checks={})
    attempts = []

    @app.post("/api/things")
    def add():
        attempts.append(1)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO things VALUES (1)"))
            after_insert(connection, len(attempts))
        return {"attempts": len(attempts)}, 201

    return app, attempts


def test_a_request_cut_off_before_committing_is_run_again(proxied_engine):
    engine, proxy = proxied_engine

    def cut_on_the_first_attempt(connection, attempt):
        if attempt == 1:
            _outage(proxy, 1.0)  # the connection drops under the open transaction
        connection.execute(text("SELECT count(*) FROM things"))

    app, attempts = _app_adding_a_thing(engine, cut_on_the_first_attempt)
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


@pytest.fixture
def commit_gate(proxied_engine):
    """A COMMIT on `things` waits inside the server until the test lets it go: a deferred trigger takes an
    advisory lock that the test holds on a connection of its own (not through the proxy)."""
    engine, proxy = proxied_engine
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE FUNCTION wait_for_the_test() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_advisory_xact_lock(42); RETURN NULL; END $$"))
        connection.execute(text(
            "CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON things DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION wait_for_the_test()"))
    direct = create_engine(engine.url.set(host=proxy.upstream[0], port=proxy.upstream[1]),
                           isolation_level="AUTOCOMMIT")
    with direct.connect() as gate:
        gate.execute(text("SELECT pg_advisory_lock(42)"))
        yield engine, proxy, gate
    direct.dispose()


def _committing(gate) -> int:
    """The server process whose COMMIT waits at the gate, once there is one."""
    deadline = time.monotonic() + 60  # a safety net against a hung test, not what it measures
    while time.monotonic() < deadline:
        pid = gate.scalar(text("SELECT pid FROM pg_stat_activity WHERE wait_event = 'advisory' "
                               "AND datname = current_database() AND query = 'COMMIT'"))
        if pid:
            return pid
        time.sleep(0.02)
    raise AssertionError("no COMMIT reached the gate")


def _post_in_thread(app, path: str) -> tuple[threading.Thread, list]:
    responses = []
    thread = threading.Thread(target=lambda: responses.append(app.test_client().post(path)), daemon=True)
    thread.start()
    return thread, responses


@pytest.mark.parametrize("server_side", ["commits", "rolls back"])
def test_a_commit_cut_off_by_an_outage_is_settled_by_asking_the_database(commit_gate, server_side):
    engine, proxy, gate = commit_gate
    app, attempts = _app_adding_a_thing(engine)
    thread, responses = _post_in_thread(app, "/api/things")
    pid = _committing(gate)
    proxy.cut()  # the client loses its connection while the server is inside the COMMIT
    if server_side == "rolls back":
        gate.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    gate.execute(text("SELECT pg_advisory_unlock(42)"))  # a COMMIT still under way now lands
    proxy.restore()
    thread.join(60)

    [response] = responses
    assert response.status_code == 201, response.get_data(as_text=True)
    # It landed: the view carried on with its answer. It did not: nothing changed, so it was run again.
    assert len(attempts) == (1 if server_side == "commits" else 2)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM things")) == 1
