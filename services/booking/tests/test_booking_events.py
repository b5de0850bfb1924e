"""The screening projection, fed through the worker's InboxProcessor with real envelopes."""
from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from clinic_shared.events import make_envelope

from booking.store.tables import screenings

LONDON = ZoneInfo("Europe/London")
START = datetime.combine(date(2026, 11, 10), time(10), tzinfo=LONDON)


def projection(clinic, screening_id):
    with clinic.sessions() as session:
        return session.execute(select(screenings).where(screenings.c.id == screening_id)).first()


def cleared(clinic, data: dict, outcome: str) -> dict:
    return make_envelope("screening.cleared", {
        **data, "outcome": outcome, "previous_outcome": data["outcome"],
        "decision": "approved" if outcome == "eligible" else "declined",
        "decided_at": clinic.clock.now.isoformat()}, producer="screening")


def test_completed_event_is_projected_without_answers(clinic):
    data = clinic.screen(outcome="consultation_required")
    row = projection(clinic, data["screening_id"])
    assert row.client_id == data["client_id"] and row.outcome == "consultation_required"
    assert row.client_email == data["client"]["email"] and row.areas == ["face", "neck"]
    assert row.valid_until == datetime.fromisoformat(data["valid_until"])
    assert not hasattr(row, "answers")


def test_clearance_makes_a_screening_bookable(clinic):
    data = clinic.screen(outcome="consultation_required")
    assert clinic.book(data, START).get_json()["error"]["code"] == "screening_not_eligible"
    assert clinic.processor.process(cleared(clinic, data, "eligible"))
    assert projection(clinic, data["screening_id"]).outcome == "eligible"
    assert clinic.book(data, START).status_code == 201


def test_a_redelivered_event_is_handled_once(clinic):
    data = clinic.screening_data("c-1", "consultation_required")
    envelope = make_envelope("screening.completed", data, producer="screening")
    assert clinic.processor.process(envelope) is True
    assert clinic.processor.process(cleared(clinic, data, "not_suitable"))
    assert clinic.processor.process(envelope) is False  # seen: does nothing, undoes nothing
    assert projection(clinic, data["screening_id"]).outcome == "not_suitable"


def test_a_late_completed_event_does_not_undo_a_clearance(clinic):
    data = clinic.screening_data("c-2", "consultation_required")
    clinic.processor.process(cleared(clinic, data, "eligible"))  # arrives first
    clinic.processor.process(make_envelope("screening.completed", data, producer="screening"))
    assert projection(clinic, data["screening_id"]).outcome == "eligible"


def test_version_1_events_still_in_flight_are_handled_like_version_2(clinic):
    """Published before the upgrade, with the reasons version 2 left out: applied, the reasons ignored."""
    data = clinic.screening_data("c-v1", "consultation_required")
    reasons = [{"code": "keloid_scarring", "message": "Keloid scarring needs a practitioner's review."}]
    assert clinic.processor.process(make_envelope("screening.completed", {**data, "reasons": reasons},
                                                  producer="screening", version=1))
    assert projection(clinic, data["screening_id"]).outcome == "consultation_required"
    v1_clearance = make_envelope("screening.cleared", {
        **data, "reasons": [], "outcome": "eligible", "previous_outcome": "consultation_required",
        "decision": "approved", "decided_at": clinic.clock.now.isoformat()}, producer="screening", version=1)
    assert clinic.processor.process(v1_clearance)
    assert projection(clinic, data["screening_id"]).outcome == "eligible"
    assert clinic.book(data, START).status_code == 201


def test_a_malformed_event_is_refused_before_any_write(clinic):
    envelope = make_envelope("screening.completed", clinic.screening_data("c-3"), producer="screening")
    del envelope["data"]["client_id"]
    with pytest.raises(ValidationError):
        clinic.processor.process(envelope)
    assert projection(clinic, envelope["data"]["screening_id"]) is None


@pytest.mark.parametrize("decision", ["eligible", "not_suitable"])
def test_every_order_and_repetition_of_a_screenings_events_ends_cleared(clinic, decision):
    """A screening is completed once and cleared at most once (screening refuses a second clearance), so the
    clearance is the last word whatever order the two arrive in, and however often each is repeated."""
    for order in sorted(set(itertools.permutations(["completed", "cleared", "completed", "cleared"]))):
        data = clinic.screening_data(f"c-{uuid.uuid4().hex[:8]}", "consultation_required")
        copies = {"completed": lambda: make_envelope("screening.completed", data, producer="screening"),
                  "cleared": lambda: cleared(clinic, data, decision)}
        for kind in order:
            clinic.processor.process(copies[kind]())  # each a new envelope: a republished copy
        row = projection(clinic, data["screening_id"])
        assert (row.outcome, row.cleared) == (decision, True), order
