"""Closure days: staff add and remove them; anyone may list them."""
from __future__ import annotations

from datetime import date

from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.auth import authorised
from clinic_shared.errors import ApiError

from .context import require_closures_staff, scheduler
from .schemas import ClosureListSchema, ClosureSchema

blp = Blueprint("closures", __name__, url_prefix="/api", description="Days the clinic is closed")


@blp.route("/closures")
class Closures(MethodView):
    @blp.response(200, ClosureListSchema)
    def get(self):
        """Days the clinic is closed (public)."""
        return {"closures": [{"date": r.date, "reason": r.reason} for r in scheduler().list_closures()]}

    @authorised(require_closures_staff)
    @blp.arguments(ClosureSchema)
    @blp.response(201, ClosureSchema)
    def post(self, body):
        """Close the clinic on a day (staff); refused while confirmed bookings fall on it."""
        row = scheduler().add_closure(body["date"], body["reason"])
        return {"date": row.date, "reason": row.reason}


@blp.route("/closures/<day>")
class ClosureByDate(MethodView):
    @authorised(require_closures_staff)
    @blp.response(204)
    def delete(self, day):
        """Reopen a closed day (staff)."""
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise ApiError(404, "not_found", "No closure on that day.")
        scheduler().remove_closure(parsed)
