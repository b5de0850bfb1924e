"""GET /api/availability builds its answer without the response schema (booking/api/availability.py): it must
still be, byte for byte, what flask-smorest made of AvailabilitySchema's dump of the slots, their times written
with to_local_iso one by one, as it was before."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask import jsonify

from clinic_shared.datetimes import to_local_iso

from booking.api.schemas import AvailabilitySchema


def schema_answer(clinic, first, last, booking_type, areas):
    """The answer as the schema made it: the Scheduler's slots, dumped and jsonified."""
    tz = clinic.settings.rules.timezone
    slots = clinic.app.extensions["booking"].scheduler.availability(first, last, booking_type, areas)
    with clinic.app.app_context():
        return jsonify(AvailabilitySchema().dump({"timezone": tz.key, "slots": [
            {"start": to_local_iso(s.start, tz), "end": to_local_iso(s.end, tz),
             "practitioners_free": s.practitioners_free} for s in slots]}))


@pytest.mark.parametrize("query, args", [
    ("date=2026-11-10&areas=face", ("2026-11-10", "2026-11-10", "treatment", ["face"])),
    ("date=2026-11-10&type=consultation", ("2026-11-10", "2026-11-10", "consultation", [])),
    ("date=2026-11-15&areas=face", ("2026-11-15", "2026-11-15", "treatment", ["face"])),  # a Sunday: no slot
    ("from=2027-03-15&to=2027-04-14&areas=neck", ("2027-03-15", "2027-04-14", "treatment", ["neck"])),  # BST begins
    ("from=2027-10-20&to=2027-11-19&areas=face", ("2027-10-20", "2027-11-19", "treatment", ["face"])),  # and ends
])
def test_the_answer_is_the_schemas_dump_byte_for_byte(clinic, query, args):
    for hour in (9, 13):
        assert clinic.book(clinic.screen(), datetime(2026, 11, 10, hour, 0, tzinfo=timezone.utc)).status_code == 201
    first, last, booking_type, areas = args
    expected = schema_answer(clinic, datetime.fromisoformat(first).date(), datetime.fromisoformat(last).date(),
                             booking_type, areas)
    response = clinic.http.get(f"/api/availability?{query}")
    assert response.status_code == 200
    assert response.get_data() == expected.get_data()
    assert response.headers["Content-Type"] == expected.headers["Content-Type"]
    assert response.headers["Content-Length"] == expected.headers["Content-Length"]


def test_a_provider_that_writes_otherwise_still_writes_the_answer(clinic):
    """In debug mode Flask's provider indents: the answer is then its, not the compact text written directly."""
    clinic.app.debug = True
    try:
        expected = schema_answer(clinic, datetime(2026, 11, 10).date(), datetime(2026, 11, 10).date(), "treatment",
                                 ["face"])
        response = clinic.http.get("/api/availability?date=2026-11-10&areas=face")
    finally:
        clinic.app.debug = False
    assert response.get_data() == expected.get_data() and b'\n  "slots"' in response.get_data()
