"""This service's part of a client's export (`GET /internal/clients/{id}/export`), gathered by the gateway into
`GET /api/clients/{id}/export`: every message of the client, as `GET /api/notifications` shows them, with its
body. Admin, or the client."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from .notifications import to_json


def internal_export_blueprint() -> Blueprint:
    blp = Blueprint("client_export", __name__)

    @blp.get("/internal/clients/<string:client_id>/export")
    def export(client_id: str):
        service = current_app.extensions["notifications"]
        service.authority.require_own_or_staff(request, client_id, "client_data")
        with service.session_factory() as session:
            rows = service.repository.of_client(session, client_id)
        return jsonify({"notifications": [dict(to_json(row, service.settings.tz), body=row.body_text)
                                          for row in rows]})

    return blp
