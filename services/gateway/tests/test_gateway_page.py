"""The pages: the booking page (/) and the staff workspace (/staff), served with their assets, self-contained,
labelled, with no inline script, the security headers on every page, and calling only paths of the contract;
the workspace timeline's arithmetic in node."""
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import gateway
from clinic_shared.testing import missing_backend
from gateway.routing import owner_of

STATIC = Path(gateway.__file__).parent / "static"

# Every public path of API.md ({…} is one path segment).
CONTRACT = ["/api/health", "/api/openapi.json", "/api/docs", "/api/screening/questionnaire",
            "/api/screenings", "/api/screenings/{id}", "/api/screenings/{id}/clearance", "/api/treatments",
            "/api/practitioners", "/api/availability", "/api/bookings", "/api/bookings/{id}",
            "/api/bookings/{id}/cancel", "/api/bookings/{id}/reschedule", "/api/bookings/{id}/complete",
            "/api/courses", "/api/courses/{id}", "/api/closures", "/api/closures/{date}", "/api/notifications",
            "/api/waitlist", "/api/waitlist/{id}", "/api/auth/link", "/api/auth/token",
            "/api/notifications/calendar"]  # beyond API.md, additive: a booking's .ics (the gateway's README)
GATEWAY_OWN = {"/api/health", "/api/openapi.json", "/api/docs"}


def in_contract(path: str) -> bool:
    """A contract path; one ending in "/" (a literal the script completes with an id) when some path goes on
    from it with an id."""
    if path.endswith("/"):
        return in_contract(path + "an-id")
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
    assert called == {"/api/screening/questionnaire", "/api/treatments", "/api/screenings", "/api/screenings/",
                      "/api/availability", "/api/bookings", "/api/bookings/", "/api/auth/link", "/api/auth/token",
                      "/api/notifications/calendar", "/api/waitlist", "/api/waitlist/"}
    for path in called | api_paths((STATIC / "docs.js").read_text()):
        assert in_contract(path), path
        assert owner_of(path) is not None or path in GATEWAY_OWN, path


def test_the_check_above_can_tell_a_wrong_path():
    assert not in_contract("/api/booking")
    assert not in_contract("/api/bookings/1/delete")
    assert in_contract("/api/bookings/1/cancel")
    assert in_contract("/api/bookings/") and not in_contract("/api/treatments/")
    assert in_contract("/api/waitlist/") and not in_contract("/api/bookings/1/")
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


# ----- the staff workspace and every page's headers --------------------------------------------

STAFF_SCRIPTS = sorted((STATIC / "staff").glob("*.js"))
STAFF_PATHS = ["/api/staff/sessions", "/api/staff/sessions/current", "/api/staff/me", "/api/staff/members",
               "/api/staff/members/{id}", "/api/audit", "/api/notifications/{id}/retry"]  # API.md, added
PAGES = {"/": "index.html", "/staff": "staff.html", "/api/docs": "docs.html"}


def test_the_workspace_is_served_with_its_assets(client):
    response = client.get("/staff")
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert 'type="module"' in page
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
    for script in STAFF_SCRIPTS:  # modules import each other from the gateway too
        for imported in re.findall(r'from "(\./[^"]+)"', script.read_text()):
            assert client.get(f"/static/staff/{imported[2:]}").status_code == 200, imported


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/static/staff/main.js").headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", sorted(PAGES.values()))
def test_no_page_has_an_inline_script_style_or_handler(name):
    html = (STATIC / name).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"
    assert "<style" not in html and " style=" not in html, "inline style"
    assert "javascript:" not in html


def test_the_check_above_can_tell_an_inline_script():
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", "<script>alert(1)</script>")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", '<script type="module" src="/static/x.js"></script>')
    assert re.search(r"\son[a-z]+\s*=", '<button onclick="x()">')


def test_the_workspace_calls_only_contract_paths_the_gateway_routes():
    # every literal path, with each ${…} of a template literal read as one segment
    called = {re.sub(r"\$\{[^}]*\}", "x", path) for script in STAFF_SCRIPTS
              for path in re.findall(r"""["'`](/api/(?:[^"'`?$]|\$\{[^}]*\})*)""", script.read_text())}
    assert {"/api/staff/sessions", "/api/audit", "/api/screenings", "/api/bookings/x/cancel",
            "/api/notifications/x/retry", "/api/closures/x"} <= called
    for path in called:
        known = in_contract(path) or any(re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", t), path) for t in STAFF_PATHS)
        assert known, path
        assert owner_of(path) is not None, path


def test_every_control_of_the_workspace_has_a_label():
    controls = Controls()
    controls.feed((STATIC / "staff.html").read_text())
    assert [i for i in controls.ids if i not in controls.labelled] == []


DRIVER = """
import * as T from "%(module)s";
const out = {};
out.ten = T.placeBlock({start: "2026-12-01T10:00:00+00:00", end: "2026-12-01T11:00:00+00:00"});
out.summer = T.placeBlock({start: "2026-07-01T08:00:00+01:00", end: "2026-07-01T08:30:00+01:00"});
out.last = T.placeBlock({start: "2026-12-01T17:00:00+00:00", end: "2026-12-01T17:30:00+00:00"});
out.order = T.orderColumns([{id: "a"}, {id: "b"}, {id: "c"}], "c").map((p) => p.id);
out.orderNone = T.orderColumns([{id: "a"}, {id: "b"}], null).map((p) => p.id);
out.sunday = T.closedBecause("2026-12-06", []);
out.closure = T.closedBecause("2026-12-01", [{date: "2026-12-01", reason: "Training"}]);
out.open = T.closedBecause("2026-12-05", [{date: "2026-12-01", reason: "Training"}]);
out.next = T.shiftDate("2026-12-31", 1);
out.back = T.shiftDate("2026-03-29", -1);
out.height = T.dayHeight();
console.log(JSON.stringify(out));
"""


def test_the_timeline_places_blocks_by_their_clinic_times():
    node = shutil.which("node")
    if node is None:
        missing_backend("node (Debian's `nodejs` package)", "is not installed")
    driver = DRIVER % {"module": (STATIC / "staff" / "timeline.js").as_uri()}
    result = subprocess.run([node, "--input-type=module", "-e", driver], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["ten"] == {"top": 144, "height": 72, "turnoverTop": 216, "turnoverHeight": 18}
    assert out["summer"]["top"] == 0 and out["summer"]["height"] == 36  # wall-clock time, whatever the offset
    assert out["last"]["turnoverHeight"] == 0  # the day ends at 17:30: no turnover drawn past it
    assert out["order"] == ["c", "a", "b"] and out["orderNone"] == ["a", "b"]
    assert out["sunday"] == "Closed on Sundays" and out["closure"] == "Closed: Training" and out["open"] is None
    assert out["next"] == "2027-01-01" and out["back"] == "2026-03-28"
    assert out["height"] == 684
