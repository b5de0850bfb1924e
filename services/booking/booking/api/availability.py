"""GET /api/availability (public): the bookable slots of a day or of up to 31 days."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.datetimes import to_local_iso

from .context import context, scheduler
from .schemas import AvailabilityQuerySchema, AvailabilitySchema

blp = Blueprint("availability", __name__, url_prefix="/api", description="Free slots")


@blp.route("/availability")
class Availability(MethodView):
    @blp.arguments(AvailabilityQuerySchema, location="query")
    @blp.response(200, AvailabilitySchema)
    def get(self, query):
        """Free slots of a day, or of up to 31 days, for some areas or for a consultation."""
        first = query.get("date") or query["from_"]
        last = query.get("date") or query["to"]
        areas = [] if query["type"] == "consultation" else query["areas"]
        slots = scheduler().availability(first, last, query["type"], areas)
        tz = context().settings.rules.timezone
        return {"timezone": tz.key, "slots": [
            {"start": to_local_iso(s.start, tz), "end": to_local_iso(s.end, tz),
             "practitioners_free": s.practitioners_free} for s in slots]}
