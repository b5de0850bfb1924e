"""The gateway's own endpoints: health of the whole system, the merged OpenAPI document, its page."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from clinic_shared.web import ErrorDetailSchema

from .openapi_merge import merge_documents

API_TITLE = "Micro needling clinic booking API"
API_VERSION = "1.0"

blp = Blueprint("gateway", __name__, url_prefix="/api", description="The gateway itself")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok, or degraded when a service is down"})
    services = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           metadata={"example": {"screening": "ok", "booking": "ok", "notifications": "down"}})
    error = fields.Nested(ErrorDetailSchema, metadata={"description": "present when a service is down"})


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="A service is down")
    def get(self):
        """Whether every service behind the gateway answers"""
        services = current_app.extensions["gateway.upstreams"].health()
        down = sorted(name for name, state in services.items() if state != "ok")
        if not down:
            return {"status": "ok", "services": services}
        return {"status": "degraded", "services": services,
                "error": {"code": "service_unavailable",
                          "message": f"Not available right now: {', '.join(down)}.",
                          "details": {"services": down}}}, 503


@blp.route("/openapi.json")
class OpenApiDocument(MethodView):
    @blp.response(200, description="The OpenAPI 3 document of the whole public API")
    def get(self):
        """The OpenAPI document of every service, merged"""
        documents, missing = current_app.extensions["gateway.upstreams"].openapi_documents()
        own = current_app.extensions["gateway.api"].spec.to_dict()
        merged = merge_documents(own, documents, API_TITLE, API_VERSION)
        if missing:  # still useful without them; say what is not described
            merged["info"]["x-unavailable-services"] = missing
        return merged


@blp.route("/docs")
class Docs(MethodView):
    @blp.doc(responses={"200": {"description": "An HTML page rendering /api/openapi.json",
                                "content": {"text/html": {}}}})
    def get(self):
        """A page that renders the OpenAPI document"""
        return current_app.send_static_file("docs.html")
