"""HTTP only: flask-smorest blueprints and marshmallow schemas over the Scheduler."""
from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from . import availability, bookings, catalogue, closures, courses, waitlist

    for module in (catalogue, availability, bookings, courses, closures, waitlist):
        api.register_blueprint(module.blp)
