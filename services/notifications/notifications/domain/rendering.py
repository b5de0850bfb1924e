"""Message texts: the templates in `notifications/templates/` filled with a booking's facts.

Templates use `string.Template` ($name); a missing value is an error, never a blank in an e-mail.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Callable
from zoneinfo import ZoneInfo

from .kinds import SCREENING_RESULT, SIGN_IN_LINK, WAITLIST_OFFER


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


@dataclass(frozen=True)
class AppointmentFacts:
    """What a message says about one booking, as plain data."""

    booking_type: str  # "treatment" | "consultation"
    reference: str
    area_names: tuple[str, ...]
    start: datetime
    end: datetime
    practitioner: str
    client_name: str


@dataclass(frozen=True)
class Sender:
    clinic_name: str
    reply_to: str


@lru_cache(maxsize=None)
def load_template(name: str) -> str:
    return resources.files("notifications").joinpath("templates", f"{name}.txt").read_text("utf-8")


def render(kind: str, values: dict[str, str]) -> Rendered:
    head, _, body = load_template(kind).partition("\n\n")
    if not head.startswith("Subject: "):
        raise ValueError(f"template {kind} must start with a Subject: line")
    subject = Template(head.removeprefix("Subject: ").strip()).substitute(values)
    return Rendered(subject=subject, text=Template(body).substitute(values))


def format_date(value: datetime, tz: ZoneInfo) -> str:
    local = value.astimezone(tz)
    return f"{local:%A} {local.day} {local:%B %Y}"


def format_time(value: datetime, tz: ZoneInfo) -> str:
    return f"{value.astimezone(tz):%H:%M}"


def format_duration(start: datetime, end: datetime) -> str:
    minutes = int((end - start).total_seconds() // 60)
    return f"{minutes} minutes"


def join_words(words: tuple[str, ...] | list[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def manage_url(public_url: str, booking_token: str) -> str:
    """The link in every booking message: the booking page, opened on that booking (API.md)."""
    return f"{public_url}/#manage={booking_token}"


def appointment_values(facts: AppointmentFacts, tz: ZoneInfo, sender: Sender, manage_link: str,
                       cancel_reason: str | None = None) -> dict[str, str]:
    consultation = facts.booking_type == "consultation"
    return {
        "manage_url": manage_link,
        "client_name": facts.client_name,
        "clinic_name": sender.clinic_name,
        "reply_to": sender.reply_to,
        "appointment": "consultation" if consultation else "micro needling appointment",
        "areas": join_words(facts.area_names) or "consultation",
        "date": format_date(facts.start, tz),
        "time": format_time(facts.start, tz),
        "timezone": f"{facts.start.astimezone(tz):%Z}, {tz.key}",
        "duration": format_duration(facts.start, facts.end),
        "practitioner": facts.practitioner,
        "reference": facts.reference,
        "preparation": load_template("_preparation_" + ("consultation" if consultation else "treatment")).rstrip(),
        "cancel_reason": f"\nReason given: {cancel_reason.strip()}\n" if cancel_reason and cancel_reason.strip() else "",
    }


def render_appointment(kind: str, facts: AppointmentFacts, tz: ZoneInfo, sender: Sender, manage_link: str,
                       cancel_reason: str | None = None) -> Rendered:
    return appointment_texts(facts, tz, sender, manage_link, cancel_reason)(kind)


def appointment_texts(facts: AppointmentFacts, tz: ZoneInfo, sender: Sender, manage_link: str,
                      cancel_reason: str | None = None) -> Callable[[str], Rendered]:
    """A booking's messages by kind, its values (dates, times, areas) worked out once for all of them."""
    values = appointment_values(facts, tz, sender, manage_link, cancel_reason)
    return lambda kind: render(kind, values)


OUTCOME_WORDS = {
    "consultation_required": (
        "a consultation first",
        "Before we can book a micro needling treatment, we need to see you for a short "
        "consultation with one of our practitioners.",
    ),
    "not_suitable": (
        "not suitable at the moment",
        "From your answers, micro needling is not suitable for you at the moment.",
    ),
}


def render_screening_result(outcome: str, client_name: str, sender: Sender, page_url: str) -> Rendered:
    """The outcome and where to read why: an e-mail is kept in mailboxes and here, so it names no
    condition (CLINIC.md "Messages"); the reasons are on the page, after signing in."""
    title, text = OUTCOME_WORDS[outcome]
    return render(SCREENING_RESULT, {
        "client_name": client_name, "clinic_name": sender.clinic_name, "reply_to": sender.reply_to,
        "outcome_title": title, "outcome_text": text, "page_url": page_url,
    })


@dataclass(frozen=True)
class OfferFacts:
    """What a `waitlist_offer` says: the time held, until when, and where to book it."""

    booking_type: str
    area_names: tuple[str, ...]
    start: datetime
    end: datetime
    expires_at: datetime
    hold_minutes: int
    client_name: str
    book_url: str


def render_waitlist_offer(facts: OfferFacts, tz: ZoneInfo, sender: Sender) -> Rendered:
    consultation = facts.booking_type == "consultation"
    return render(WAITLIST_OFFER, {
        "client_name": facts.client_name, "clinic_name": sender.clinic_name, "reply_to": sender.reply_to,
        "appointment": "consultation" if consultation else "micro needling appointment",
        "areas": "consultation" if consultation else join_words(facts.area_names),
        "date": format_date(facts.start, tz), "time": format_time(facts.start, tz),
        "end_time": format_time(facts.end, tz), "timezone": f"{facts.start.astimezone(tz):%Z}, {tz.key}",
        "duration": format_duration(facts.start, facts.end), "hold_minutes": str(facts.hold_minutes),
        "expires_time": format_time(facts.expires_at, tz), "expires_date": format_date(facts.expires_at, tz),
        "book_url": facts.book_url,
    })


def render_sign_in_link(client_name: str, sign_in_url: str, expires_at: datetime, tz: ZoneInfo,
                        sender: Sender) -> Rendered:
    """The link that signs a client in (it carries the one-time code) and until when it works."""
    return render(SIGN_IN_LINK, {
        "client_name": client_name, "clinic_name": sender.clinic_name, "sign_in_url": sign_in_url,
        "expires_time": format_time(expires_at, tz), "expires_date": format_date(expires_at, tz),
        "timezone": f"{expires_at.astimezone(tz):%Z}",
    })
