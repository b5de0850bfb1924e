"""The clients of the fault run: concurrent threads that screen, look for a slot and book through the gateway, then
cancel, reschedule or complete (staff), sometimes two conflicting changes of one booking at the same moment.

Every HTTP answer is recorded. They behave as a client would: a `screening_pending` is retried after Retry-After,
a slot taken meanwhile makes them pick another; a 409 or 422 is an answer, a 5xx or no answer at all is a failure.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random

import requests

ELIGIBLE = {
    "active_acne": False, "eczema": False, "psoriasis": False, "fitzpatrick_type": "II",
    "pregnant_or_breastfeeding": False, "isotretinoin_last_6_months": False, "active_skin_infection": False,
    "keloid_scarring": False, "blood_thinners": False,
}
CONFLICTS = (("cancel", "complete"), ("cancel", "reschedule"), ("reschedule", "reschedule"),
             ("complete", "reschedule"), ("cancel", "cancel"))
PENDING_PATIENCE = 90.0  # seconds a client waits for its screening to reach the booking service


@dataclass(frozen=True)
class Answer:
    at: float  # seconds into the run
    method: str
    path: str
    status: int | None  # None: no answer (connection refused, reset, timed out)
    code: str  # error.code, or the exception when there was no answer

    def __str__(self) -> str:
        return f"t={self.at:6.1f}s {self.method} {self.path} -> {self.status} {self.code}"


@dataclass
class Booked:
    """One booking as its clients saw it: every start it was given, and every change acknowledged."""

    id: str
    reference: str
    starts: list[datetime]
    acks: list[tuple[str, int | None]] = field(default_factory=list)  # (action, status)

    def acknowledged(self, action: str) -> bool:
        return any(a == action and status == 200 for a, status in self.acks)


class Driver:
    def __init__(self, base_url: str, staff_token: str, rng: Random, started: float, deadline: float,
                 pace: float = 0.0):
        self.base_url = base_url
        self.staff_token = staff_token
        self.rng = rng
        self.started = started
        self.deadline = deadline  # monotonic: no new booking is started after it
        # Seconds between two bookings' starts, over all clients: the bookings are spread over the run, so the
        # faults land among them instead of after a system that was quicker than the chaos.
        self.pace = pace
        self._next_start = started
        self.answers: list[Answer] = []
        self.booked: list[Booked] = []
        self.problems: list[str] = []  # what a client could not do although it should have
        self._lock = threading.Lock()
        self._local = threading.local()
        self._in_flight = 0

    # --- the run --------------------------------------------------------------------------------

    def run(self, bookings: int, clients: int) -> None:
        threads = [threading.Thread(target=self._client, args=(bookings, Random(self.rng.random())),
                                    name=f"client-{n}", daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.status is None or a.status >= 500]

    def _client(self, bookings: int, rng: Random) -> None:
        """Make bookings until `bookings` are made between all clients (a failed attempt is tried again)."""
        while time.monotonic() < self.deadline:
            with self._lock:
                if len(self.booked) + self._in_flight >= bookings:
                    return
                self._in_flight += 1
                start_at, self._next_start = self._next_start, max(self._next_start, time.monotonic()) + self.pace
            try:
                time.sleep(max(0.0, start_at - time.monotonic()))
                self._one_booking(rng)
            except Exception as exc:  # a bug of the driver must not pass for a quiet run
                self.problems.append(f"driver error: {type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._in_flight -= 1

    def _one_booking(self, rng: Random) -> None:
        screening = self._screen()
        if screening is None:
            time.sleep(0.5)
            return
        booked = self._book(screening, rng)
        if booked is None:
            return
        with self._lock:
            self.booked.append(booked)
        token = screening["access_token"]
        roll = rng.random()
        if roll < 0.25:
            return  # stays confirmed
        if roll < 0.45:
            self._change(booked, "cancel", self._either(rng, token), rng)
        elif roll < 0.65:
            for _ in range(rng.choice((1, 1, 2))):
                self._change(booked, "reschedule", self._either(rng, token), rng)
            if rng.random() < 0.3:
                self._change(booked, rng.choice(("cancel", "complete")), self._either(rng, token), rng)
        elif roll < 0.80:
            self._change(booked, "complete", self.staff_token, rng)
        else:
            self._conflict(booked, rng.choice(CONFLICTS), token, rng)

    def _either(self, rng: Random, client_token: str) -> str:
        return client_token if rng.random() < 0.7 else self.staff_token

    # --- steps ----------------------------------------------------------------------------------

    def _screen(self) -> dict | None:
        body = {"client": {"name": "Fault Run", "email": f"fault+{uuid.uuid4().hex[:10]}@example.org"},
                "areas": ["face"], "answers": ELIGIBLE}
        response = self._call("POST", "/api/screenings", json=body)
        if response is None or response.status_code != 201:
            self.problems.append(f"screening not made: {_said(response)}")
            return None
        return response.json()

    def _book(self, screening: dict, rng: Random) -> Booked | None:
        token = screening["access_token"]
        waited_since = None
        slot = self._free_slot(rng, [])
        key = uuid.uuid4().hex
        for _ in range(200):
            if slot is None:
                return None
            body = {"screening_id": screening["id"], "areas": ["face"], "start": slot}
            response = self._call("POST", "/api/bookings", token=token, json=body, headers={"Idempotency-Key": key})
            if response is None or response.status_code >= 500:
                time.sleep(0.5)  # a client retries with the same key: never a second booking
                continue
            if response.status_code in (200, 201):
                data = response.json()
                return Booked(data["id"], data["reference"], [_parse(data["start"])], [("book", 201)])
            code = _code(response)
            if code == "screening_pending":
                waited_since = waited_since or time.monotonic()
                if time.monotonic() - waited_since > PENDING_PATIENCE:
                    self.problems.append(f"screening {screening['id']} never reached the booking service "
                                         f"({PENDING_PATIENCE:.0f}s)")
                    return None
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
                continue
            if code in ("slot_unavailable", "treatment_spacing") or response.status_code == 422:
                slot, key = self._free_slot(rng, []), uuid.uuid4().hex  # another slot: another request
                continue
            self.problems.append(f"booking refused: {response.status_code} {code}")
            return None
        return None

    def _free_slot(self, rng: Random, avoid: list[datetime]) -> str | None:
        """A random free start between 2 and 300 days ahead (far enough for a client to change it)."""
        for _ in range(10):
            day = date.today() + timedelta(days=rng.randint(2, 300))
            if day.weekday() == 6:
                continue
            response = self._call("GET", f"/api/availability?date={day.isoformat()}&areas=face")
            if response is None or response.status_code != 200:
                continue
            starts = [s["start"] for s in response.json()["slots"] if _parse(s["start"]) not in avoid]
            if starts:
                return rng.choice(starts)
        return None

    def _change(self, booked: Booked, action: str, token: str, rng: Random, start: str | None = None) -> None:
        body: dict = {}
        if action == "reschedule":
            start = start or self._free_slot(rng, booked.starts)
            if start is None:
                return
            body = {"start": start}
        elif action == "cancel":
            body = {"reason": "fault run"}
        response = self._call("POST", f"/api/bookings/{booked.id}/{action}", token=token, json=body)
        status = response.status_code if response is not None else None
        with self._lock:
            booked.acks.append((action, status))
            if status == 200 and action == "reschedule":
                booked.starts.append(_parse(response.json()["start"]))

    def _conflict(self, booked: Booked, actions: tuple[str, str], token: str, rng: Random) -> None:
        """Two changes of one booking at the same moment, each from its own connection."""
        starts = []
        for action in actions:  # distinct new starts, chosen beforehand, none the booking ever had
            starts.append(self._free_slot(rng, booked.starts + [_parse(s) for s in starts if s])
                          if action == "reschedule" else None)
        for start in starts:
            if start:
                booked.starts.append(_parse(start))  # reserved: never reused for this booking
        barrier = threading.Barrier(len(actions))

        def act(action: str, start: str | None, who: str) -> None:
            barrier.wait()
            self._change(booked, action, who, rng, start)

        who = [token if n == 0 and action != "complete" else self.staff_token for n, action in enumerate(actions)]
        threads = [threading.Thread(target=act, args=(action, start, token_))
                   for action, start, token_ in zip(actions, starts, who)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # --- HTTP -----------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response | None:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        at = time.monotonic() - self.started
        try:
            response = self._session().request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
        except requests.RequestException as exc:
            self._record(Answer(round(at, 1), method, _short(path), None, type(exc).__name__))
            self._local.session = requests.Session()  # a fresh connection after a broken one
            return None
        self._record(Answer(round(at, 1), method, _short(path), response.status_code, _code(response)))
        return response

    def _record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _code(response: requests.Response) -> str:
    if response.status_code < 400:
        return ""
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return response.text[:80]


def _said(response: requests.Response | None) -> str:
    return "no answer" if response is None else f"{response.status_code} {_code(response)}"


def _short(path: str) -> str:
    return path.split("?")[0]
