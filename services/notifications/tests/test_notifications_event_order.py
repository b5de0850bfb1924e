"""Booking events in every order of arrival, and twice: the final schedule is the in-order one.

Histories are produced the way the booking service produces them (every change raises `data.version`);
each is fed through the InboxProcessor in every permutation, and in every permutation with one event
repeated under another event id (a republished or replayed copy), each on its own booking in one
database (SQLite and PostgreSQL). What is compared is the live schedule: every message still to be
sent, with its kind, due time, subject, body and calendar. A cancelled booking keeps nothing but its
cancellation, whatever arrived before or after it.
"""
from __future__ import annotations

import itertools
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic_shared.events import make_envelope

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=LONDON)  # the `clock` fixture's now (GMT in November)
S1 = datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
S2 = datetime(2026, 12, 8, 11, 0, tzinfo=LONDON)
S3 = datetime(2026, 12, 10, 14, 0, tzinfo=LONDON)
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)


class History:
    """A booking's events as the booking service would publish them: (type, data) in version order."""

    def __init__(self, make_booking_data, booking_type: str = "treatment", minutes: int = 60):
        self.make, self.type, self.minutes = make_booking_data, booking_type, minutes
        self.events: list[tuple[str, dict]] = []
        self.start: datetime | None = None

    def _data(self, status: str, **extra) -> dict:
        return dict(self.make(booking_id="B", type=self.type, start=self.start, minutes=self.minutes,
                                      reference="MN-ORDER", status=status, **extra),
                    version=len(self.events) + 1)

    def confirmed(self, start: datetime) -> "History":
        self.start = start
        self.events.append(("booking.confirmed", self._data("confirmed")))
        return self

    def rescheduled(self, start: datetime) -> "History":
        previous = self.events[-1][1]
        self.start = start
        self.events.append(("booking.rescheduled", self._data("confirmed", previous_start=previous["start"],
                                                                previous_end=previous["end"])))
        return self

    def cancelled(self, reason: str = "Away that week") -> "History":
        self.events.append(("booking.cancelled", self._data("cancelled", reason=reason)))
        return self

    def completed(self, at: datetime) -> "History":
        self.events.append(("booking.completed", self._data("completed", completed_at=at.isoformat())))
        return self

    @property
    def is_cancelled(self) -> bool:
        return self.events[-1][0] == "booking.cancelled"


LATE, EARLY = S2 + 90 * MINUTE, S2 + 40 * MINUTE  # completed after the session's end, or 20 minutes early
HISTORIES = {
    "confirmed-cancelled": lambda make: History(make).confirmed(S1).cancelled(),
    "confirmed-rescheduled-cancelled": lambda make: History(make).confirmed(S1).rescheduled(S2).cancelled(),
    "confirmed-rescheduled-rescheduled-cancelled":
        lambda make: History(make).confirmed(S1).rescheduled(S2).rescheduled(S3).cancelled(),
    "confirmed-rescheduled-rescheduled": lambda make: History(make).confirmed(S1).rescheduled(S2).rescheduled(S3),
    "confirmed-rescheduled-completed-late": lambda make: History(make).confirmed(S1).rescheduled(S2).completed(LATE),
    "confirmed-rescheduled-completed-early": lambda make: History(make).confirmed(S1).rescheduled(S2).completed(EARLY),
    "consultation-confirmed-rescheduled-cancelled":
        lambda make: History(make, "consultation", 30).confirmed(S1).rescheduled(S2).cancelled(),
}
# Sending after every event costs a file write each: the three-event histories cover every late arrival.
SHORT_CANCELLED_HISTORIES = ["confirmed-cancelled", "confirmed-rescheduled-cancelled",
                             "consultation-confirmed-rescheduled-cancelled"]


def arrival_orders(count: int) -> list[tuple[int, ...]]:
    """Every order of the events, and every order of the events with one of them twice."""
    orders = set(itertools.permutations(range(count)))
    for repeated in range(count):
        orders |= set(itertools.permutations([*range(count), repeated]))
    return sorted(orders)


def feed(system, history: History, order, booking_id: str, dispatch: bool = False) -> list[dict]:
    """Deliver the history's events in `order`, each as a new envelope, on booking `booking_id`."""
    delivered = []
    for index in order:
        event_type, data = history.events[index]
        envelope = make_envelope(event_type, dict(data, booking_id=booking_id), producer="booking")
        system.processor.process(envelope)
        delivered.append(envelope)
        if dispatch:
            system.dispatcher.dispatch_due()
    return delivered


def live_schedule(system, booking_id: str) -> list[tuple]:
    """The messages still to be sent, in a form that does not depend on the booking's id (nor, so, on the
    manage link's token, which names it)."""
    def without_token(text: str) -> str:
        return re.sub(r"#manage=\S+", "#manage=T", text)

    return sorted((r.kind, r.send_at, r.subject, without_token(r.body_text), (r.calendar or "").replace(booking_id, "B"))
                  for r in system.messages(booking_id) if r.status == "scheduled")


def test_there_are_many_orders():
    assert len(arrival_orders(3)) == 6 + 3 * 12
    assert len(arrival_orders(4)) == 24 + 4 * 60


@pytest.mark.parametrize("name", HISTORIES)
def test_every_order_of_arrival_ends_with_the_in_order_schedule(system, booking_data, name):
    history = HISTORIES[name](booking_data)
    in_order = tuple(range(len(history.events)))
    feed(system, history, in_order, "in-order")
    expected = live_schedule(system, "in-order")
    assert expected, "the in-order history leaves something to send"
    if history.is_cancelled:
        assert [kind for kind, *_ in expected] == ["cancellation"]
    for order in arrival_orders(len(history.events)):
        booking_id = f"b-{uuid.uuid4().hex[:12]}"
        delivered = feed(system, history, order, booking_id)
        assert live_schedule(system, booking_id) == expected, (name, order)
        if history.is_cancelled:
            assert {r.status for r in system.messages(booking_id) if r.kind != "cancellation"} <= {"cancelled"}
        # Redelivered as they were (same event ids): the inbox knows them all.
        assert not any(system.processor.process(envelope) for envelope in delivered)


def test_the_in_order_schedules_are_the_clinics(system, booking_data):
    """What the comparisons above hold every order to (CLINIC.md "Messages")."""
    feed(system, HISTORIES["confirmed-rescheduled-rescheduled"](booking_data), (0, 1, 2), "twice-moved")
    got = {r.kind: r for r in system.messages("twice-moved") if r.status == "scheduled"}
    end = S3 + HOUR
    assert {k: r.send_at for k, r in got.items()} == {
        "pre_treatment": NOW, "appointment_reminder": S3 - 24 * HOUR, "aftercare": end,
        "aftercare_check_in": end + 48 * HOUR, "next_session_reminder": end + timedelta(weeks=6)}
    assert "Thursday 10 December 2026 at 14:00" in got["appointment_reminder"].subject
    assert "SEQUENCE:2" in got["pre_treatment"].calendar and "DTSTART;TZID=Europe/London:20261210T140000" in got["pre_treatment"].calendar

    feed(system, HISTORIES["confirmed-rescheduled-cancelled"](booking_data), (0, 1, 2), "cancelled")
    [cancellation] = [r for r in system.messages("cancelled") if r.status == "scheduled"]
    assert cancellation.kind == "cancellation" and cancellation.send_at == NOW
    assert "METHOD:CANCEL" in cancellation.calendar and "SEQUENCE:2" in cancellation.calendar
    assert "DTSTART;TZID=Europe/London:20261208T110000" in cancellation.calendar and "Reason given: Away that week" in cancellation.body_text

    for name, completed_at, aftercare in (("confirmed-rescheduled-completed-late", LATE, S2 + HOUR),
                                          ("confirmed-rescheduled-completed-early", EARLY, EARLY)):
        feed(system, HISTORIES[name](booking_data), (0, 1, 2), name)
        got = {r.kind: r.send_at for r in system.messages(name) if r.status == "scheduled"}
        assert got == {"aftercare": aftercare, "aftercare_check_in": completed_at + 48 * HOUR,
                       "next_session_reminder": completed_at + timedelta(weeks=6)}, name


@pytest.mark.parametrize("name", SHORT_CANCELLED_HISTORIES)
def test_after_its_cancellation_a_booking_gets_nothing_but_the_cancellation(system, booking_data, name):
    """With the dispatcher sending what is due after every event: whatever went out before the
    cancellation arrived is history; after it, only the cancellation goes out, once."""
    history = HISTORIES[name](booking_data)
    cancel_index = len(history.events) - 1
    for order in arrival_orders(len(history.events)):
        booking_id = f"b-{uuid.uuid4().hex[:12]}"
        position = order.index(cancel_index)
        feed(system, history, order[:position + 1], booking_id, dispatch=True)
        sent_before = {r.id for r in system.messages(booking_id) if r.status == "sent" and r.kind != "cancellation"}
        feed(system, history, order[position + 1:], booking_id, dispatch=True)
        rows = system.messages(booking_id)
        assert {r.id for r in rows if r.status == "sent" and r.kind != "cancellation"} == sent_before, order
        assert [r.status for r in rows if r.kind == "cancellation"] == ["sent"], order
        assert not [r for r in rows if r.status == "scheduled"], order
