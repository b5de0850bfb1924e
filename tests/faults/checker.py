"""The checker of the fault run: what each booking should have had against what the SMTP server received.

Plain functions over plain data, so its own tests can feed it mailboxes with a loss, a duplicate, a message
after a cancellation, and see each one counted. During a run of minutes with bookings days ahead, only the
messages due at once are due (CLINIC.md "Messages"):

- a confirmed booking: the invitation (`pre_treatment` / `consultation_confirmation`) with its FINAL start time
  (an earlier invitation replaced by a reschedule may rightly never go out);
- a cancelled booking: its `cancellation` (its invitation may rightly be cancelled unsent);
- a completed booking: `aftercare`, sent at once when staff complete early (its invitation may rightly never go
  out: a completion that overtakes the confirmation plans what is left, notifications/events.py).

Counts:
- lost: a due message that never arrived;
- duplicated: a message that arrived more than once: the same Message-ID again, or the same content again under
  another id (the same kind for the same booking and, for an invitation, the same start: the run never moves a
  booking back to a start it had, so two invitations with one start are one message sent twice);
- after_cancel: a message of a booking that arrived after that booking's cancellation, other than that cancellation;
- unwarranted: a message the final state does not call for (a cancellation of a booking that is not cancelled,
  aftercare of one not completed, a reminder that is not due for days, a message of no known booking).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message

from icalendar import Calendar

INVITATIONS = ("pre_treatment", "consultation_confirmation")
CANCELLATION = "cancellation"
AFTERCARE = "aftercare"
REFERENCE = re.compile(r"\(ref\. ([^)\s]+)\)")
UID = re.compile(r"^UID:booking-(.+)@", re.MULTILINE)


@dataclass(frozen=True)
class FinalBooking:
    """A booking as the booking service holds it at the end of the run."""

    id: str
    reference: str
    status: str  # confirmed | cancelled | completed
    start: datetime


@dataclass(frozen=True)
class Received:
    """One e-mail as the SMTP server got it, in order of arrival."""

    order: int
    message_id: str
    kind: str
    subject: str
    booking_id: str | None = None  # from the invitation's UID
    reference: str | None = None  # from the subject
    dtstart: str | None = None  # the invitation's DTSTART, UTC, e.g. 20261201T090000Z
    at: float = 0.0  # seconds into the run, for the report


@dataclass(frozen=True)
class Finding:
    booking_id: str | None
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"booking {self.booking_id}: {self.kind}: {self.detail}"


@dataclass
class Report:
    lost: list[Finding] = field(default_factory=list)
    duplicated: list[Finding] = field(default_factory=list)
    after_cancel: list[Finding] = field(default_factory=list)
    unwarranted: list[Finding] = field(default_factory=list)

    def line(self) -> str:
        return (f"lost={len(self.lost)} duplicated={len(self.duplicated)} after_cancel={len(self.after_cancel)} "
                f"unwarranted={len(self.unwarranted)}")

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.after_cancel or self.unwarranted)

    def details(self, limit: int = 40) -> str:
        out = []
        for name in ("lost", "duplicated", "after_cancel", "unwarranted"):
            findings = getattr(self, name)
            for finding in findings[:limit]:
                out.append(f"{name}: {finding}")
            if len(findings) > limit:
                out.append(f"{name}: … and {len(findings) - limit} more")
        return "\n".join(out)


def utc_stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def calendar_text(message: Message) -> str | None:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True) or b""
            return payload.decode("utf-8", "replace").replace("\r\n ", "").replace("\n ", "")  # unfolded
    return None


def calendar_start(calendar: str) -> str | None:
    """The invitation's start as a UTC stamp, whichever way the file writes it (UTC, or local with a TZID)."""
    event = next(iter(Calendar.from_ical(calendar).walk("VEVENT")), None)
    start = event.decoded("DTSTART") if event is not None and "DTSTART" in event else None
    return utc_stamp(start) if isinstance(start, datetime) and start.tzinfo is not None else None


def parse_received(message: Message, order: int, at: float = 0.0) -> Received:
    """What the checker needs from one e-mail: its id, kind, booking (UID or reference) and start."""
    kind = (message.get("X-Clinic-Notification") or "").partition(";")[0].strip()
    subject = str(message.get("Subject") or "")
    reference = REFERENCE.search(subject)
    calendar = calendar_text(message)
    uid = UID.search(calendar) if calendar else None
    start = calendar_start(calendar) if calendar else None
    return Received(order=order, message_id=str(message.get("Message-ID") or "").strip(), kind=kind,
                    subject=subject, booking_id=uid.group(1).strip() if uid else None,
                    reference=reference.group(1) if reference else None,
                    dtstart=start, at=at)


def check(bookings: list[FinalBooking], received: list[Received]) -> Report:
    report = Report()
    by_id = {b.id: b for b in bookings}
    by_reference = {b.reference: b for b in bookings}
    mail_of: dict[str, list[Received]] = defaultdict(list)
    unattributed = []
    for mail in sorted(received, key=lambda m: m.order):
        booking = by_id.get(mail.booking_id) if mail.booking_id else by_reference.get(mail.reference or "")
        if booking is None:
            unattributed.append(mail)
        else:
            mail_of[booking.id].append(mail)

    _duplicates(report, mail_of, unattributed)
    for mail in unattributed:
        report.unwarranted.append(Finding(None, mail.kind, f"no known booking: {mail.message_id} {mail.subject!r}"))
    for booking in bookings:
        mails = mail_of.get(booking.id, [])
        _lost(report, booking, mails)
        _after_cancel(report, booking, mails)
        _unwarranted(report, booking, mails)
    return report


def _content_key(booking_id: str, mail: Received) -> tuple:
    if mail.kind in INVITATIONS:
        return booking_id, mail.kind, mail.dtstart
    if mail.kind in (CANCELLATION, AFTERCARE):
        return booking_id, mail.kind
    return booking_id, mail.kind, mail.message_id


def _duplicates(report: Report, mail_of: dict[str, list[Received]], unattributed: list[Received]) -> None:
    seen_ids: dict[str, Received] = {}
    seen_content: dict[tuple, Received] = {}
    everything = [(booking_id, m) for booking_id, mails in mail_of.items() for m in mails]
    everything += [(None, m) for m in unattributed]
    for booking_id, mail in sorted(everything, key=lambda pair: pair[1].order):
        first = seen_ids.get(mail.message_id)
        if first is not None:
            report.duplicated.append(Finding(booking_id, mail.kind, f"Message-ID {mail.message_id} again "
                                             f"(arrivals #{first.order} and #{mail.order})"))
            continue
        seen_ids[mail.message_id] = mail
        if booking_id is None:
            continue
        key = _content_key(booking_id, mail)
        first = seen_content.get(key)
        if first is not None:
            report.duplicated.append(Finding(booking_id, mail.kind, f"the same message again under another id: "
                                             f"{first.message_id} (#{first.order}) and {mail.message_id} "
                                             f"(#{mail.order}), start {mail.dtstart}"))
        else:
            seen_content[key] = mail


def _lost(report: Report, booking: FinalBooking, mails: list[Received]) -> None:
    kinds = {m.kind for m in mails}
    if booking.status == "confirmed":
        final = utc_stamp(booking.start)
        if not any(m.kind in INVITATIONS and m.dtstart == final for m in mails):
            sent = [m.dtstart for m in mails if m.kind in INVITATIONS]
            report.lost.append(Finding(booking.id, "invitation", f"none with the final start {final} "
                                       f"({booking.status}, ref. {booking.reference}); invitations received: {sent}"))
    if booking.status == "cancelled" and CANCELLATION not in kinds:
        report.lost.append(Finding(booking.id, CANCELLATION, f"never received (ref. {booking.reference})"))
    if booking.status == "completed" and AFTERCARE not in kinds:
        report.lost.append(Finding(booking.id, AFTERCARE, f"never received (ref. {booking.reference})"))


def _after_cancel(report: Report, booking: FinalBooking, mails: list[Received]) -> None:
    cancellation = next((m for m in mails if m.kind == CANCELLATION), None)
    if cancellation is None:
        return
    for mail in mails:
        if mail.order > cancellation.order and mail.kind != CANCELLATION:
            report.after_cancel.append(Finding(booking.id, mail.kind, f"{mail.message_id} arrived (#{mail.order}, "
                                               f"t={mail.at:.1f}s) after the cancellation {cancellation.message_id} "
                                               f"(#{cancellation.order}, t={cancellation.at:.1f}s); "
                                               f"final status {booking.status}"))


def _unwarranted(report: Report, booking: FinalBooking, mails: list[Received]) -> None:
    due_kinds = set(INVITATIONS) | {CANCELLATION, AFTERCARE}
    for mail in mails:
        if mail.kind == CANCELLATION and booking.status != "cancelled":
            why = f"a cancellation, but the booking ended {booking.status}"
        elif mail.kind == AFTERCARE and booking.status != "completed":
            why = f"aftercare, but the booking ended {booking.status}"
        elif mail.kind not in due_kinds:
            why = "not due during the run"
        else:
            continue
        report.unwarranted.append(Finding(booking.id, mail.kind, f"{why} ({mail.message_id}, #{mail.order})"))
