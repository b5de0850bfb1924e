"""The methods a path has: the gateway's own paths answer for themselves, the rest for their service."""


def test_options_on_a_gateway_path_lists_only_its_own_methods(client):
    response = client.options("/api/health")
    assert response.status_code == 200
    assert sorted(response.headers["Allow"].split(", ")) == ["GET", "HEAD", "OPTIONS"]


def test_another_method_on_a_gateway_path_is_405_in_the_envelope(client):
    for method in ("put", "post", "delete", "patch"):
        response = getattr(client, method)("/api/openapi.json", json={})
        assert response.status_code == 405, method
        assert response.get_json()["error"]["code"] == "method_not_allowed"
        assert sorted(response.headers["Allow"].split(", ")) == ["GET", "HEAD", "OPTIONS"]


def test_a_path_nobody_serves_is_still_404(client):
    response = client.put("/api/nothing-here", json={})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
