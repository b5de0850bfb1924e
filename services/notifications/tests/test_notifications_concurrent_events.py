"""Two events of one new booking handled at the same moment by two consumers, on PostgreSQL.

Each consumer's transaction is stopped at a chosen point and let go by the test, so the interleaving that
broke the promise is run on purpose, every time: the cancellation's consumer has made the booking's
projection row but not committed it, while the confirmation's consumer reads the projection (and locks it)
before the cancellation commits, and writes it after. A lock on a row that is not there yet locks nothing,
so that consumer took the booking for new and its write undid the cancellation: the invitation was planned
for a cancelled booking and sent after its cancellation (the fault run's rare `after_cancel=1`).
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from clinic_shared.events import make_envelope
from clinic_shared.inbox import InboxProcessor

from notifications.events import EventHandlers
from notifications.store.repository import Repository

WAIT = 60  # seconds: a safety net against a hung test, never what the test measures


class PausingRepository(Repository):
    """The real repository, which calls `after_locked_read` each time a handler has read the projection with
    its lock, before it goes on: where the test lets the other consumer commit."""

    def __init__(self, tables, after_locked_read):
        super().__init__(tables)
        self._after_locked_read = after_locked_read

    def booking(self, session, booking_id, lock=False):
        row = super().booking(session, booking_id, lock=lock)
        if lock:
            self._after_locked_read()
        return row


def waiting_for_a_lock(engine) -> bool:
    """Is a transaction of this database waiting for a lock (a row, or another transaction's insert)?"""
    with engine.connect() as connection:
        return bool(connection.scalar(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()")))


def run(target, *args) -> tuple[threading.Thread, list]:
    errors: list = []

    def guarded():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    return thread, errors


@pytest.mark.parametrize("first", ["booking.cancelled", "booking.rescheduled"])
def test_an_event_read_while_another_makes_the_projection_waits_for_it(postgres_system, booking_data, first):
    system = postgres_system
    confirmed = make_envelope("booking.confirmed", dict(booking_data(booking_id="B"), version=1), producer="test")
    later = dict(booking_data(booking_id="B"), version=2)
    if first == "booking.rescheduled":
        later.update(start="2026-12-08T11:00:00+00:00", end="2026-12-08T12:00:00+00:00",
                     previous_start=confirmed["data"]["start"], previous_end=confirmed["data"]["end"])
    else:
        later.update(status="cancelled", reason="Away that week")
    first_envelope = make_envelope(first, later, producer="test")

    # The first consumer: its handler has run (the projection row is made), its commit waits for the test.
    applied, may_commit, committed = threading.Event(), threading.Event(), threading.Event()
    handlers = EventHandlers(system.settings, system.repo, system.clock).as_dict()

    def held_until_told(session, data, envelope):
        handlers[first](session, data, envelope)
        applied.set()
        assert may_commit.wait(WAIT)

    first_consumer = InboxProcessor(system.sessions, system.tables.inbox, {first: held_until_told})

    def first_commits():
        first_consumer.process(first_envelope)
        committed.set()

    # The second consumer, handling the confirmation: once it has read the projection under its lock, it
    # waits until the first has committed, so that it writes after that commit, whatever it read.
    read = threading.Event()

    def after_locked_read():
        read.set()
        assert committed.wait(WAIT)

    second_consumer = InboxProcessor(system.sessions, system.tables.inbox, EventHandlers(
        system.settings, PausingRepository(system.tables, after_locked_read), system.clock).as_dict())

    one, one_errors = run(first_commits)
    assert applied.wait(WAIT)
    two, two_errors = run(second_consumer.process, confirmed)
    # The confirmation has either read the projection already (the lock did not hold it back), or waits in
    # the database for the first transaction: either way, now the first commits.
    deadline = time.monotonic() + WAIT
    while not read.is_set() and not waiting_for_a_lock(system.engine) and time.monotonic() < deadline:
        time.sleep(0.01)
    may_commit.set()
    one.join(WAIT)
    two.join(WAIT)
    assert not one.is_alive() and not two.is_alive()
    assert one_errors == [] and two_errors == []

    with system.sessions() as session:
        projected = system.repo.booking(session, "B")
    live = {(row.kind, row.occasion) for row in system.messages("B") if row.status == "scheduled"}
    assert (projected.status, projected.version) == (("cancelled", 2) if first == "booking.cancelled"
                                                       else ("confirmed", 2)), sorted(live)
    if first == "booking.cancelled":
        assert live == {("cancellation", "cancelled")}
        system.dispatcher.dispatch_due()
        assert [row.kind for row in system.messages("B") if row.status == "sent"] == ["cancellation"]
    else:  # the confirmation's plan, for the old time, never joins the reschedule's
        assert all(occasion.startswith("rescheduled:") for _, occasion in live), live
