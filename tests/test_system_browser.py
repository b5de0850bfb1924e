"""The booking page in a real browser (Chromium driven by Playwright), against the whole system.

A client's path through the page: questions -> outcome -> free times -> booking reference, checked
afterwards through the staff API; and a client on a full day who joins the waitlist, receives the offer of
time another client freed (the e-mail as it left the system) and books it from the e-mail's link. Screenshots go to /tmp/browser-*.png, for a person to look at.
Needs the `playwright` package and a system Chromium (/usr/bin/chromium); without either the tests skip,
or fail under CLINIC_REQUIRE_BACKENDS=1 (CI, whose `.ci/run` installs Chromium first).
"""
from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from clinic_shared.testing import missing_backend

try:
    from playwright import sync_api
    from playwright.sync_api import expect
except ImportError:  # said by the browser fixture, so that CI can fail on it
    sync_api = expect = None

# The embedded backends are enough: the page only sees the gateway.
pytestmark = [pytest.mark.system, pytest.mark.parametrize("system", ["embedded"], indirect=True)]

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path("/tmp")
TIMEOUT_MS = 20_000  # covers the page's own retries while booking waits for the screening event

# An answer per question that fires no rule (CLINIC.md); the tests override some of them.
ELIGIBLE = {"active_acne": "No", "eczema": "No", "psoriasis": "No", "fitzpatrick_type": "II",
            "pregnant_or_breastfeeding": "No", "isotretinoin_last_6_months": "No",
            "active_skin_infection": "No", "keloid_scarring": "No", "blood_thinners": "No"}


@pytest.fixture(scope="module", autouse=True)
def chromium_path() -> str:
    """Autouse, so that a missing browser is said before the system is started for nothing."""
    if sync_api is None:
        missing_backend("the playwright package (pip install playwright; never `playwright install`)",
                        "is not installed")
    path = os.environ.get("CLINIC_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        missing_backend("Chromium (Debian's `chromium` package, or set CLINIC_TEST_CHROMIUM)", "is not installed")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path):
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, system):
    """open_page(width, height, refusals) -> a page showing the booking page. A script error, or an error
    answer from a path not in `refusals` (the refusals the test provokes), fails the test."""
    contexts, errors = [], []

    def open_(width=1100, height=900, refusals=()):
        def refused(url: str) -> bool:
            return any(urlsplit(url).path == path for path in refusals)

        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB",
                                      timezone_id="Europe/London")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on("console", lambda msg: msg.type == "error" and not refused(msg.location.get("url", ""))
                and errors.append(f"console: {msg.text} ({msg.location.get('url')})"))
        page.on("response", lambda r: r.status >= 400 and not refused(r.url)
                and errors.append(f"{r.status} from {r.request.method} {r.url}"))
        page.goto(system.url + "/")
        expect(page.locator("#questions .question")).to_have_count(len(ELIGIBLE))
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, errors


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"browser-{name}.png"), full_page=True)


def bookable_day(weeks_ahead: int) -> date:
    """A Monday-Saturday some weeks ahead: far from the minimum notice, the clinic is open."""
    day = date.today() + timedelta(weeks=weeks_ahead)
    return day + timedelta(days=1) if day.weekday() == 6 else day


def fill_screening(page, name: str, email: str, areas: list[str], answers: dict[str, str]) -> None:
    """Fill the form by its visible labels, as a client (or a screen reader) finds the controls."""
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("E-mail").fill(email)
    for area in areas:
        page.get_by_label(area).check()
    for question in page.locator("#questions .question").all():
        select = question.locator("select")
        qid = select.get_attribute("name") if select.count() else question.locator("input").first.get_attribute("name")
        if select.count():
            select.select_option(answers[qid])
        else:
            question.get_by_label(answers[qid], exact=True).check()


def choose_first_time(page, day: date) -> str:
    """Pick a date, show its free times, choose the first; return the chosen slot's start (ISO)."""
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_role("button", name="Show free times").click()
    slots = page.locator("#slots input[name=slot]")
    expect(slots.first).to_be_visible()
    slots.first.check()
    return slots.first.get_attribute("value")


def confirmed_reference(page) -> str:
    expect(page.locator("#confirmation")).to_be_visible()
    expect(page.locator("#confirmation-title")).to_be_focused()
    terms = page.locator("#confirmation-details dt")
    expect(terms.first).to_have_text("Reference")
    reference = page.locator("#confirmation-details dd").first.inner_text().strip()
    assert reference
    return reference


def booking_with_reference(system, reference: str) -> dict:
    response = system.staff("GET", "/api/bookings")
    assert response.status_code == 200, response.text
    matches = [b for b in response.json()["bookings"] if b["reference"] == reference]
    assert len(matches) == 1, f"{reference} not among {[b['reference'] for b in response.json()['bookings']]}"
    return matches[0]


def screening_of(system, booking: dict) -> dict:
    response = system.staff("GET", f"/api/screenings/{booking['screening_id']}")
    assert response.status_code == 200, response.text
    return response.json()


def test_an_eligible_client_books_a_treatment(system, open_page):
    page = open_page()
    shot(page, "1-empty-form")
    email = f"grace+{uuid.uuid4().hex[:6]}@example.org"
    fill_screening(page, "Grace Hopper", email, ["Neck (30 minutes)", "Hands (30 minutes)"], ELIGIBLE)
    shot(page, "1-filled-form")
    page.get_by_role("button", name="Check my suitability").click()

    expect(page.locator("#outcome-title")).to_have_text("Good news: you can book a treatment")
    expect(page.locator("#outcome-title")).to_be_focused()
    expect(page.locator("#booking-title")).to_have_text("Choose a time for your treatment")
    page.keyboard.press("Tab")  # from the outcome, the keyboard goes straight on to the date
    expect(page.get_by_label("Date")).to_be_focused()
    day = bookable_day(weeks_ahead=3)
    start = choose_first_time(page, day)
    expect(page.locator("#slots-legend")).to_contain_text("Europe/London")
    shot(page, "1-free-times")
    page.get_by_role("button", name="Book this time").click()

    reference = confirmed_reference(page)
    details = page.locator("#confirmation-details")
    expect(details).to_contain_text(f"{start[11:16]}–")
    expect(details).to_contain_text("Neck, Hands")  # names, not ids
    shot(page, "1-booked")

    booking = booking_with_reference(system, reference)
    assert booking["status"] == "confirmed"
    assert booking["type"] == "treatment"
    assert booking["areas"] == ["neck", "hands"]
    assert datetime.fromisoformat(booking["start"]) == datetime.fromisoformat(start)
    assert booking["start"][:10] == day.isoformat()
    assert datetime.fromisoformat(booking["end"]) - datetime.fromisoformat(start) == timedelta(minutes=60)
    assert booking["practitioner"]["name"] in details.inner_text()
    screening = screening_of(system, booking)
    assert (screening["client"]["name"], screening["client"]["email"]) == ("Grace Hopper", email)
    assert screening["outcome"] == "eligible"


def test_a_client_who_needs_a_consultation_is_offered_one_and_books_it(system, open_page):
    page = open_page()
    email = f"ada+{uuid.uuid4().hex[:6]}@example.org"
    fill_screening(page, "Ada Lovelace", email, ["Face (60 minutes)"],
                   {**ELIGIBLE, "fitzpatrick_type": "V", "blood_thinners": "Yes"})
    page.get_by_role("button", name="Check my suitability").click()

    expect(page.locator("#outcome-title")).to_have_text("We would like to see you for a consultation first")
    expect(page.locator("#reasons li")).to_have_count(2)  # every rule that fired is explained
    expect(page.locator("#booking-title")).to_have_text("Book a consultation (30 minutes)")
    day = bookable_day(weeks_ahead=4)
    start = choose_first_time(page, day)
    shot(page, "2-consultation-times")
    page.get_by_role("button", name="Book this time").click()

    reference = confirmed_reference(page)
    expect(page.locator("#confirmation-details")).to_contain_text("Consultation")
    shot(page, "2-consultation-booked")

    booking = booking_with_reference(system, reference)
    assert booking["type"] == "consultation"
    assert booking["status"] == "confirmed"
    assert datetime.fromisoformat(booking["start"]) == datetime.fromisoformat(start)
    assert datetime.fromisoformat(booking["end"]) - datetime.fromisoformat(start) == timedelta(minutes=30)
    screening = screening_of(system, booking)
    assert screening["client"]["email"] == email
    assert screening["outcome"] == "consultation_required"


def test_a_client_who_is_not_suitable_is_told_why_and_offered_a_consultation(system, open_page):
    page = open_page()
    fill_screening(page, "Alan Turing", f"alan+{uuid.uuid4().hex[:6]}@example.org", ["Face (60 minutes)"],
                   {**ELIGIBLE, "active_acne": "Yes"})
    page.get_by_role("button", name="Check my suitability").click()
    expect(page.locator("#outcome-title")).to_have_text("Micro needling is not suitable for you right now")
    expect(page.locator("#reasons li")).to_have_count(1)
    expect(page.locator("#outcome-next")).to_contain_text("We cannot book a treatment for you now")
    expect(page.locator("#booking-title")).to_have_text("Book a consultation (30 minutes)")
    shot(page, "3-not-suitable")


def test_the_page_says_what_is_missing_before_sending_anything(system, open_page):
    page = open_page()
    screenings = []
    page.on("request", lambda r: r.url.endswith("/api/screenings") and screenings.append(r))
    button = page.get_by_role("button", name="Check my suitability")
    message = page.get_by_role("alert")

    button.click()
    expect(message).to_have_text("Please give your name and e-mail address.")
    expect(message).to_be_in_viewport()  # next to the button, not at the top of a long page
    expect(page.locator("#name.missing, #email.missing")).to_have_count(2)
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    page.get_by_label("E-mail").fill("grace@example.org")
    button.click()
    expect(message).to_have_text("Please choose at least one area to treat.")
    page.get_by_label("Face (60 minutes)").check()
    button.click()
    expect(message).to_contain_text(f"Please answer every health question ({len(ELIGIBLE)} left")
    expect(message).to_be_in_viewport()
    expect(page.locator("#questions .question.missing")).to_have_count(len(ELIGIBLE))
    expect(page.locator(".missing")).to_have_count(len(ELIGIBLE))  # name, e-mail and areas are no longer marked
    shot(page, "4-missing-answers")
    assert screenings == []

    # Once all is given, the screening goes out and the message goes away.
    fill_screening(page, "Grace Hopper", "grace@example.org", [], ELIGIBLE)
    button.click()
    expect(page.locator("#outcome-title")).to_have_text("Good news: you can book a treatment")
    expect(message).to_be_hidden()
    expect(page.locator(".missing")).to_have_count(0)
    assert len(screenings) == 1


def test_areas_too_long_for_one_session_are_explained(system, open_page):
    page = open_page(refusals=["/api/availability"])
    fill_screening(page, "Grace Hopper", f"grace+{uuid.uuid4().hex[:6]}@example.org",
                   ["Face (60 minutes)", "Neck (30 minutes)"], ELIGIBLE)
    page.get_by_role("button", name="Check my suitability").click()
    expect(page.locator("#outcome-title")).to_have_text("Good news: you can book a treatment")
    page.get_by_label("Date").fill(bookable_day(weeks_ahead=3).isoformat())
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_role("alert")).to_contain_text("60")
    expect(page.locator("#slot-form")).to_be_hidden()
    shot(page, "4-too-long")


def test_a_sunday_shows_no_times_and_says_so(system, open_page):
    page = open_page()
    fill_screening(page, "Grace Hopper", f"grace+{uuid.uuid4().hex[:6]}@example.org", ["Face (60 minutes)"],
                   ELIGIBLE)
    page.get_by_role("button", name="Check my suitability").click()
    expect(page.locator("#outcome-title")).to_have_text("Good news: you can book a treatment")
    sunday = date.today() + timedelta(weeks=2)
    sunday += timedelta(days=(6 - sunday.weekday()) % 7)
    page.get_by_label("Date").fill(sunday.isoformat())
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_role("alert")).to_contain_text("no free time on that day")
    expect(page.locator("#slot-form")).to_be_hidden()
    shot(page, "5-sunday")


def test_a_phone_sized_screen_needs_no_sideways_scrolling(system, open_page):
    page = open_page(width=390, height=844)

    def assert_fits(step: str) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{step}: the page is {width}px wide on a 390px screen"
        shot(page, f"6-phone-{step}")

    assert_fits("form")
    fill_screening(page, "Grace Hopper", f"grace+{uuid.uuid4().hex[:6]}@example.org",
                   ["Décolletage (45 minutes)"], ELIGIBLE)
    page.get_by_role("button", name="Check my suitability").click()
    expect(page.locator("#outcome-title")).to_have_text("Good news: you can book a treatment")
    choose_first_time(page, bookable_day(weeks_ahead=5))
    assert_fits("free-times")
    page.get_by_role("button", name="Book this time").click()
    reference = confirmed_reference(page)
    assert_fits("booked")
    assert booking_with_reference(system, reference)["areas"] == ["decolletage"]


def fill_day_with_consultations(system, day: date) -> tuple[dict, list[dict]]:
    """Another client books every free time of `day` (back-to-back consultations: they keep no spacing)."""
    from test_system_slice import book, screen

    filler = screen(system, areas=("neck",))
    booked = []
    while True:
        slots = system.call("GET", f"/api/availability?date={day.isoformat()}&type=consultation").json()["slots"]
        if not slots:
            return filler, booked
        response = book(system, filler, slots[0]["start"], type="consultation", areas=[])
        assert response.status_code == 201, response.text
        booked.append(response.json())


def test_a_client_on_a_full_day_joins_the_waitlist_and_books_the_time_another_frees(system, open_page):
    from test_system_slice import delivered_message, until

    day = bookable_day(weeks_ahead=10)
    filler, booked = fill_day_with_consultations(system, day)
    page = open_page()
    email = f"wendy+{uuid.uuid4().hex[:6]}@example.org"
    fill_screening(page, "Wendy Waite", email, ["Neck (30 minutes)"], ELIGIBLE)
    page.get_by_role("button", name="Check my suitability").click()
    expect(page.locator("#outcome-title")).to_have_text("Good news: you can book a treatment")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_role("button", name="Show free times").click()
    expect(page.get_by_role("alert")).to_contain_text("no free time on that day")
    shot(page, "9-full-day")
    page.get_by_role("button", name="Join the waitlist for this day").click()
    expect(page.locator("#waitlist-title")).to_contain_text("You are on the waitlist for ")
    expect(page.locator("#waitlist-title")).to_contain_text(str(day.year))
    shot(page, "9-waiting")

    freed = booked[len(booked) // 2]
    cancelled = system.call("POST", f"/api/bookings/{freed['id']}/cancel", token=filler["access_token"], json={})
    assert cancelled.status_code == 200, cancelled.text

    # The offer arrives by e-mail, with the link to the held time.
    offers = until(lambda: [n for n in system.staff("GET", "/api/notifications").json()["notifications"]
                            if n["kind"] == "waitlist_offer" and n["to"] == email and n["status"] == "sent"],
                   bool, seconds=60)
    assert len(offers) == 1, system.staff("GET", "/api/waitlist").json()
    mail = delivered_message(system, offers[0]["id"], email)
    text = mail.get_payload(decode=True).decode() if not mail.is_multipart() else next(
        part.get_payload(decode=True).decode() for part in mail.walk() if part.get_content_type() == "text/plain")
    link = next(word for word in text.split() if "#waitlist=" in word)
    assert link.startswith(system.url + "/#waitlist=")
    assert f"{freed['start'][11:16]} to {freed['end'][11:16]}" in text and "30 minutes" in text

    # Opened in a tab that does not know the client: the page asks them to sign in, and the time held for them
    # is then under "My appointments".
    elsewhere = open_page()
    elsewhere.goto(link)
    expect(elsewhere.get_by_role("alert")).to_contain_text("To book the time we are holding for you, sign in")
    expect(elsewhere.locator("#sign-in-email")).to_be_focused()
    elsewhere.get_by_label("Your email address").fill(email)
    elsewhere.get_by_role("button", name="Send me a sign-in link").click()
    elsewhere.goto(link_in(email_with(system, email, "/#code="), "#code="))
    held = elsewhere.locator(f"#waitlist-{link.rsplit('=', 1)[1]}")
    expect(held).to_contain_text(f"{freed['start'][11:16]}–{freed['end'][11:16]}")
    held.get_by_role("button", name="See the time held for me").click()
    expect(elsewhere.locator("#waitlist-title")).to_have_text("A time has come free for you")
    shot(elsewhere, "9-offer-signed-in")

    page.goto(link)  # opened in the tab that joined: it still knows the client
    expect(page.locator("#waitlist-title")).to_have_text("A time has come free for you")
    expect(page.locator("#waitlist-text")).to_contain_text(f"{freed['start'][11:16]}–{freed['end'][11:16]}")
    shot(page, "9-offer")
    page.get_by_role("button", name="Book the time held for me").click()
    reference = confirmed_reference(page)
    shot(page, "9-booked")

    booking = booking_with_reference(system, reference)
    assert (booking["start"], booking["end"], booking["areas"]) == (freed["start"], freed["end"], ["neck"])
    entry_id = link.rsplit("=", 1)[1]
    entry = system.staff("GET", f"/api/waitlist/{entry_id}").json()
    assert (entry["status"], entry["booking_id"]) == ("booked", booking["id"])
    assert screening_of(system, booking)["client"]["email"] == email


# ----- clients who come back (issue #9): a sign-in link from the e-mail, a manage link, reschedule, cancel -----

def book_through_the_api(system, name: str, email: str, weeks_ahead: int) -> dict:
    """A client screened and booked as the slice does it (the page's own path is the tests above)."""
    answers = {qid: (value if qid == "fitzpatrick_type" else False) for qid, value in ELIGIBLE.items()}
    screened = system.call("POST", "/api/screenings", json={"client": {"name": name, "email": email},
                                                             "areas": ["neck"], "answers": answers})
    assert screened.status_code == 201, screened.text
    screening = screened.json()
    day = bookable_day(weeks_ahead)
    slots = system.call("GET", f"/api/availability?date={day.isoformat()}&areas=neck").json()["slots"]
    from test_system_slice import until
    # the screening's event may still be on its way to the booking service
    booked = until(lambda: system.call("POST", "/api/bookings", token=screening["access_token"], json={
        "screening_id": screening["id"], "areas": ["neck"], "start": slots[0]["start"]}),
        lambda r: r.status_code != 409, pause=0.5)
    assert booked.status_code == 201, booked.text
    return booked.json()


def email_with(system, address: str, kind_marker: str, seconds: float = 30) -> email.message.EmailMessage:
    """The e-mail the system wrote to `address` whose text holds `kind_marker` (a link's #code= or #manage=)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in sorted((system.data_dir / "outbox").glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address in message["To"]:
                text = message.get_body(preferencelist=("plain",)).get_content()
                if kind_marker in text:
                    return message
        time.sleep(0.25)
    raise AssertionError(f"no e-mail to {address} with {kind_marker} within {seconds} s")


def link_in(message, marker: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(r"(https?://\S+/" + re.escape(marker) + r"\S+)", text)
    return link


def test_a_client_signs_in_from_the_emailed_link_and_reschedules(system, open_page):
    address = f"kath+{uuid.uuid4().hex[:6]}@example.org"
    booking = book_through_the_api(system, "Katherine Johnson", address, weeks_ahead=6)

    page = open_page(refusals=["/api/auth/token"])  # the used link, at the end
    page.get_by_label("Your email address").fill(address)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("alert")).to_contain_text("a sign-in link is on its way")
    shot(page, "7-link-asked")

    link = link_in(email_with(system, address, "/#code="), "#code=")
    assert link.startswith(system.url + "/#code=")
    page.goto(link)
    expect(page.locator("#appointments-title")).to_be_focused()
    expect(page.locator("#appointments-who")).to_contain_text("Katherine Johnson")
    card = page.locator(f"#booking-{booking['id']}")
    expect(card).to_contain_text(booking["reference"])
    expect(card.locator(".policy")).to_contain_text("You can change or cancel it here until")
    assert "#code=" not in page.url  # a code works once: it does not stay in the address
    shot(page, "7-my-appointments")

    card.get_by_role("button", name="Change the time").click()
    new_day = bookable_day(weeks_ahead=7)
    card.get_by_label("New day").fill(new_day.isoformat())
    card.get_by_role("button", name="Find free times").click()
    times = card.locator(".slots input[type=radio]")
    expect(times.first).to_be_visible()
    new_start = times.first.get_attribute("value")
    times.first.check()
    card.get_by_role("button", name="Move to this time").click()
    expect(page.get_by_role("alert")).to_contain_text("Your appointment is now on")
    expect(page.locator(f"#booking-{booking['id']}")).to_contain_text(f"{new_start[11:16]}–")
    shot(page, "7-rescheduled")

    moved = system.staff("GET", f"/api/bookings/{booking['id']}").json()
    assert datetime.fromisoformat(moved["start"]) == datetime.fromisoformat(new_start)
    assert moved["start"][:10] == new_day.isoformat() and moved["status"] == "confirmed" and moved["version"] == 2

    # Book again with the same screening, without answering again; the contact is filled in for a new screening.
    expect(page.get_by_label("Name", exact=True)).to_have_value("Katherine Johnson")
    expect(page.get_by_label("E-mail")).to_have_value(address)
    page.get_by_role("button", name="Book another appointment").click()
    expect(page.locator("#booking-title")).to_have_text("Choose a time for your treatment (Neck)")
    choose_first_time(page, bookable_day(weeks_ahead=13))
    page.get_by_role("button", name="Book this time").click()
    reference = confirmed_reference(page)
    expect(page.locator("#appointments-list")).to_contain_text(reference)
    again = booking_with_reference(system, reference)
    assert again["client_id"] == booking["client_id"] and again["screening_id"] == booking["screening_id"]

    # The session stays for the tab: a reload shows the appointments again, without a new link.
    page.reload()
    expect(page.locator("#appointments-title")).to_be_focused()
    # A used link is refused, and the page says so.
    page.goto(link.replace("/#code=", "/?again#code="))
    expect(page.get_by_role("alert")).to_contain_text("has been used or has expired")


def test_a_client_told_by_email_to_see_a_practitioner_signs_in_and_reads_why(system, open_page):
    """Issue #10: the screening_result e-mail names no condition; its link leads to the page, where the client
    signs in (the real sign-in link e-mail) and reads the outcome, every reason and the way on."""
    address = f"mary+{uuid.uuid4().hex[:6]}@example.org"
    answers = {qid: (value if qid == "fitzpatrick_type" else False) for qid, value in ELIGIBLE.items()}
    screened = system.call("POST", "/api/screenings", json={
        "client": {"name": "Mary Jackson", "email": address}, "areas": ["face"],
        "answers": {**answers, "fitzpatrick_type": "V", "keloid_scarring": True}})
    assert screened.status_code == 201, screened.text
    screening = screened.json()
    assert screening["outcome"] == "consultation_required"
    reasons = [reason["message"] for reason in screening["reasons"]]
    assert len(reasons) == 2

    result = email_with(system, address, "read why")
    text = result.get_body(preferencelist=("plain",)).get_content()
    assert not [reason for reason in reasons if reason in text]  # the e-mail says the outcome, not why
    [link] = re.findall(r"https?://\S+", text)
    assert link == system.url + "/"

    page = open_page()
    page.goto(link)
    expect(page.locator("#sign-in")).to_be_visible()
    page.get_by_label("Your email address").fill(address)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("alert")).to_contain_text("a sign-in link is on its way")
    page.goto(link_in(email_with(system, address, "/#code="), "#code="))

    expect(page.locator("#appointments-title")).to_be_focused()
    mine = page.locator("#my-screening")
    expect(mine.locator("#my-screening-title")).to_have_text("We would like to see you for a consultation first")
    expect(mine.locator("li")).to_have_text(reasons)  # every rule that fired, in the screening's words
    contact = system.call("GET", "/api/treatments").json()["change_policy"]["contact"]
    expect(mine.locator("#my-screening-next")).to_contain_text(contact["phone"])
    expect(mine.locator("#my-screening-next")).to_contain_text(contact["email"])
    shot(page, "9-screening-reasons")
    kept = page.evaluate("sessionStorage.getItem('clinic.client')")
    assert not [reason for reason in reasons if reason in kept]  # read from the API, not kept in the tab

    # A reload (the stored sign-in) reads them again; the way on is a consultation.
    page.reload()
    expect(page.locator("#my-screening li")).to_have_text(reasons)
    page.get_by_role("button", name="Book another appointment").click()
    expect(page.locator("#booking-title")).to_have_text("Book a consultation (30 minutes)")


def test_the_manage_link_in_the_email_opens_the_booking_adds_it_to_a_calendar_and_cancels_it(system, open_page):
    address = f"dorothy+{uuid.uuid4().hex[:6]}@example.org"
    booking = book_through_the_api(system, "Dorothy Vaughan", address, weeks_ahead=8)
    link = link_in(email_with(system, address, "/#manage="), "#manage=")

    page = open_page()
    page.goto(link)
    expect(page.locator("#manage-title")).to_be_focused()
    card = page.locator(f"#booking-{booking['id']}")
    expect(card).to_contain_text(booking["reference"])
    shot(page, "8-manage-link")

    # The e-mail with the link was written, so the notifications service has the invitation to give.
    with page.expect_download() as download_info:
        card.get_by_role("button", name="Add to calendar").click()
    [event] = Calendar.from_ical(Path(download_info.value.path()).read_bytes()).walk("VEVENT")
    assert str(event["UID"]).startswith(f"booking-{booking['id']}@")
    assert event.decoded("DTSTART") == datetime.fromisoformat(booking["start"])

    card.get_by_role("button", name="Cancel this appointment").click()
    card.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("alert")).to_contain_text("is cancelled")
    expect(page.locator(f"#booking-{booking['id']}")).to_contain_text("cancelled")
    expect(page.locator(f"#booking-{booking['id']}").get_by_role("button", name="Change the time")).to_have_count(0)
    shot(page, "8-cancelled")
    assert system.staff("GET", f"/api/bookings/{booking['id']}").json()["status"] == "cancelled"
