"""The gateway alone: CPU milliseconds of the gateway's processes per forwarded request.

Starts the gateway as the Procfile does (gunicorn, its workers and threads, the shared gunicorn settings) in
front of one minimal upstream in a process of its own (every service's URL points at it; it answers each
request with fixed JSON and the headers a service sends). CLIENTS threads then repeat a booking's four calls
through the gateway on kept-alive connections, as bench_system.py's clients do: POST /api/screenings, GET
/api/availability for 31 days and for one day, POST /api/bookings (with a token and an Idempotency-Key).
Reported: the CPU time of the gateway's process tree (gunicorn's master and workers, from /proc) per request,
and the median wall time a client waited. Only the gateway's CPU counts, so other load on the machine moves
the figure little.

    python bench/bench_gateway.py [--requests 4000] [--clients 8] [--rate-limit off|N/minute] [--redis URL]
                                 [--profile FILE]

Rate limits are off by default, as in bench_system.py; `--rate-limit 100000/minute` measures the limiter too
(counted in memory, or in Redis with `--redis`). For a before/after, run it alternately on two checkouts.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "tests")]

import report  # noqa: E402
from clinic_shared.settings import SERVICES  # noqa: E402
from clinic_shared.testing import free_port  # noqa: E402
from system import procfile_commands, system_env  # noqa: E402

WARMUP_ROUNDS = 25  # per client, before the count starts (connections opened, code paths warm)
SCREENING = json.dumps({"client": {"name": "Bench Client", "email": "bench@example.org"}, "areas": ["face"],
                        "answers": {"active_acne": False, "eczema": False, "psoriasis": False,
                                    "fitzpatrick_type": "II"}}).encode()
BOOKING = json.dumps({"screening_id": str(uuid.UUID(int=1)), "treatment": "microneedling_face",
                      "practitioner_id": "p1", "start": "2026-12-01T09:00:00+00:00"}).encode()


def upstream_body(path: str) -> bytes:
    """Roughly the size of the real answers: the 31-day availability is the largest."""
    slots = 31 * 14 if "from" in path else 14
    return json.dumps({"path": path, "slots": [{"start": f"2026-12-01T{8 + i % 10:02d}:00:00+00:00",
                                                 "practitioner_id": "p1"} for i in range(slots)]}).encode()


class Upstream(BaseHTTPRequestHandler):
    """Answers anything with fixed JSON, keep-alive (HTTP/1.1), as a service under gunicorn would."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body for an ACK
    bodies: dict[str, bytes] = {}

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = self.bodies.get(self.path) or self.bodies.setdefault(self.path, upstream_body(self.path))
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-ID", self.headers.get("X-Request-ID", ""))
        if self.command == "POST":
            self.send_header("Location", self.path + "/" + str(uuid.UUID(int=2)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def serve_upstream(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), Upstream).serve_forever()


def wait_for(port: int, path: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def booking_calls(day: int) -> list[tuple[str, str, bytes | None, dict]]:
    json_headers = {"Content-Type": "application/json"}
    token = {"Authorization": "Bearer bench-token-" + "x" * 100}
    first = f"2026-12-{1 + day % 28:02d}"
    return [
        ("POST", "/api/screenings", SCREENING, json_headers),
        ("GET", f"/api/availability?treatment=microneedling_face&from={first}&days=31", None, {}),
        ("GET", f"/api/availability?treatment=microneedling_face&date={first}", None, {}),
        ("POST", "/api/bookings", BOOKING, {**json_headers, **token, "Idempotency-Key": str(uuid.uuid4())}),
    ]


def client(port: int, rounds: int, waits: list[float], start: threading.Barrier, warm: threading.Barrier) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def run(count: int, record: bool) -> None:
        for number in range(count):
            for method, path, body, headers in booking_calls(number):
                began = time.perf_counter()
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status >= 300:
                    raise RuntimeError(f"{method} {path}: {response.status}")
                if record:
                    waits.append(time.perf_counter() - began)

    run(WARMUP_ROUNDS, record=False)
    warm.wait()
    start.wait()
    run(rounds, record=True)


def measure(args) -> None:
    upstream_port = free_port()
    upstream = multiprocessing.Process(target=serve_upstream, args=(upstream_port,), daemon=True)
    upstream.start()
    extra = {"CLINIC_RATE_LIMIT": args.rate_limit, **({"CLINIC_REDIS_URL": args.redis} if args.redis else {})}
    with tempfile.TemporaryDirectory() as data_dir:
        env = system_env(Path(data_dir), extra)
        env.update({f"CLINIC_{name.upper()}_URL": f"http://127.0.0.1:{upstream_port}" for name in SERVICES})
        gateway = subprocess.Popen(["sh", "-c", procfile_commands()["gateway"]], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = int(env["CLINIC_PORT"])
            wait_for(upstream_port, "/health")
            wait_for(port, "/health")
            rounds = max(1, args.requests // (4 * args.clients))
            waits: list[float] = []
            warm, start = threading.Barrier(args.clients + 1), threading.Barrier(args.clients + 1)
            threads = [threading.Thread(target=client, args=(port, rounds, waits, start, warm))
                       for _ in range(args.clients)]
            for thread in threads:
                thread.start()
            warm.wait()
            profiler = report.py_spy(gateway.pid, args.profile, rate=200) if args.profile else None
            before, began = report.tree_usage(gateway.pid).cpu_seconds, time.perf_counter()
            start.wait()
            for thread in threads:
                thread.join()
            cpu, seconds = report.tree_usage(gateway.pid).cpu_seconds - before, time.perf_counter() - began
            if profiler:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its stacks when interrupted
                profiler.wait(timeout=60)
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
            upstream.terminate()
    requests = len(waits)
    where = " in Redis" if args.redis else ""
    print(f"gateway as the Procfile starts it, rate limit {args.rate_limit}{where}: {requests} requests by "
          f"{args.clients} clients in {seconds:.1f} s")
    print(f"| CPU ms per forwarded request | {cpu * 1000 / requests:.3f} |")
    print(f"| requests per second | {requests / seconds:.0f} |")
    print(f"| median wait ms | {statistics.median(waits) * 1000:.2f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate-limit", default="off", help="CLINIC_RATE_LIMIT for the gateway (default off)")
    parser.add_argument("--profile", type=Path, help="record the gateway with py-spy into this file")
    parser.add_argument("--redis", help="CLINIC_REDIS_URL: count the rate limit in this Redis")
    measure(parser.parse_args([] if argv is None else argv))  # bench/run.py calls main() with its own argv


if __name__ == "__main__":
    main(sys.argv[1:])
