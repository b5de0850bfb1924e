"""The whole system under load (`make bench-system`): how many bookings per second the gateway takes, how
long each call waits, how late the confirmation e-mail goes, and what each process spends on a booking.

Starts every Procfile process (tests/system.py, as the system tests do) on fresh PostgreSQL databases and a
RabbitMQ topology of its own, with a real SMTP server (aiosmtpd, in a process of its own) receiving the mail and rate limits off;
seeds 50,000 bookings (bench/seed.py) between migrations and start; then USERS concurrent clients each
repeat for SECONDS: a screening, the 31-day availability from a random day of the year ahead, that day's
availability, and a booking of one of its slots. Writes bench/RESULTS.md (bench/report.py).

Event lag is measured on every LAG_EVERY-th booking: from its 201 to its `pre_treatment` listed as `sent`
by GET /api/notifications?booking_id=… (polled every POLL seconds by one thread, so add up to that much),
and, without the polling's resolution, to the notification's own `sent_at`.

    python bench/bench_system.py [--users 16] [--seconds 60] [--warmup 5]
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests
import urllib3

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "tests")]

import report  # noqa: E402
from smtp_sink import smtp_sink  # noqa: E402
from system import SERVICES, RunningSystem, procfile_commands, run_once, system_env  # noqa: E402

ELIGIBLE = {"active_acne": False, "eczema": False, "psoriasis": False, "fitzpatrick_type": "II"}
LAG_EVERY, POLL, DRAIN_SECONDS = 5, 0.1, 60
ENDPOINTS = ("screening", "availability 31 days", "availability 1 day", "booking",
             "idle: availability 31 days", "idle: availability 1 day")


class Client:
    """One simulated client's keep-alive connection to the gateway. urllib3 alone, not requests: the generator
    shares the machine's two cores with the system, and requests does more work per call than urllib3 beneath it."""

    def __init__(self, url: str):
        self.pool = urllib3.connection_from_url(url, maxsize=1, timeout=30.0, retries=False)

    def request(self, method: str, path: str, json=None, headers=None) -> urllib3.BaseHTTPResponse:
        return self.pool.request(method, path, json=json, headers=headers)


class Load:
    """What the simulated clients saw, shared between their threads."""

    def __init__(self, url: str, answers: dict, areas: list[str], today: date):
        self.url, self.answers, self.areas, self.today = url, answers, areas, today
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.lag_pending: list[list] = []  # booking id, token, answered (UTC), answered (monotonic), next poll
        self.lag_polled: list[float] = []
        self.lag_sent_at: list[float] = []
        self.measuring = False
        self.stop = threading.Event()

    def timed(self, session: Client, name: str, method: str, path: str, **kwargs) -> urllib3.BaseHTTPResponse:
        started = time.perf_counter()
        response = session.request(method, path, **kwargs)
        elapsed = time.perf_counter() - started
        with self.lock:
            if self.measuring:
                self.latency[name].append(elapsed)
                self.counts[f"{name} {response.status}"] += 1
        return response

    def count(self, what: str) -> None:
        with self.lock:
            if self.measuring:
                self.counts[what] += 1

    def client(self, seed: int) -> None:
        """One client after another: screen, look at a month and a day, book; until told to stop."""
        chance, session = random.Random(seed), Client(self.url)
        while not self.stop.is_set():
            try:
                self.one_client(chance, session)
            except (urllib3.exceptions.HTTPError, KeyError, ValueError) as error:  # an answer not as expected
                self.count(f"client gave up: {type(error).__name__}")

    def one_client(self, chance: random.Random, session: Client) -> None:
        area = chance.choice(self.areas)
        screening = self.timed(session, "screening", "POST", "/api/screenings", json={
            "client": {"name": "Bench Client", "email": f"bench-{uuid.uuid4().hex[:12]}@example.org"},
            "areas": [area], "answers": self.answers}).json()
        headers = {"Authorization": f"Bearer {screening['access_token']}"}
        first = self.today + timedelta(days=chance.randint(2, 330))
        month = self.timed(session, "availability 31 days", "GET",
                           f"/api/availability?from={first}&to={first + timedelta(days=30)}&areas={area}").json()
        if not month.get("slots"):
            self.count("no slot in 31 days")
            return
        day = chance.choice(month["slots"])["start"][:10]
        slots = self.timed(session, "availability 1 day", "GET", f"/api/availability?date={day}&areas={area}").json()
        for slot in chance.sample(slots.get("slots", []), min(3, len(slots.get("slots", [])))):
            body = {"screening_id": screening["id"], "areas": [area], "start": slot["start"]}
            key = uuid.uuid4().hex
            while True:
                response = self.timed(session, "booking", "POST", "/api/bookings", json=body,
                                      headers={**headers, "Idempotency-Key": key})
                code = response.json().get("error", {}).get("code") if response.status >= 400 else None
                if code != "screening_pending" or self.stop.is_set():
                    break
                self.count("screening_pending answers")
                time.sleep(min(float(response.headers.get("Retry-After", 1)), 0.2))  # a client keen to book
            if response.status in (200, 201):
                with self.lock:
                    if self.measuring:
                        self.counts["bookings made"] += 1
                        if self.counts["bookings made"] % LAG_EVERY == 0:
                            now = time.monotonic()
                            self.lag_pending.append([response.json()["id"], headers["Authorization"],
                                                     datetime.now(timezone.utc), now, now + POLL])
                return
            if code != "slot_unavailable":
                self.count(f"booking refused: {code}")
                return
            self.count("slot_unavailable answers")

    def poll_lag(self) -> None:
        """Look at each sampled booking's notifications until its pre_treatment is sent: first POLL after
        the booking, then backing off (a quarter of the age) so polling adds little load when lag is long."""
        session = Client(self.url)
        while not (self.stop.is_set() and not self.lag_pending):
            with self.lock:
                due = [item for item in self.lag_pending if item[4] <= time.monotonic()]
            for item in due:
                booking_id, authorization, answered, answered_monotonic, _ = item
                try:
                    found = session.request("GET", f"/api/notifications?booking_id={booking_id}",
                                        headers={"Authorization": authorization}).json()
                except (urllib3.exceptions.HTTPError, ValueError):
                    found = {}
                now = time.monotonic()
                with self.lock:
                    self.counts["notification polls (not measured calls)"] += 1
                    sent = [n for n in found.get("notifications", [])
                            if n["kind"] == "pre_treatment" and n["status"] == "sent"]
                    if sent:
                        self.lag_polled.append(now - answered_monotonic)
                        sent_at = datetime.fromisoformat(sent[0]["sent_at"])
                        self.lag_sent_at.append((sent_at - answered).total_seconds())
                        self.lag_pending.remove(item)
                    else:
                        item[4] = now + max(POLL, (now - answered_monotonic) / 4)
            if self.stop.is_set() and self.drain_deadline < time.monotonic():
                return
            time.sleep(POLL / 4)

    drain_deadline = float("inf")


def start(data_dir: Path, extra: dict) -> RunningSystem:
    """tests/system.py's start, with the seed between migrations and the processes."""
    env = system_env(data_dir, extra)
    for argv in ([[sys.executable, "-m", "clinic_shared.first_start"]]
                 + [[sys.executable, "-m", f"{s}.migrate"] for s in SERVICES]
                 + [[sys.executable, str(BENCH / "seed.py")]]):
        run_once(argv, env)
    system = RunningSystem(env=env, data_dir=data_dir, staff_token=env["CLINIC_STAFF_TOKEN"],
                           commands=procfile_commands())
    for name in system.commands:
        system.start(name)
    system.wait_healthy(180)
    return system


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return found.stdout.strip() or "?"


def figures(args, load: Load, seconds: float, usage: dict, mail: int, loads: tuple[str, str]) -> tuple[str, str]:
    """(the figures section, the history row)."""
    made = load.counts["bookings made"]
    per_booking = {name: (after.cpu_seconds - usage["before"][name].cpu_seconds) * 1000 / made if made else None
                   for name, after in usage["after"].items()}
    total_cpu = sum(v for v in per_booking.values() if v is not None) if made else None
    lag50, lag99 = (report.percentile([x * 1000 for x in load.lag_polled], q) for q in (50, 99))
    lines = [
        f"Command: `make bench-system BENCH_ARGS=\"--users {args.users} --seconds {args.seconds}"
        f"{''.join(f' --env {setting}' for setting in args.env)}\"` "
        f"(commit {commit()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
        f"Machine: {report.machine()}; load average (1/5/15 min) before {loads[0]}, after {loads[1]} "
        f"(the 1-minute figure before still carries any run just before this one).",
        "",
        f"- **{made / seconds:.1f} bookings/s** ({made} bookings in {seconds:.0f} s, {args.users} concurrent clients)",
        f"- event lag, booking answered → `pre_treatment` listed as sent (every {LAG_EVERY}th booking, polled "
        f"{POLL * 1000:.0f} ms after it, then every quarter of its age): p50 {report.ms(lag50)} ms, "
        f"p99 {report.ms(lag99)} ms; to the notification's own "
        f"`sent_at`: p50 {report.ms(report.percentile([x * 1000 for x in load.lag_sent_at], 50))} ms, "
        f"p99 {report.ms(report.percentile([x * 1000 for x in load.lag_sent_at], 99))} ms; "
        f"{len(load.lag_pending)} sampled bookings still unsent after {DRAIN_SECONDS} s",
        f"- e-mails received by the SMTP server (warm-up and drain included): {mail}",
        "",
        "| endpoint (through the gateway; idle: one call at a time before the load) | calls | p50 ms | p95 ms "
        "| p99 ms |",
        "|---|---|---|---|---|",
        *[report.latency_row(name, load.latency.get(name, [])) for name in ENDPOINTS],
        "",
        "| answers and events | count |",
        "|---|---|",
        *[f"| {what} | {n} |" for what, n in sorted(load.counts.items())],
        "",
        "| process (Procfile) | CPU ms per booking | peak RSS MiB (VmHWM, summed over its processes) | processes |",
        "|---|---|---|---|",
        *[f"| {name} | {report.ms(per_booking[name])} | {after.peak_rss_kib / 1024:.0f} | {after.processes} |"
          for name, after in usage["after"].items()],
        f"| **all** | {report.ms(total_cpu)} | | |",
        f"| (the load generator, on the same cores) | "
        f"{report.ms(usage['generator'] * 1000 / made if made and 'generator' in usage else None)} | | |",
        *([f"| {name} (the server: every database or vhost on it, other work's too) | "
           f"{report.ms((after.cpu_seconds - usage['servers before'][name].cpu_seconds) * 1000 / made)} | | |"
           for name, after in usage.get("servers after", {}).items()] if made else []),
        "",
        *transactions_table(usage, made),
        "",
        *([f"Whole machine: {report.ms(usage['machine'] * 1000 / made)} ms of CPU per booking "
           f"(PostgreSQL, RabbitMQ, the load generator and anything else running included; /proc/stat)."]
          if made and "machine" in usage else []),
        "",
        "CPU is counted from the end of the warm-up until the sampled e-mails were sent after the load "
        "stopped, so it includes the lag polls and the workers catching up. **all** is our processes only; the "
        "PostgreSQL and RabbitMQ rows are each server's whole CPU in that time (other work on them included).",
    ]
    booking_p99 = report.percentile([x * 1000 for x in load.latency.get("booking", [])], 99)
    month_p50 = report.percentile([x * 1000 for x in load.latency.get("idle: availability 31 days", [])], 50)
    row = (f"| {datetime.now(timezone.utc):%Y-%m-%d %H:%M} | {commit()} | {args.users} × {args.seconds} "
           f"| {made / seconds:.1f} | {report.ms(booking_p99)} | {report.ms(month_p50)} | {report.ms(lag99)} "
           f"| {report.ms(total_cpu)} | {loads[1]} |")
    return "\n".join(lines), row


def transactions_table(usage: dict, made: int) -> list[str]:
    """PostgreSQL transactions per booking in each service's database: each costs a round trip or more and,
    when it writes, a WAL flush."""
    if not made or "transactions after" not in usage:
        return []
    rows = []
    for name, (commits, rollbacks) in usage["transactions after"].items():
        commits_before, rollbacks_before = usage["transactions before"][name]
        rows.append(f"| {name} | {(commits - commits_before) / made:.1f} | {(rollbacks - rollbacks_before) / made:.1f} |")
    return ["| database | transactions committed per booking | rolled back (read-only ones end so) |",
            "|---|---|---|", *rows]


def service_databases(env: dict) -> dict[str, str]:
    """Each service's database name, from the URLs the system was started with."""
    from sqlalchemy.engine import make_url

    return {service: make_url(env[f"CLINIC_{service.upper()}_DATABASE_URL"]).database for service in SERVICES}


def run(args) -> None:
    from clinic_shared.testing import AMQP_URL, POSTGRES_ADMIN_URL, port_open, postgres_databases

    if not (port_open(POSTGRES_ADMIN_URL, 5432) and port_open(AMQP_URL, 5672)):
        sys.exit("bench-system needs PostgreSQL and RabbitMQ (CLINIC_TEST_POSTGRES_URL, CLINIC_TEST_AMQP_URL)")
    prefix = f"clinic-bench-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as data_dir, postgres_databases(label="benchsys") as databases, \
            smtp_sink() as mailbox:
        extra = {"CLINIC_BROKER_URL": AMQP_URL, "CLINIC_TOPOLOGY_PREFIX": prefix, "CLINIC_SMTP_URL": mailbox.url,
                 "CLINIC_RATE_LIMIT": "off",
                 **{f"CLINIC_{s.upper()}_DATABASE_URL": databases() for s in SERVICES},
                 **dict(setting.split("=", 1) for setting in args.env)}
        print("starting the system (migrations, 50,000 bookings, every Procfile process)…", flush=True)
        system = start(Path(data_dir), extra)
        try:
            drive(args, system, mailbox)
        finally:
            system.stop_all()
            delete_topology(AMQP_URL, prefix)


def idle_availability(url: str, today: date, calls: int = 30) -> dict[str, list[float]]:
    """Availability through the gateway with nothing else going on (the issue's "median at the gateway")."""
    session, first = requests.Session(), today + timedelta(days=7)
    queries = {"idle: availability 31 days": f"from={first}&to={first + timedelta(days=30)}&areas=face",
               "idle: availability 1 day": f"date={first + timedelta(days=1)}&areas=face"}
    times: dict[str, list[float]] = {}
    for name, query in queries.items():
        session.get(f"{url}/api/availability?{query}", timeout=30)  # warm
        for _ in range(calls):
            started = time.perf_counter()
            session.get(f"{url}/api/availability?{query}", timeout=30).raise_for_status()
            times.setdefault(name, []).append(time.perf_counter() - started)
    return times


def drive(args, system: RunningSystem, mailbox) -> None:
    from clinic_shared.testing import POSTGRES_ADMIN_URL

    idle = idle_availability(system.url, datetime.now(timezone.utc).date())
    questionnaire = requests.get(system.url + "/api/screening/questionnaire", timeout=10).json()
    answers = {q["id"]: ELIGIBLE.get(q["id"], False) for q in questionnaire["questions"]}
    areas = [a["id"] for a in requests.get(system.url + "/api/treatments", timeout=10).json()["areas"]]
    load = Load(system.url, answers, areas, datetime.now(timezone.utc).date())
    clients = [threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(args.users)]
    poller = threading.Thread(target=load.poll_lag, daemon=True)
    for thread in clients + [poller]:
        thread.start()
    time.sleep(args.warmup)
    roots = {name: process.pid for name, process in system.processes.items()}
    servers = report.server_roots()
    loads = [report.load_average()]
    usage = {"before": {name: report.tree_usage(pid) for name, pid in roots.items()}, "generator": time.process_time(),
             "machine": report.machine_cpu_seconds(),
             "servers before": {name: report.tree_usage(pid) for name, pid in servers.items()}}
    databases = service_databases(system.env)
    usage["transactions before"] = report.database_transactions(POSTGRES_ADMIN_URL, databases)
    profilers = start_profilers(args.profile, roots, args.seconds) if args.profile else []
    with load.lock:
        load.measuring = True
    started = time.monotonic()
    print(f"measuring {args.users} clients for {args.seconds} s…", flush=True)
    time.sleep(args.seconds)
    with load.lock:
        load.measuring = False
    seconds = time.monotonic() - started
    loads.append(report.load_average())
    load.stop.set()
    load.drain_deadline = time.monotonic() + DRAIN_SECONDS
    for thread in clients:
        thread.join(60)
    poller.join(DRAIN_SECONDS + 30)
    usage["after"] = {name: report.tree_usage(pid) for name, pid in roots.items()}
    for profiler in profilers:
        profiler.wait(60)
    usage["generator"] = time.process_time() - usage["generator"]
    usage["machine"] = report.machine_cpu_seconds() - usage["machine"]
    usage["servers after"] = {name: report.tree_usage(pid) for name, pid in servers.items()}
    usage["transactions after"] = report.database_transactions(POSTGRES_ADMIN_URL, databases)
    load.latency.update(idle)
    section, row = figures(args, load, seconds, usage, mailbox.received, tuple(loads))
    if not args.profile:  # sampling slows every process: a profiled run's figures stay out of RESULTS.md
        report.write_results(BENCH / "RESULTS.md", section, row)
    print(section)


def start_profilers(directory: Path, roots: dict[str, int], seconds: int) -> list[subprocess.Popen]:
    """py-spy on every process (gunicorn's workers included) for the measured seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    return [report.py_spy(pid, directory / f"{name}.txt", rate=50, seconds=seconds) for name, pid in roots.items()]


def delete_topology(amqp_url: str, prefix: str) -> None:
    from kombu import Connection

    from clinic_shared.topology import Topology

    with Connection(amqp_url, connect_timeout=3) as connection:
        Topology(prefix).delete(connection)


def clinic_setting(text: str) -> str:
    name, equals, _ = text.partition("=")
    if not (equals and name.startswith("CLINIC_")):
        raise argparse.ArgumentTypeError(f"expected CLINIC_NAME=VALUE, not {text!r}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=16, help="concurrent clients")
    parser.add_argument("--seconds", type=int, default=60, help="how long to measure")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load before measuring")
    parser.add_argument("--env", action="append", default=[], metavar="CLINIC_X=VALUE", type=clinic_setting,
                        help="a setting for every process, e.g. CLINIC_WEB_WORKERS=1 (repeatable)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record every process with py-spy into DIR (bench/profile_summary.py reads it)")
    run(parser.parse_known_args()[0])  # bench/run.py passes its own arguments


if __name__ == "__main__":
    main()
