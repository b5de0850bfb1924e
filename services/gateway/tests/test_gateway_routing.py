"""Which service gets which path, checked on the table and through the running gateway."""
import pytest

from gateway.routing import owner_of

CONTRACT_PATHS = {
    "/api/screening/questionnaire": "screening",
    "/api/screenings": "screening",
    "/api/screenings/abc123": "screening",
    "/api/screenings/abc123/clearance": "screening",
    "/api/auth/link": "screening",
    "/api/auth/token": "screening",
    "/api/treatments": "booking",
    "/api/practitioners": "booking",
    "/api/availability": "booking",
    "/api/bookings": "booking",
    "/api/bookings/b1": "booking",
    "/api/bookings/b1/cancel": "booking",
    "/api/bookings/b1/reschedule": "booking",
    "/api/bookings/b1/complete": "booking",
    "/api/courses": "booking",
    "/api/courses/c1": "booking",
    "/api/closures": "booking",
    "/api/closures/2026-12-24": "booking",
    "/api/waitlist": "booking",
    "/api/waitlist/w1": "booking",
    "/api/notifications": "notifications",
}


@pytest.mark.parametrize("path,owner", CONTRACT_PATHS.items())
def test_every_contract_path_has_its_owner(path, owner):
    assert owner_of(path) == owner


@pytest.mark.parametrize("path", ["/api/", "/api", "/api/nope", "/api/screeningsx", "/api/booking",
                                  "/apix/bookings", "/bookings", "/health", "/api//bookings", "",
                                  "/api/bookings/../screenings/s1", "/api/bookings/./b1", "/api/../health"])
def test_paths_nobody_owns(path):
    assert owner_of(path) is None


@pytest.mark.parametrize("path,owner", CONTRACT_PATHS.items())
def test_gateway_forwards_path_and_query_unchanged_to_the_owner(client, services, path, owner):
    response = client.get(path + "?date=2026-12-01&areas=face,neck")
    assert response.status_code == 200
    seen = response.get_json()
    assert seen["service"] == owner
    assert seen["path"] == path
    assert seen["query"] == "date=2026-12-01&areas=face,neck"
    others = [name for name in services if name != owner]
    assert all(services[name][0].received == [] for name in others)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_method_is_forwarded(client, method):
    response = client.open("/api/closures/2026-12-24", method=method)
    assert response.status_code == 200
    assert response.get_json()["method"] == method


@pytest.mark.parametrize("path", ["/api/nope", "/api/screeningsx", "/api/", "/nowhere"])
def test_unknown_path_is_404_envelope_and_not_forwarded(client, services, path):
    response = client.post(path, json={})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert all(app.received == [] for app, _ in services.values())


def test_encoded_path_reaches_the_service_as_sent(client):
    response = client.get("/api/bookings/a%20b")
    assert response.get_json()["path"] == "/api/bookings/a b"


def test_dot_segments_are_not_forwarded(client, services):
    response = client.get("/api/bookings/%2e%2e/screenings/s1")
    assert response.status_code == 404
    assert all(app.received == [] for app, _ in services.values())
