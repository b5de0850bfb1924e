"""The faults the run injects while clients book: a worker SIGKILLed and restarted, the broker cut, the database
cut, events already delivered published again. Each one is logged with when it happened, for the report."""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from random import Random

from sqlalchemy import text

from clinic_shared.broker import Publisher
from clinic_shared.testing import AMQP_URL
from clinic_shared.topology import Topology

from .cluster import Cluster

log = logging.getLogger(__name__)
FAULTS = ("kill_worker", "broker_cut", "database_cut", "duplicate_events")


@dataclass(frozen=True)
class Injected:
    at: float  # seconds into the run
    what: str
    detail: str

    def __str__(self) -> str:
        return f"t={self.at:6.1f}s {self.what}: {self.detail}"


class Chaos:
    def __init__(self, cluster: Cluster, rng: Random, started: float, pause: tuple[float, float] = (1.5, 4.0)):
        self.cluster = cluster
        self.rng = rng
        self.started = started
        self.pause = pause
        self.injected: list[Injected] = []
        self.failures: list[str] = []  # a fault that could not be injected (the run reports it, never hides it)
        self._engines = {s: cluster.engine(s) for s in ("screening", "booking")}

    def run(self, stop: threading.Event) -> None:
        """Inject faults one after another, each kind as often as the others, until `stop` is set."""
        while not stop.is_set():
            for fault in self.rng.sample(FAULTS, len(FAULTS)):
                if stop.wait(self.rng.uniform(*self.pause)):
                    return
                try:
                    getattr(self, fault)()
                except Exception as exc:  # keep injecting; say what went wrong
                    self.failures.append(f"{fault}: {type(exc).__name__}: {exc}")
                    log.exception("could not inject %s", fault)

    def counts(self) -> Counter:
        return Counter(i.what for i in self.injected)

    def _note(self, what: str, detail: str, at: float | None = None) -> None:
        self.injected.append(Injected(round((at or time.monotonic()) - self.started, 1), what, detail))

    # --- the faults -----------------------------------------------------------------------------

    def kill_worker(self) -> None:
        name = self.rng.choice(self.cluster.workers)
        down = self.rng.uniform(0.5, 3.0)
        at = time.monotonic()
        self.cluster.system.stop(name, sig=signal.SIGKILL)
        time.sleep(down)
        self.cluster.system.start(name)
        self._note("kill_worker", f"SIGKILL {name}, restarted {down:.1f}s later", at)

    def broker_cut(self) -> None:
        seconds = self.rng.uniform(2.0, 5.0)
        at, before = time.monotonic(), self.cluster.broker_proxy.open_connections
        with self.cluster.broker_proxy.outage(seconds):
            pass
        self._note("broker_cut", f"RabbitMQ unreachable for {seconds:.1f}s, {before} connections dropped", at)

    def database_cut(self) -> None:
        seconds = self.rng.uniform(0.5, 2.0)
        at, before = time.monotonic(), self.cluster.database_proxy.open_connections
        with self.cluster.database_proxy.outage(seconds):
            pass
        self._note("database_cut", f"PostgreSQL unreachable for {seconds:.1f}s, {before} connections dropped", at)

    def duplicate_events(self) -> None:
        """Publish events already published once more, straight to RabbitMQ, as a redelivery would."""
        bodies = []
        for service, how_many in (("booking", 5), ("screening", 2)):
            with self._engines[service].connect() as connection:
                bodies += [json.loads(row.body) for row in connection.execute(text(
                    "SELECT body FROM outbox WHERE published_at IS NOT NULL ORDER BY random() LIMIT :n"),
                    {"n": how_many})]
        if not bodies:
            return
        from kombu import Connection

        with Connection(AMQP_URL, connect_timeout=5, transport_options={"confirm_publish": True}) as connection:
            publisher = Publisher(connection, Topology(self.cluster.prefix))
            for envelope in bodies:
                publisher.publish(envelope)
        kinds = Counter(b["type"] for b in bodies)
        self._note("duplicate_events", "published again: " + ", ".join(f"{n} {t}" for t, n in sorted(kinds.items())))

    def heal(self) -> None:
        """After the run: both proxies open, every worker running."""
        self.cluster.broker_proxy.restore()
        self.cluster.database_proxy.restore()
        for name in self.cluster.workers:
            if name not in self.cluster.system.processes:
                self.cluster.system.start(name)
        for engine in self._engines.values():
            engine.dispose()
