"""The fault run: the proof that the system keeps its promises (every message once; nothing after a cancellation)
while its parts fail.

On PostgreSQL and RabbitMQ, with two processes of every API and every worker, clients drive bookings with
cancellations, reschedules, completions and conflicting changes through the gateway, while workers are SIGKILLed
and restarted, the broker and the database are cut and come back, and events are delivered twice. Then the checker
compares what each booking should have had with what the SMTP server received.

`make test` runs CLINIC_FAULT_BOOKINGS=300 (the default); `make faults` a longer run. CLINIC_FAULT_SEED replays
the same choices (the faults' timing still depends on the machine).
"""
from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter

import pytest

from clinic_shared.testing import AMQP_URL, POSTGRES_ADMIN_URL, missing_backend, port_open
from faults.chaos import Chaos
from faults.checker import check, parse_received
from faults.cluster import running_cluster
from faults.driver import Driver
from faults.settle import final_bookings, wait_until_quiet

pytestmark = pytest.mark.system

BOOKINGS = int(os.environ.get("CLINIC_FAULT_BOOKINGS") or 300)
CLIENTS = int(os.environ.get("CLINIC_FAULT_CLIENTS") or 6)
# Hard deadlines: clients start no booking after DRIVE_SECONDS; the system gets SETTLE_SECONDS to finish.
DRIVE_SECONDS = float(os.environ.get("CLINIC_FAULT_DRIVE_SECONDS") or max(240, BOOKINGS * 1.0))
# Bookings start at most this often (seconds apart, over all clients): 300 take at least two minutes, so
# the run sees a fault every few seconds throughout (about ten of each kind), however fast the system is.
PACE_SECONDS = float(os.environ.get("CLINIC_FAULT_PACE_SECONDS") or 0.4)
SETTLE_SECONDS = float(os.environ.get("CLINIC_FAULT_SETTLE_SECONDS") or 120)


def test_every_message_once_and_nothing_after_a_cancellation_under_faults(tmp_path, capsys):
    if not port_open(POSTGRES_ADMIN_URL, 5432):
        missing_backend(f"PostgreSQL at {POSTGRES_ADMIN_URL}")
    if not port_open(AMQP_URL, 5672):
        missing_backend(f"RabbitMQ at {AMQP_URL}")
    seed = int(os.environ.get("CLINIC_FAULT_SEED") or random.randrange(10**6))

    with running_cluster(tmp_path) as cluster:
        started = time.monotonic()
        chaos = Chaos(cluster, random.Random(seed + 1), started)
        driver = Driver(cluster.system.url, cluster.system.staff_token, random.Random(seed), started,
                        deadline=started + DRIVE_SECONDS, pace=PACE_SECONDS)
        stop = threading.Event()
        faults = threading.Thread(target=chaos.run, args=(stop,), name="chaos", daemon=True)
        faults.start()
        try:
            driver.run(BOOKINGS, CLIENTS)
        finally:
            stop.set()
            faults.join(timeout=30)
            chaos.heal()
        driven = time.monotonic() - started
        quiet, backlog = wait_until_quiet(cluster, SETTLE_SECONDS)

        finals = final_bookings(cluster)
        received = [parse_received(m["message"], order, m.get("at", started) - started)
                    for order, m in enumerate(list(cluster.mailbox.messages))]
        report = check(finals, received)

    failures = driver.failures()
    by_id = {b.id: b for b in finals}
    missing = [b.id for b in driver.booked if b.id not in by_id]
    broken_acks = [f"booking {b.id}: final status {by_id[b.id].status}, acknowledged {b.acks}"
                   for b in driver.booked if b.id in by_id and _contradicts(b, by_id[b.id].status)]
    statuses = Counter(b.status for b in finals)
    answers = Counter(a.status for a in driver.answers)
    summary = "\n".join([
        f"fault run (seed {seed}): {report.line()} 5xx={sum(1 for a in failures if a.status)} "
        f"no_answer={sum(1 for a in failures if a.status is None)} broken_acks={len(broken_acks)} "
        f"missing_bookings={len(missing)}",
        f"  bookings made: {len(driver.booked)} of {BOOKINGS} in {driven:.0f}s by {CLIENTS} clients; final states "
        f"{dict(statuses)}; e-mails received {len(received)}; HTTP answers {dict(sorted(answers.items(), key=str))}",
        f"  injected: {dict(chaos.counts())}; connections dropped: broker {cluster.broker_proxy.dropped}, "
        f"database {cluster.database_proxy.dropped}",
        f"  settled: {quiet}; backlog at the end {backlog}",
    ])
    with capsys.disabled():
        print("\n" + summary)

    details = "\n".join([
        summary,
        "--- faults injected", *map(str, chaos.injected), *chaos.failures,
        "--- 5xx and requests without an answer, by request", *_grouped(failures),
        "--- the first of them, with the fault just before", *_after_faults(failures[:40], chaos.injected),
        "--- acknowledged changes the final state contradicts", *broken_acks[:30],
        "--- bookings acknowledged (201) that the booking service does not have", *missing[:30],
        "--- what the clients could not do", *driver.problems[:30],
        "--- the checker's findings", report.details(),
        f"--- process logs: {tmp_path}",
    ])
    assert report.clean and not failures and not broken_acks and not missing, details
    assert len(driver.booked) >= BOOKINGS, details  # the run drove what it promised, within its deadline
    assert quiet and not driver.problems and not chaos.failures, details
    assert set(chaos.counts()) == {"kill_worker", "broker_cut", "database_cut", "duplicate_events"}, details


def _contradicts(booked, final_status: str) -> bool:
    """A client was told a change happened that the final state does not show."""
    if booked.acknowledged("cancel") and final_status != "cancelled":
        return True
    return booked.acknowledged("complete") and final_status != "completed"


def _grouped(failures) -> list[str]:
    counts = Counter((a.method, re.sub(r"/[0-9a-f-]{36}", "/{id}", a.path), a.status, a.code) for a in failures)
    return [f"{n:5d} x {method} {path} -> {status} {code}" for (method, path, status, code), n in counts.most_common()]


def _after_faults(failures, injected) -> list[str]:
    lines = []
    for answer in failures:
        last = max((f for f in injected if f.at <= answer.at), key=lambda f: f.at, default=None)
        lines.append(f"{answer}   ({answer.at - last.at:.1f}s after {last.what})" if last else str(answer))
    return lines
