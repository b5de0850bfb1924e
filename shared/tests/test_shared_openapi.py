"""Values from settings in each app's own OpenAPI document, decided in the factory."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from clinic_shared.openapi import DOCUMENTED_BY, document_settings
from clinic_shared.web import create_service_app


class OrderSchema(Schema):
    areas = fields.List(fields.String(metadata={DOCUMENTED_BY: "areas"}), required=True)
    sessions = fields.Integer(metadata={DOCUMENTED_BY: "sessions"})
    note = fields.String()


def app_with(documented: dict):
    app, api = create_service_app("t", "t", health_checks={})
    document_settings(api, documented)
    blp = Blueprint("orders", __name__)

    @blp.route("/orders")
    class Orders(MethodView):
        @blp.arguments(OrderSchema)
        @blp.response(201)
        def post(self, body):
            return body

    api.register_blueprint(blp)
    return app


def order_schema(app) -> dict:
    return app.test_client().get("/openapi.json").get_json()["components"]["schemas"]["Order"]


def test_each_app_documents_its_own_settings():
    one = app_with({"areas": {"enum": ["face"]}, "sessions": {"minimum": 3, "maximum": 6}})
    two = app_with({"areas": {"enum": ["neck", "hands"]}, "sessions": {"minimum": 1, "maximum": 2}})
    first, second = order_schema(one), order_schema(two)
    assert first["properties"]["areas"]["items"] == {"type": "string", "enum": ["face"]}
    assert second["properties"]["areas"]["items"] == {"type": "string", "enum": ["neck", "hands"]}
    assert first["properties"]["sessions"] == {"type": "integer", "minimum": 3, "maximum": 6}
    assert second["properties"]["sessions"] == {"type": "integer", "minimum": 1, "maximum": 2}
    assert first["properties"]["note"] == {"type": "string"}
    assert DOCUMENTED_BY not in str(first)
