"""The booking page's logic (the DOM-free part of booking.js), run in node.

Without node (Debian's `nodejs` package) these tests skip, or fail under CLINIC_REQUIRE_BACKENDS=1 (CI).
"""
import json
from pathlib import Path

import pytest

import gateway

SCRIPT = Path(gateway.__file__).parent / "static" / "booking.js"


QUESTIONS = [{"id": "active_acne", "type": "boolean", "text": "?"},
             {"id": "fitzpatrick_type", "type": "choice", "choices": ["I", "IV"], "text": "?"},
             {"id": "eczema", "type": "boolean", "text": "?"}]

DRIVER = """
const B = require(process.argv[1]);
const questions = %(questions)s;
(async () => {
  const out = {};
  out.complete = B.screeningRequest({name: " Ada ", email: "ada@example.com", phone: ""}, ["face", "neck"], questions,
                                    {active_acne: "false", fitzpatrick_type: "IV", eczema: "true"});
  out.incomplete = B.screeningRequest({name: "Ada", email: "a@b.c", phone: " 0700 "}, [], questions,
                                      {active_acne: "false", fitzpatrick_type: "", eczema: null});
  out.types = ["eligible", "consultation_required", "not_suitable"].map(B.bookingTypeFor);
  out.treatmentPath = B.availabilityPath("2026-12-01", "treatment", ["face", "neck"]);
  out.consultationPath = B.availabilityPath("2026-12-01", "consultation", ["face"]);
  out.treatmentBody = B.bookingBody("s1", "treatment", ["face"], "2026-12-01T09:00:00+00:00");
  out.consultationBody = B.bookingBody("s1", "consultation", ["face"], "2026-12-01T09:00:00+00:00");
  out.clock = B.clockTime("2026-07-01T09:15:00+01:00");
  out.problem = B.problemText({message: "Too soon.", details: {fields: {start: ["bad"]},
                                                              earliest_start: "2027-01-05T10:00:00+00:00"}});

  const calls = [], sleeps = [];
  let pending = 2;
  const request = async (path, options) => {
    calls.push([path, options]);
    if (pending-- > 0) throw {code: "screening_pending", retryAfter: 2};
    return {reference: "ABC123"};
  };
  out.retried = await B.bookWithRetry(request, {start: "x"}, "tok", "key-1", {sleep: async (ms) => sleeps.push(ms)});
  out.calls = calls;
  out.sleeps = sleeps;

  let taken = 0;
  const slotTaken = async () => { taken++; throw {code: "slot_unavailable"}; };
  try { await B.bookWithRetry(slotTaken, {}, "tok", "k", {sleep: async () => {}}); } catch (e) { out.takenError = e.code; }
  out.takenCalls = taken;

  let forever = 0;
  const alwaysPending = async () => { forever++; throw {code: "screening_pending", retryAfter: 1}; };
  try { await B.bookWithRetry(alwaysPending, {}, "tok", "k", {attempts: 3, sleep: async () => {}}); } catch (e) { out.gaveUp = e.code; }
  out.pendingCalls = forever;

  out.waitlistTreatment = B.waitlistBody("s1", "treatment", ["neck"], "2026-12-01");
  out.waitlistConsultation = B.waitlistBody("s1", "consultation", ["neck"], "2026-12-01");
  out.offerBody = B.offerBookingBody({id: "w1", screening_id: "s1", type: "treatment", areas: ["neck"],
                                      offer: {start: "2026-12-01T11:00:00+00:00", end: "x", expires_at: "y"}});
  out.linked = ["#waitlist=0b6a-41", "#waitlist=", "#waitlist=a/b", "#manage=abc", ""].map(B.waitlistEntryOf);
  console.log(JSON.stringify(out));
})();
"""


@pytest.fixture(scope="module")
def result(run_node):
    return run_node("-e", DRIVER % {"questions": json.dumps(QUESTIONS)}, str(SCRIPT))


def test_screening_body_has_the_contract_shape(result):
    assert result["complete"] == {
        "body": {"client": {"name": "Ada", "email": "ada@example.com"}, "areas": ["face", "neck"],
                 "answers": {"active_acne": False, "fitzpatrick_type": "IV", "eczema": True}},
        "unanswered": []}


def test_unanswered_questions_are_named_and_phone_kept(result):
    assert result["incomplete"]["unanswered"] == ["fitzpatrick_type", "eczema"]
    assert result["incomplete"]["body"]["client"]["phone"] == "0700"


def test_only_an_eligible_screening_books_a_treatment(result):
    assert result["types"] == ["treatment", "consultation", "consultation"]


def test_availability_and_booking_requests(result):
    assert result["treatmentPath"] == "/api/availability?date=2026-12-01&areas=face,neck"
    assert result["consultationPath"] == "/api/availability?date=2026-12-01&type=consultation"
    assert result["treatmentBody"] == {"screening_id": "s1", "type": "treatment",
                                       "start": "2026-12-01T09:00:00+00:00", "areas": ["face"]}
    assert result["consultationBody"] == {"screening_id": "s1", "type": "consultation",
                                          "start": "2026-12-01T09:00:00+00:00"}


def test_times_show_the_clinics_wall_clock(result):
    assert result["clock"] == "09:15"


def test_error_text_names_fields_and_the_earliest_start(result):
    assert result["problem"] == "Too soon. start: bad The earliest possible start is 2027-01-05 10:00."


def test_screening_pending_is_retried_with_the_same_key_after_retry_after(result):
    assert result["retried"] == {"reference": "ABC123"}
    assert len(result["calls"]) == 3
    for path, options in result["calls"]:
        assert path == "/api/bookings"
        assert options == {"method": "POST", "body": {"start": "x"}, "token": "tok", "idempotencyKey": "key-1"}
    assert result["sleeps"] == [2000, 2000]


def test_other_errors_are_not_retried_and_retries_end(result):
    assert (result["takenError"], result["takenCalls"]) == ("slot_unavailable", 1)
    assert (result["gaveUp"], result["pendingCalls"]) == ("screening_pending", 3)


def test_waitlist_requests_and_the_offer_link(result):
    assert result["waitlistTreatment"] == {"screening_id": "s1", "type": "treatment", "date": "2026-12-01",
                                           "areas": ["neck"]}
    assert result["waitlistConsultation"] == {"screening_id": "s1", "type": "consultation", "date": "2026-12-01"}
    assert result["offerBody"] == {"screening_id": "s1", "type": "treatment", "start": "2026-12-01T11:00:00+00:00",
                                   "areas": ["neck"]}
    assert result["linked"] == ["0b6a-41", None, None, None, None]


# ----- clients who come back: routes, the change notice said before trying, "My appointments" ----------------

RETURN_DRIVER = """
const B = require(process.argv[1]);
const now = Date.parse("2026-11-20T10:00:00Z");
const booking = (id, start, extra = {}) => Object.assign({id, status: "confirmed", start, course_id: null,
  end: start.replace(/T(\\d\\d)/, (m, h) => "T" + String(Number(h) + 1).padStart(2, "0")),
  changeable_until: new Date(Date.parse(start) - 24 * 3600e3).toISOString()}, extra);
const policy = {notice_hours: 24, contact: {phone: "+44 20 7946 0000", email: "hello@clinic.test"}};
const out = {};
out.routes = ["#manage=abc.def-_", "#code=xyz", "", "#", "#other=1", "#code=", "#manage=a&code=b"].map(B.hashRoute);
const soon = booking("soon", "2026-11-21T09:00:00+00:00");        // 23 hours ahead: inside the notice
const later = booking("later", "2026-11-25T09:00:00+00:00");
const edge = booking("edge", "2026-11-21T10:00:00+00:00");        // exactly 24 hours ahead
const cancelled = booking("gone", "2026-11-26T09:00:00+00:00", {status: "cancelled"});
out.states = [soon, later, edge, cancelled].map((b) => B.changeState(b, now));
out.policies = [soon, later, cancelled].map((b) => B.policyText(b, policy, now));
const c1 = booking("c1", "2026-12-01T09:00:00+00:00", {course_id: "k"});
const c2 = booking("c2", "2027-01-05T09:00:00+00:00", {course_id: "k"});
const past = booking("past", "2026-11-01T09:00:00+00:00", {status: "completed"});
const grouped = B.groupAppointments([c2, cancelled, past, later, c1], now);
out.upcoming = grouped.upcoming.map((b) => b.id);
out.past = grouped.past.map((b) => b.id);
out.labels = [c1, c2, later].map(grouped.courseLabel);
out.paths = [B.bookingActionPath("b 1/x", "cancel"), B.calendarPath("b&1")];
out.reusable = [{id: "s", valid_until: "2026-12-01T00:00:00+00:00"}, {id: "s", valid_until: "2026-11-01T00:00:00+00:00"},
                null, {valid_until: "2027-01-01T00:00:00+00:00"}].map((s) => B.screeningReusable(s, now));
const read = {id: "s 1/x", client_id: "c", client: {name: "Ada", email: "ada@example.com", phone: null},
              areas: ["face"], answers: {blood_thinners: true}, outcome: "consultation_required",
              reasons: [{code: "fitzpatrick_high", message: "Darker skin tones ..."},
                        {code: "blood_thinners", message: "Blood-thinning medicine ..."}],
              valid_until: "2027-02-18T10:00:00+00:00", rules_version: "1", created_at: "2026-11-20T10:00:00+00:00"};
out.summaries = [read, {...read, outcome: "not_suitable", reasons: [read.reasons[1]]},
                 {...read, outcome: "eligible", reasons: []}].map((s) => B.outcomeSummary(s, policy.contact));
out.noContact = B.outcomeSummary(read, null).next;
out.screeningPath = B.screeningPath(read.id);
out.kept = B.keptScreening(read);
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def returning(run_node):
    return run_node("-e", RETURN_DRIVER, str(SCRIPT))


def test_the_address_after_the_hash_opens_a_booking_or_signs_in(returning):
    assert returning["routes"] == [
        {"kind": "manage", "token": "abc.def-_"}, {"kind": "code", "code": "xyz"}, {"kind": None}, {"kind": None},
        {"kind": None}, {"kind": None}, {"kind": "manage", "token": "a"}]


def test_the_page_knows_the_change_notice_before_the_client_tries(returning):
    assert returning["states"] == [
        {"canChange": False, "reason": "too_late"}, {"canChange": True, "reason": None},
        {"canChange": True, "reason": None}, {"canChange": False, "reason": "cancelled"}]
    too_late, in_time, cancelled = returning["policies"]
    assert "too late" in too_late and "+44 20 7946 0000" in too_late and "hello@clinic.test" in too_late
    assert in_time.startswith("You can change or cancel it here until 2026-11-24 09:00")
    assert cancelled == "This appointment is cancelled."


def test_my_appointments_are_upcoming_first_and_courses_are_numbered(returning):
    assert returning["upcoming"] == ["later", "c1", "c2"]
    assert returning["past"] == ["gone", "past"]
    assert returning["labels"] == ["Session 1 of 2 of a course", "Session 2 of 2 of a course", None]


def test_paths_escape_what_they_carry(returning):
    assert returning["paths"] == ["/api/bookings/b%201%2Fx/cancel", "/api/notifications/calendar?booking_id=b%261"]


def test_a_valid_screening_is_booked_with_again(returning):
    assert returning["reusable"] == [True, False, False, False]


def test_a_screening_read_after_sign_in_says_why_and_what_next(returning):
    """The same words as right after the questions: the outcome, every reason, and for an outcome that is not
    a treatment the way on (a consultation) with the clinic's contact."""
    consultation, not_suitable, eligible = returning["summaries"]
    assert consultation["title"] == "We would like to see you for a consultation first"
    assert consultation["reasons"] == ["Darker skin tones ...", "Blood-thinning medicine ..."]
    assert "consultation" in consultation["next"]
    assert "+44 20 7946 0000" in consultation["next"] and "hello@clinic.test" in consultation["next"]
    assert not_suitable["title"] == "Micro needling is not suitable for you right now"
    assert not_suitable["reasons"] == ["Blood-thinning medicine ..."]
    assert "We cannot book a treatment" in not_suitable["next"] and "hello@clinic.test" in not_suitable["next"]
    assert eligible == {"title": "Good news: you can book a treatment", "reasons": [], "next": None}
    assert returning["noContact"].endswith("Book one here, or contact the clinic.")


def test_the_screening_is_read_by_its_id_and_the_tab_keeps_no_health_data(returning):
    assert returning["screeningPath"] == "/api/screenings/s%201%2Fx"
    assert returning["kept"] == {"id": "s 1/x", "outcome": "consultation_required", "areas": ["face"],
                                 "valid_until": "2027-02-18T10:00:00+00:00",
                                 "created_at": "2026-11-20T10:00:00+00:00"}
