"""The staff workspace (/staff) in a real Chromium, against the whole system: reception runs the day from
the timeline, a practitioner clears a screening, an admin adds a member and reads the audit trail.

Screenshots at 1280 px and 768 px go to /tmp/staff-*.png, for a person to look at.
"""
from __future__ import annotations

import time
import uuid
from datetime import timedelta
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from test_system_browser import (ELIGIBLE, LAUNCH_ARGS, SCREENSHOTS, TIMEOUT_MS, bookable_day,  # noqa: F401
                                 booking_with_reference, browser, choose_first_time, chromium_path,
                                 confirmed_reference, expect, fill_screening, open_page)
from test_system_contract import at, book_ok, client, post_booking
from test_system_slice import until

pytestmark = [pytest.mark.system, pytest.mark.parametrize("system", ["embedded"], indirect=True)]

PASSWORD = "a-long-enough-password"
DAY_START_MINUTES = 8 * 60
PIXELS_PER_MINUTE = 1.2  # timeline.js


def add_member(system, role: str, practitioner_id: str | None = None) -> dict:
    email = f"{role}-{uuid.uuid4().hex[:6]}@clinic.test"
    body = {"name": f"{role.title()} {uuid.uuid4().hex[:4]}", "email": email, "role": role, "password": PASSWORD}
    if practitioner_id:
        body["practitioner_id"] = practitioner_id
    response = system.staff("POST", "/api/staff/members", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def open_staff(browser, system):
    """open_staff(width) -> a page showing /staff. A script error or an unexpected error answer fails the test."""
    contexts, errors = [], []

    def open_(width=1280, height=900, refusals=()):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB",
                                      timezone_id="Europe/London")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on("console", lambda msg: msg.type == "error"
                and urlsplit(msg.location.get("url", "")).path not in refusals
                and errors.append(f"console: {msg.text} ({msg.location.get('url')})"))
        page.on("response", lambda r: r.status >= 400 and urlsplit(r.url).path not in refusals
                and errors.append(f"{r.status} from {r.request.method} {r.url}"))
        page.goto(system.url + "/staff")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    form = page.locator("#sign-in")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_label("Password").press("Enter")  # the keyboard is enough
    expect(page.locator("#workspace")).to_be_visible()


def show_day(page, day) -> None:
    date = page.locator(".day-bar").get_by_label("Date", exact=True)
    date.fill(day.isoformat())  # fires change: the page loads that day


def shots(page, name: str) -> None:
    """The same screen at 1280 px and at 768 px (a tablet); neither may need sideways scrolling."""
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px"
        page.screenshot(path=str(SCREENSHOTS / f"staff-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def minutes(iso: str) -> int:
    return int(iso[11:13]) * 60 + int(iso[14:16])


def test_reception_sees_a_booking_from_the_booking_page_on_the_timeline_and_cancels_another(system, open_page, open_staff):
    # The page waits out 409 screening_pending (the booking service may not have heard of the screening
    # yet) by design; whether it then booked is checked below.
    booking_page = open_page(refusals=["/api/bookings"])
    fill_screening(booking_page, "Grace Hopper", f"grace+{uuid.uuid4().hex[:6]}@example.org",
                   ["Neck (30 minutes)", "Hands (30 minutes)"], ELIGIBLE)
    booking_page.get_by_role("button", name="Check my suitability").click()
    day = bookable_day(weeks_ahead=5)
    choose_first_time(booking_page, day)
    booking_page.get_by_role("button", name="Book this time").click()
    booked = booking_with_reference(system, confirmed_reference(booking_page))
    other = book_ok(system, client(system), at(day, "15:00"))

    reception = add_member(system, "reception")
    page = open_staff()
    sign_in(page, reception["email"])
    expect(page.locator("#who")).to_contain_text("(reception)")
    expect(page.get_by_role("button", name="Clearance queue")).to_be_hidden()  # not for reception
    show_day(page, day)

    column = page.locator(f"#timeline .column[data-practitioner='{booked['practitioner']['id']}']")
    block = column.locator(f"[data-booking='{booked['id']}']")
    expect(block).to_be_visible()
    expect(block).to_contain_text(booked["reference"])
    top, height = block.evaluate("b => [b.offsetTop, b.offsetHeight]")  # within its column
    length = minutes(booked["end"]) - minutes(booked["start"])
    assert abs(height - length * PIXELS_PER_MINUTE) < 2  # 60 minutes tall
    assert abs(top - (minutes(booked["start"]) - DAY_START_MINUTES) * PIXELS_PER_MINUTE) < 2
    shots(page, "1-day")

    page.locator(f"[data-booking='{other['id']}']").click()
    expect(page.locator("#details-title")).to_have_text(f"Booking {other['reference']}")
    expect(page.locator("#details-title")).to_be_focused()
    expect(page.locator("#details-list")).to_contain_text("confirmed")
    shots(page, "1-details")
    page.get_by_label("Reason for cancelling (optional)").fill("Client called")
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.locator("#details-list")).to_contain_text("cancelled")
    expect(page.locator(f"[data-booking='{other['id']}']")).to_have_count(0)  # gone from the timeline
    assert system.staff("GET", f"/api/bookings/{other['id']}").json()["status"] == "cancelled"
    assert system.staff("GET", f"/api/bookings/{booked['id']}").json()["status"] == "confirmed"
    system.browser_actions = {"booking.cancelled": other["id"]}

    # the keyboard moves through days; a Sunday and a closure day are drawn closed
    page.locator("#day-next").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".day-bar").get_by_label("Date", exact=True)).to_have_value((day + timedelta(days=1)).isoformat())
    sunday = day + timedelta(days=(6 - day.weekday()) % 7 or 7)
    show_day(page, sunday)
    expect(page.locator("#timeline .closed")).to_have_text("Closed on Sundays")
    closure = sunday + timedelta(days=2)  # a Tuesday with no booking
    page.get_by_role("button", name="Closures").click()
    page.locator("#closure-form").get_by_label("Date").fill(closure.isoformat())
    page.locator("#closure-form").get_by_label("Reason").fill("Staff training")
    page.locator("#closure-form").get_by_label("Reason").press("Enter")
    expect(page.locator("#closures-list")).to_contain_text(closure.isoformat())
    page.get_by_role("button", name="Day", exact=True).click()
    show_day(page, closure)
    expect(page.locator("#timeline .closed")).to_have_text("Closed: Staff training")
    shots(page, "1-closed")
    page.get_by_role("button", name="Closures").click()
    page.get_by_role("button", name=f"Remove the closure on {closure.isoformat()}").click()
    expect(page.locator("#closures-list")).not_to_contain_text(closure.isoformat())


def test_a_practitioner_clears_a_screening_and_the_client_can_then_book_a_treatment(system, open_staff):
    practitioners = system.call("GET", "/api/practitioners").json()["practitioners"]
    own = practitioners[-1]  # not the first: their own column must move to the front
    practitioner = add_member(system, "practitioner", own["id"])
    screening = client(system, answers={"fitzpatrick_type": "VI"})
    assert screening["outcome"] == "consultation_required"
    start = at(bookable_day(weeks_ahead=6), "10:00")
    refused = post_booking(system, screening, start)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "screening_not_eligible"

    page = open_staff()
    sign_in(page, practitioner["email"])
    expect(page.locator("#timeline .head").nth(1)).to_have_text(own["name"])  # their own column first
    page.get_by_role("button", name="Clearance queue").click()
    card = page.locator(f"#clearance-list li[data-screening='{screening['id']}']")
    expect(card).to_contain_text("fitzpatrick type: VI")  # the answers, for a practitioner
    expect(card.locator("ul li").first).not_to_be_empty()  # the reasons
    shots(page, "2-clearance")
    card.get_by_label("Note").fill("Patch test fine.")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#clearance-message")).to_contain_text("approved")
    expect(page.locator(f"#clearance-list li[data-screening='{screening['id']}']")).to_have_count(0)

    booked = until(lambda: post_booking(system, screening, start),
                   lambda r: r.status_code == 201, seconds=20)
    assert booked.status_code == 201, booked.text
    assert booked.json()["type"] == "treatment"
    system.browser_actions = {**getattr(system, "browser_actions", {}), "screening.cleared": screening["id"]}


def test_an_admin_adds_a_member_and_reads_the_audit_trail(system, open_staff):
    page = open_staff(refusals=("/api/staff/members",))  # the duplicate below is refused on purpose
    sign_in(page, system.admin["email"], system.admin["password"])
    page.get_by_role("button", name="Staff members").click()
    email = f"new-{uuid.uuid4().hex[:6]}@clinic.test"
    form = page.locator("#member-form")
    form.get_by_label("Name").fill("Nora New")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Role").select_option("reception")
    form.get_by_label("Password (12+ characters)").fill(PASSWORD)
    form.get_by_role("button", name="Add member").click()
    expect(page.locator("#members-message")).to_contain_text("Nora New can now sign in")
    expect(page.locator("#members-list")).to_contain_text(email)
    form.get_by_label("Name").fill("Nora Again")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password (12+ characters)").fill(PASSWORD)
    form.get_by_role("button", name="Add member").click()
    expect(page.locator("#members-message")).to_contain_text("already has this e-mail")  # where it belongs
    shots(page, "3-members")

    page.get_by_role("button", name="Audit trail").click()
    wanted = {"staff.member_created": None, **getattr(system, "browser_actions", {})}
    table = page.locator("#audit-list")
    deadline = time.monotonic() + 20
    while True:  # entries from other services arrive within seconds
        text = table.inner_text()
        if all(action in text for action in wanted) or time.monotonic() > deadline:
            break
        page.get_by_role("button", name="Show").click()
        page.wait_for_timeout(500)
    for action, resource_id in wanted.items():
        row = table.locator("tr", has_text=action).first
        expect(row).to_be_visible()
        if resource_id:
            expect(table.locator("tr", has_text=resource_id).first).to_contain_text(action)
    expect(table.locator("tr", has_text="staff.member_created").first).to_contain_text("Administrator (admin)")
    shots(page, "3-audit")
