"""The booking page's logic (the DOM-free part of booking.js), run in node.

Without node (Debian's `nodejs` package) these tests skip, or fail under CLINIC_REQUIRE_BACKENDS=1 (CI).
"""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

import gateway
from clinic_shared.testing import missing_backend

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
def result():
    node = shutil.which("node")
    if node is None:
        missing_backend("node (Debian's nodejs package)", "is not installed")
    driver = DRIVER % {"questions": json.dumps(QUESTIONS)}
    run = subprocess.run([node, "-e", driver, str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


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
