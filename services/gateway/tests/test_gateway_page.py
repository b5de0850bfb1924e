"""The booking web page: served at /, self-contained, and calling only paths of the contract."""
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import gateway
from gateway.routing import owner_of

STATIC = Path(gateway.__file__).parent / "static"

# Every public path of API.md ({…} is one path segment).
CONTRACT = ["/api/health", "/api/openapi.json", "/api/docs", "/api/screening/questionnaire",
            "/api/screenings", "/api/screenings/{id}", "/api/screenings/{id}/clearance", "/api/treatments",
            "/api/practitioners", "/api/availability", "/api/bookings", "/api/bookings/{id}",
            "/api/bookings/{id}/cancel", "/api/bookings/{id}/reschedule", "/api/bookings/{id}/complete",
            "/api/courses", "/api/courses/{id}", "/api/closures", "/api/closures/{date}", "/api/notifications"]
GATEWAY_OWN = {"/api/health", "/api/openapi.json", "/api/docs"}


def in_contract(path: str) -> bool:
    return any(re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path) for template in CONTRACT)


def api_paths(source: str) -> set[str]:
    """Paths in string literals ('…', "…", `…`), without their query strings."""
    return set(re.findall(r"""["'`](/api/[^"'`?$]*)""", source))


def test_page_is_served_at_the_root(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert 'name="viewport"' in page
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert asset.startswith("/static/"), f"{asset} is not served by the gateway"
        assert client.get(asset).status_code == 200


def test_the_script_calls_only_contract_paths_the_gateway_routes():
    called = api_paths((STATIC / "booking.js").read_text())
    assert called == {"/api/screening/questionnaire", "/api/treatments", "/api/screenings",
                      "/api/availability", "/api/bookings"}
    for path in called | api_paths((STATIC / "docs.html").read_text()):
        assert in_contract(path), path
        assert owner_of(path) is not None or path in GATEWAY_OWN, path


def test_the_check_above_can_tell_a_wrong_path():
    assert not in_contract("/api/booking")
    assert not in_contract("/api/bookings/1/delete")
    assert in_contract("/api/bookings/1/cancel")
    assert api_paths('api("/api/availability?" + q); fetch(`/api/x${id}`)') == {"/api/availability", "/api/x"}


def test_the_booking_sends_a_token_and_an_idempotency_key():
    script = (STATIC / "booking.js").read_text()
    assert '"Idempotency-Key"' in script and "Bearer ${token}" in script


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.labelled = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea"):
            self.ids.append(attrs.get("id"))
        if tag == "label" and attrs.get("for"):
            self.labelled.add(attrs["for"])


def test_every_form_control_has_a_label():
    controls = Controls()
    controls.feed((STATIC / "index.html").read_text())
    assert controls.ids, "the page has no form controls"
    assert [i for i in controls.ids if i not in controls.labelled] == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_is_valid_javascript():
    result = subprocess.run(["node", "--check", str(STATIC / "booking.js")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
