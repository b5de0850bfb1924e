"""One OpenAPI document out of the services' documents, and the page that renders it."""
import re

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from clinic_shared.web import create_service_app
from gateway import create_app
from gateway.openapi_merge import merge_documents


def ref(name, section="schemas"):
    return {"$ref": f"#/components/{section}/{name}"}


def doc(paths, schemas, **extra):
    return {"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas, **extra}}


def get_returning(name):
    return {"get": {"responses": {"200": {"content": {"application/json": {"schema": ref(name)}}}}}}


OWN = doc({"/api/health": get_returning("Health")}, {"Health": {"type": "object"}})


def test_paths_of_every_service_and_the_gateway():
    merged = merge_documents(OWN, {
        "screening": doc({"/api/screenings": get_returning("Screening")}, {"Screening": {"type": "object"}}),
        "booking": doc({"/api/bookings": get_returning("Booking")}, {"Booking": {"type": "object"}}),
    }, "Clinic", "2.0")
    assert merged["openapi"].startswith("3.")
    assert merged["info"] == {"title": "Clinic", "version": "2.0"}
    assert set(merged["paths"]) == {"/api/health", "/api/screenings", "/api/bookings"}
    assert set(merged["components"]["schemas"]) == {"Health", "Screening", "Booking"}


def test_a_service_cannot_describe_another_services_path():
    merged = merge_documents(OWN, {"booking": doc({"/api/bookings": {}, "/api/screenings": {}, "/health": {}}, {})},
                             "t", "1")
    assert set(merged["paths"]) == {"/api/health", "/api/bookings"}


def test_same_name_same_definition_is_shared():
    envelope = {"type": "object", "properties": {"error": ref("ErrorDetail")}}
    detail = {"type": "object", "properties": {"code": {"type": "string"}}}
    services = {name: doc({}, {"ErrorEnvelope": envelope, "ErrorDetail": detail},
                          securitySchemes={"bearerAuth": {"type": "http", "scheme": "bearer"}})
                for name in ("screening", "booking")}
    merged = merge_documents(doc({}, {}), services, "t", "1")
    assert merged["components"]["schemas"] == {"ErrorEnvelope": envelope, "ErrorDetail": detail}
    assert merged["components"]["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer"}}


def test_same_name_different_definition_is_prefixed_and_refs_follow():
    screening = doc({"/api/screenings": get_returning("Client")}, {"Client": {"type": "object", "title": "s"}})
    booking = doc({"/api/bookings": get_returning("Client")},
                  {"Client": {"type": "object", "title": "b"},
                   "List": {"type": "array", "items": ref("Client")}})
    merged = merge_documents(doc({}, {}), {"screening": screening, "booking": booking}, "t", "1")
    schemas = merged["components"]["schemas"]
    assert schemas["Client"]["title"] == "s"
    assert schemas["BookingClient"]["title"] == "b"
    assert schemas["List"]["items"] == ref("BookingClient")
    booking_schema = merged["paths"]["/api/bookings"]["get"]["responses"]["200"]["content"]["application/json"]
    assert booking_schema["schema"] == ref("BookingClient")
    screening_schema = merged["paths"]["/api/screenings"]["get"]["responses"]["200"]["content"]["application/json"]
    assert screening_schema["schema"] == ref("Client")


def test_an_equal_definition_pointing_at_a_renamed_one_is_renamed_too():
    wrapper = {"type": "object", "properties": {"client": ref("Client")}}
    screening = doc({}, {"Client": {"title": "s"}, "Wrapper": wrapper})
    booking = doc({"/api/bookings": get_returning("Wrapper")}, {"Client": {"title": "b"}, "Wrapper": wrapper})
    merged = merge_documents(doc({}, {}), {"screening": screening, "booking": booking}, "t", "1")
    schemas = merged["components"]["schemas"]
    assert schemas["Wrapper"]["properties"]["client"] == ref("Client")
    assert schemas["BookingWrapper"]["properties"]["client"] == ref("BookingClient")
    assert schemas["BookingClient"] == {"title": "b"}


def test_a_prefixed_name_that_is_taken_gets_a_number():
    screening = doc({}, {"Client": {"title": "s"}, "BookingClient": {"title": "taken"}})
    booking = doc({}, {"Client": {"title": "b"}})
    schemas = merge_documents(doc({}, {}), {"screening": screening, "booking": booking}, "t", "1")["components"]["schemas"]
    assert schemas["BookingClient"] == {"title": "taken"}
    assert schemas["BookingClient2"] == {"title": "b"}


def test_refs_across_sections_are_rewritten():
    screening = doc({}, {}, responses={"Error": {"description": "s"}})
    booking = doc({"/api/bookings": {"get": {"responses": {"default": ref("Error", "responses")}}}},
                  {}, responses={"Error": {"description": "b"}})
    merged = merge_documents(doc({}, {}), {"screening": screening, "booking": booking}, "t", "1")
    assert merged["paths"]["/api/bookings"]["get"]["responses"]["default"] == ref("BookingError", "responses")
    assert merged["components"]["responses"]["BookingError"] == {"description": "b"}


def test_inputs_are_not_changed():
    booking = doc({"/api/bookings": get_returning("Health")}, {"Health": {"title": "b"}})
    before = repr(booking)
    merge_documents(OWN, {"booking": booking}, "t", "1")
    assert repr(booking) == before


def smorest_booking_service():
    """A genuine flask-smorest service, built the way every service builds itself."""
    class TreatmentsSchema(Schema):
        areas = fields.List(fields.String(), required=True)

    blp = Blueprint("treatments", __name__, url_prefix="/api")

    @blp.route("/treatments")
    class Treatments(MethodView):
        @blp.response(200, TreatmentsSchema)
        def get(self):
            """The treatable areas"""
            return {"areas": ["face"]}

    app, api = create_service_app("fake_booking", "Booking", health_checks={"db": lambda: True})
    api.register_blueprint(blp)
    return app


def test_gateway_serves_the_merged_document(serve, echo, gateway_settings, closed_url):
    screening_doc = doc({"/api/screenings": get_returning("Screening")}, {"Screening": {"type": "object"}})
    urls = {"screening": serve(echo("screening", openapi=screening_doc)),
            "booking": serve(smorest_booking_service()),
            "notifications": closed_url, "staff": closed_url}
    response = create_app(gateway_settings(urls)).test_client().get("/api/openapi.json")
    assert response.status_code == 200
    merged = response.get_json()
    assert {"/api/health", "/api/openapi.json", "/api/screenings", "/api/treatments"} <= set(merged["paths"])
    assert merged["paths"]["/api/treatments"]["get"]["summary"] == "The treatable areas"
    assert "Treatments" in merged["components"]["schemas"]
    assert "Screening" in merged["components"]["schemas"]
    assert merged["info"]["x-unavailable-services"] == ["notifications", "staff"]


def test_docs_page_renders_the_document(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    # self-contained: its script and style are the gateway's own files (the CSP allows nothing inline)
    assert re.findall(r'(?:src|href)="(/static/[^"]+)"', page) == ["/static/docs.css", "/static/docs.js"]
    script = client.get("/static/docs.js").get_data(as_text=True)
    assert 'fetch("/api/openapi.json")' in script
    assert "http" not in page and "http" not in script
