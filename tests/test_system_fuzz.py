"""Schemathesis against the gateway's OpenAPI document, on PostgreSQL and RabbitMQ: every phase
(examples, coverage, fuzzing, stateful), once with a client token and once with the staff token.

It fails on any failed check, and when the stateful phase no longer books, reschedules and cancels:
that is what the document's links are for, and a run that never reaches the bookings proves little.

The checks are all of schemathesis's checks (server errors, status codes, content types, headers,
response schemas, negative data refused, positive data accepted, auth, methods and `Allow`,
use-after-free, resource availability) with one adjustment: API.md answers a well-formed request
that a clinic rule refuses (outside opening hours, off the slot grid, a screening not eligible...)
with 422, which a JSON Schema cannot express, so for the operations those rules apply to 422 also
counts as accepting valid data. And no string may hold a NUL character (U+0000: PostgreSQL text
cannot store it, clinic_shared.request_guards refuses it everywhere with 422), which the generator is
told once (`generation.allow-x00 = false`) rather than every string field of the document.

What the fuzzer cannot invent is supplied as data, as schemathesis advises: the client's screenings
(known to the booking service before the run) and a few free slot starts to draw from, and for the
client run a near day for GET /api/availability and POST /api/waitlist (a random date is almost never
bookable; the staff run fuzzes it). The ids of bookings and courses come only from the links.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from test_system_slice import ELIGIBLE, screen, until

pytestmark = [pytest.mark.system, pytest.mark.parametrize("system", ["real"], indirect=True)]

SEED = 20261125
MAX_EXAMPLES = 25  # per operation and phase; the two runs take about a minute on two busy cores
RUN_TIMEOUT_SECONDS = 300
RULE_BOUND = ["GET /api/availability", "POST /api/bookings", "POST /api/courses",
              "POST /api/bookings/{booking_id}/reschedule", "POST /api/closures", "POST /api/waitlist",
              # a member's practitioner_id must be one of GET /api/practitioners: data, not a schema
              "POST /api/staff/members", "PATCH /api/staff/members/{member_id}"]


def test_schemathesis_finds_nothing_and_reaches_the_bookings(system, tmp_path):
    eligible = screen(system)
    token = eligible["access_token"]
    consultation = system.call("POST", "/api/screenings", token=token, json={
        "client": {"name": "Ada Lovelace", "email": "ada@example.org"}, "areas": ["face"],
        "answers": {**ELIGIBLE, "blood_thinners": True}}).json()
    assert consultation["outcome"] == "consultation_required"
    for screening in (eligible, consultation):
        _wait_until_booking_knows(system, token, screening["id"])
    day = date.today() + timedelta(days=3)
    starts = _free_starts(system, day)

    client_config, staff_config = tmp_path / "client.toml", tmp_path / "staff.toml"
    client_config.write_text(_config(_client_data([eligible["id"], consultation["id"]], starts, day)))
    staff_config.write_text(_config())  # staff cannot book; availability keeps its fuzzed dates
    client_run = _schemathesis(system, client_config, token, tmp_path / "client")
    staff_run = _schemathesis(system, staff_config, system.staff_token, tmp_path / "staff")

    assert client_run.returncode == 0, client_run.output
    assert staff_run.returncode == 0, staff_run.output
    done = client_run.successes
    print(f"2xx answers by operation: client run {dict(done)}; staff run {dict(staff_run.successes)}")
    assert done["POST /api/bookings"] >= 1, done
    assert done["POST /api/bookings/{id}/reschedule"] >= 1, done
    assert done["POST /api/bookings/{id}/cancel"] >= 1, done
    # ...and the system agrees: bookings the test itself never made, some of them cancelled.
    bookings = system.staff("GET", "/api/bookings", params={"limit": 1000}).json()["bookings"]  # one page holds them
    assert {b["status"] for b in bookings} >= {"cancelled"}, bookings


def _wait_until_booking_knows(system, token, screening_id):
    """409 screening_pending until the screening's event has reached the booking service; after that
    a start off the slot grid is refused by the rules (422), so nothing is booked while asking."""
    off_grid = f"{date.today() + timedelta(days=3)}T08:07:00+00:00"
    answer = until(lambda: system.call("POST", "/api/bookings", token=token, json={
        "screening_id": screening_id, "type": "consultation", "start": off_grid}),
        lambda response: response.status_code != 409)
    assert answer.status_code == 422, answer.text


def _free_starts(system, first: date) -> list[str]:
    slots = system.call("GET", "/api/availability", params={
        "from": first.isoformat(), "to": (first + timedelta(days=6)).isoformat(), "type": "consultation"}).json()
    starts = [slot["start"] for slot in slots["slots"]][::7][:12]  # spread over the days, a few per day
    assert starts, slots
    return starts


def _config(client_data: str = "") -> str:
    """The settings of both runs, then `client_data` (the client run's own)."""
    return f"""
[generation]
allow-x00 = false

# Ids of bookings and courses come only from the document's links (no ids picked up from earlier
# responses, no links inferred): the counts in the test then say that the links work.
[phases.examples]
extra-data-sources.responses = false

[phases.coverage]
extra-data-sources.responses = false

[phases.fuzzing]
extra-data-sources.responses = false

[phases.stateful]
max-steps = 12
inference.algorithms = []

[[operations]]
include-name = {json.dumps(RULE_BOUND)}
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# A sign-in link asked for again and again for one e-mail is refused for a while (API.md: rate limited per
# e-mail), and a well-formed code the system never made is 401: both are the right answer to valid data.
[[operations]]
include-name = ["POST /api/auth/link", "POST /api/auth/token"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "429"]
{client_data}"""


def _client_data(screenings: list[str], starts: list[str], day: date) -> str:
    return f"""
[dictionaries.screenings]
values = {json.dumps(screenings)}

[dictionaries.starts]
values = {json.dumps(starts)}

[[operations]]
include-name = ["POST /api/bookings", "POST /api/courses"]
parameters = {{ "body.screening_id" = {{ dictionary = "screenings", probability = 0.8 }}, "body.start" = {{ dictionary = "starts", probability = 0.6 }} }}

[dictionaries.days]
values = {json.dumps([day.isoformat()])}

[[operations]]
include-name = "POST /api/waitlist"
parameters = {{ "body.screening_id" = {{ dictionary = "screenings", probability = 0.8 }}, "body.date" = {{ dictionary = "days", probability = 0.6 }} }}

[[operations]]
include-name = "GET /api/availability"
parameters = {{ "query.date" = "{day.isoformat()}", "query.areas" = "face" }}
"""


class Run:
    def __init__(self, completed: subprocess.CompletedProcess, har: Path):
        self.returncode = completed.returncode
        self.output = completed.stdout + completed.stderr
        self.successes = _successes(har)


def _schemathesis(system, config: Path, token: str, out: Path) -> Run:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable, "schemathesis is not installed (requirements-dev.txt)"
    out.mkdir()
    har = out / "run.har"
    completed = subprocess.run([
        executable, "--config-file", str(config), "run", f"{system.url}/api/openapi.json",
        "-H", f"Authorization: Bearer {token}",
        "--phases", "examples,coverage,fuzzing,stateful", "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--generation-database", "none",
        "--workers", "1", "--request-timeout", "15",
        "--report", "har", "--report-har-path", str(har),
    ], capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, cwd=out)
    return Run(completed, har)


def _successes(har: Path) -> Counter[str]:
    """How many requests of each operation succeeded (2xx), from the run's HTTP archive."""
    counts: Counter[str] = Counter()
    if not har.exists():
        return counts
    for entry in json.loads(har.read_text())["log"]["entries"]:
        if 200 <= entry["response"]["status"] < 300:
            path = "/api/" + entry["request"]["url"].split("/api/", 1)[1].split("?")[0]
            parts = path.split("/")
            if len(parts) > 3 and parts[2] in ("bookings", "courses", "screenings", "closures", "waitlist"):
                parts[3] = "{id}"
            label = f"{entry['request']['method']} {'/'.join(parts)}"
            counts[label] += 1
    return counts
