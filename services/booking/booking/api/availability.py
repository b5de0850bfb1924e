"""GET /api/availability (public): the bookable slots of a day or of up to 31 days."""
from __future__ import annotations

from typing import Sequence

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from ..domain.availability import Slot
from .context import context, scheduler
from .schemas import AvailabilityQuerySchema, AvailabilitySchema

blp = Blueprint("availability", __name__, url_prefix="/api", description="Free slots")


@blp.route("/availability")
class Availability(MethodView):
    @blp.arguments(AvailabilityQuerySchema, location="query")
    @blp.response(200, AvailabilitySchema)  # documents the answer; `answer` builds it
    def get(self, query):
        """Free slots of a day, or of up to 31 days, for some areas or for a consultation."""
        first = query.get("date") or query["from_"]
        last = query.get("date") or query["to"]
        areas = [] if query["type"] == "consultation" else query["areas"]
        slots = scheduler().availability(first, last, query["type"], areas)
        return answer(context().settings.rules.timezone.key, slots)


def answer(timezone: str, slots: Sequence[Slot]) -> Response:
    """The answer AvailabilitySchema describes, as plain values already: a month has hundreds of slots, and
    dumping them through the schema field by field cost as much as finding them. flask-smorest hands a
    Response on as it is; jsonify is what it would have called with the schema's dump, so the bytes are the
    same (tests/test_booking_availability_answer.py holds them to the schema's)."""
    return current_app.json.response({"timezone": timezone, "slots": [
        {"start": s.start_text, "end": s.end_text, "practitioners_free": s.practitioners_free} for s in slots]})
