"""HTTP only: flask-smorest blueprints and marshmallow schemas over the Scheduler."""
from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from . import availability, bookings, catalogue, closures, courses

    for module in (catalogue, availability, bookings, courses, closures):
        api.register_blueprint(module.blp)
