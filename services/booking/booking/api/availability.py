"""GET /api/availability (public): the bookable slots of a day or of up to 31 days."""
from __future__ import annotations

import json
from typing import Sequence

from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider
from flask.views import MethodView
from flask_smorest import Blueprint

from ..domain.availability import Slot
from .context import context, scheduler
from .schemas import AvailabilityQuerySchema, AvailabilitySchema

blp = Blueprint("availability", __name__, url_prefix="/api", description="Free slots")


@blp.route("/availability")
class Availability(MethodView):
    # An instance, not the class: webargs would build a schema from a class on every request.
    @blp.arguments(AvailabilityQuerySchema(), location="query")
    @blp.response(200, AvailabilitySchema)  # documents the answer; `answer` builds it
    def get(self, query):
        """Free slots of a day, or of up to 31 days, for some areas or for a consultation."""
        first = query.get("date") or query["from_"]
        last = query.get("date") or query["to"]
        areas = [] if query["type"] == "consultation" else query["areas"]
        slots = scheduler().availability(first, last, query["type"], areas)
        return answer(context().settings.rules.timezone.key, slots)


def answer(timezone: str, slots: Sequence[Slot]) -> Response:
    """The answer AvailabilitySchema describes, written out directly: a month has hundreds of slots, and dumping
    them through the schema field by field cost as much as finding them, and jsonify's dict per slot, encoded
    with its keys sorted, most of what was left (≈1.2 ms of 830 slots). The bytes are jsonify's for the schema's
    dump, as the app's JSON provider writes them (keys sorted, compact, a newline at the end;
    tests/test_booking_availability_answer.py holds them to it); the times are to_local_iso's texts, which need
    no escaping. A provider set to write otherwise (Flask's debug mode indents) is left to do it. flask-smorest
    hands a Response on as it is."""
    provider = current_app.json
    if not _writes_compact_sorted(provider):
        return provider.response({"timezone": timezone, "slots": [
            {"start": s.start_text, "end": s.end_text, "practitioners_free": s.practitioners_free} for s in slots]})
    body = ",".join([f'{{"end":"{s.end_text}","practitioners_free":{s.practitioners_free},"start":"{s.start_text}"}}'
                     for s in slots])
    return current_app.response_class(f'{{"slots":[{body}],"timezone":{json.dumps(timezone)}}}\n',
                                      mimetype=provider.mimetype)


def _writes_compact_sorted(provider) -> bool:
    """Whether Flask's default JSON provider writes keys sorted, without indentation (its `response`)."""
    if not isinstance(provider, DefaultJSONProvider):  # another provider may have no `compact` or `sort_keys`
        return False
    indents = provider.compact is False or (provider.compact is None and current_app.debug)
    return provider.sort_keys and not indents
