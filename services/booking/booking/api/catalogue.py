"""GET /api/treatments and GET /api/practitioners (public): what can be booked, and with whom."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from .context import context
from .schemas import PractitionersSchema, TreatmentsSchema

blp = Blueprint("catalogue", __name__, url_prefix="/api", description="Treatments and practitioners")


@blp.route("/treatments")
class Treatments(MethodView):
    @blp.response(200, TreatmentsSchema)
    def get(self):
        """The treatment areas with their minutes, the consultation's length and the longest session."""
        rules = context().settings.rules
        return {
            "areas": [{"id": a.id, "name": a.name, "duration_minutes": a.minutes} for a in rules.areas],
            "consultation": {"duration_minutes": rules.consultation_minutes},
            "max_session_minutes": rules.max_session_minutes,
            "change_policy": {"notice_hours": rules.change_notice_hours,
                              "contact": {"phone": rules.contact_phone, "email": rules.contact_email}},
        }


@blp.route("/practitioners")
class Practitioners(MethodView):
    @blp.response(200, PractitionersSchema)
    def get(self):
        """The practitioners a booking may be given."""
        return {"practitioners": [{"id": p.id, "name": p.name} for p in context().settings.rules.practitioners]}
