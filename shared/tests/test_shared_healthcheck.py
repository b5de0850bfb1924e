"""What containers run with: the health check of each image and gunicorn's process settings."""
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from clinic_shared import healthcheck
from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.gunicorn_conf import count_setting, usable_cores
from clinic_shared.outbox import outbox_table
from clinic_shared.settings import load_settings
from clinic_shared.worker import WorkerParts, run_worker

GUNICORN = Path(sys.executable).parent / "gunicorn"


def answering(status: int):
    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("status, healthy", [(200, True), (503, True), (500, False)])
def test_a_web_process_is_healthy_while_it_answers_its_health(status, healthy):
    server = answering(status)
    try:
        env = {"CLINIC_BOOKING_PORT": str(server.server_address[1])}
        assert (healthcheck.problem("booking", env) is None) is healthy
    finally:
        server.shutdown()
        server.server_close()


def test_a_web_process_that_does_not_answer_is_unhealthy():
    server = answering(200)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    assert "port" in healthcheck.problem("gateway", {"CLINIC_PORT": str(port)})


def test_a_worker_is_healthy_while_its_file_is_fresh(tmp_path):
    alive = tmp_path / "alive"
    assert "does not exist" in healthcheck.worker_problem(alive)
    alive.touch()
    assert healthcheck.worker_problem(alive) is None
    stale = time.time() - healthcheck.ALIVE_FILE_MAX_AGE_SECONDS - 5
    os.utime(alive, (stale, stale))
    assert "last touched" in healthcheck.worker_problem(alive)
    assert healthcheck.problem("booking", {"CLINIC_WORKER_ALIVE_FILE": str(alive)}) is not None


def test_a_running_worker_touches_its_alive_file_and_the_check_passes(tmp_path):
    alive = tmp_path / "worker.alive"
    settings = load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_WORKER_ALIVE_FILE": str(alive)})
    metadata = MetaData()
    outbox = outbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'booking.db'}")
    metadata.create_all(engine)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, daemon=True, args=(
        WorkerParts(settings=settings, session_factory=make_session_factory(engine), outbox=outbox), stop))
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while not alive.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        result = subprocess.run([sys.executable, "-m", "clinic_shared.healthcheck", "booking"], capture_output=True,
                                text=True, env={**os.environ, "CLINIC_WORKER_ALIVE_FILE": str(alive)}, timeout=60)
        assert result.returncode == 0, result.stderr
    finally:
        stop.set()
        worker.join(15)
        engine.dispose()


def test_the_check_fails_with_a_reason_and_says_how_to_call_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "clinic_shared.healthcheck", "booking"], capture_output=True,
                            text=True, env={**os.environ, "CLINIC_BOOKING_PORT": "1"}, timeout=60)
    assert result.returncode == 1 and "GET /health" in result.stderr
    assert healthcheck.main([]) == 2


def gunicorn_processes(env: dict) -> tuple[int, int]:
    """(workers, threads) by gunicorn's own account of the configuration our config file gives it."""
    result = subprocess.run([str(GUNICORN), "-c", "python:clinic_shared.gunicorn_conf", "--print-config",
                             "clinic_shared.healthcheck:main"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return tuple(int(re.search(rf"^{name}\s*=\s*(\d+)$", result.stdout, re.M).group(1))
                 for name in ("workers", "threads"))


def test_gunicorn_workers_default_to_the_cores_and_threads_to_four():
    assert gunicorn_processes({"CLINIC_WEB_WORKERS": "", "CLINIC_WEB_THREADS": ""}) == (usable_cores(), 4)


def test_gunicorn_workers_and_threads_are_settings():
    assert gunicorn_processes({"CLINIC_WEB_WORKERS": "3", "CLINIC_WEB_THREADS": "7"}) == (3, 7)


@pytest.mark.parametrize("raw", ["0", "-2", "many"])
def test_a_process_count_that_is_not_a_positive_number_is_refused(raw):
    with pytest.raises(ValueError, match="CLINIC_WEB_WORKERS"):
        count_setting({"CLINIC_WEB_WORKERS": raw}, "CLINIC_WEB_WORKERS", 2)
