"""Handlers of consumed events: each runs inside the inbox transaction (clinic_shared.inbox),
turns the event into scheduled, moved or cancelled messages, and never commits or sends itself.

Booking events may arrive late, twice or out of order: each handler first asks `ordering.is_news`
(the booking's version against the newest one applied, and nothing after a cancellation) and
acknowledges old news without effect."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Callable

from sqlalchemy.orm import Session

from clinic_shared.auth import TokenAuthority
from clinic_shared.datetimes import parse_aware

from .client_data import client_erased, erase_client
from .delivery import sender_domain
from .domain import schedule
from .domain.calendar import CalendarEvent, build_ics
from .domain.kinds import (AFTERCARE, APPOINTMENT_REMINDER, CANCELLATION, CONSULTATION_CONFIRMATION,
                           PRE_TREATMENT, SCREENING_RESULT, SIGN_IN_LINK, WAITLIST_OFFER)
from .domain.ordering import CANCELLED, COMPLETED, CONFIRMED, Known, calendar_sequence, is_news
from .domain.rendering import (AppointmentFacts, OfferFacts, Rendered, Sender, appointment_texts, manage_url,
                               render_screening_result, render_sign_in_link, render_waitlist_offer)
from .settings import NotificationSettings
from .store.repository import NewMessage, Repository

CONFIRMATION_OCCASION = "confirmed"  # the occasion of every message a confirmation plans
INVITATION_KINDS = (PRE_TREATMENT, CONSULTATION_CONFIRMATION)
MOOT_ONCE_HELD = (APPOINTMENT_REMINDER, *INVITATION_KINDS)  # what prepares for a session that took place


@dataclass(frozen=True)
class Booking:
    """A booking event's data, parsed."""

    data: dict

    @property
    def id(self) -> str:
        return self.data["booking_id"]

    @property
    def source(self) -> str:
        return f"booking:{self.id}"

    @property
    def type(self) -> str:
        return self.data["type"]

    @cached_property
    def start(self) -> datetime:
        return parse_aware(self.data["start"])

    @cached_property
    def end(self) -> datetime:
        return parse_aware(self.data["end"])

    @property
    def client(self) -> dict:
        return self.data["client"]

    @property
    def version(self) -> int | None:
        """The booking's version after this change; None on events published before versions existed."""
        return self.data.get("version")


class EventHandlers:
    def __init__(self, settings: NotificationSettings, repository: Repository, clock: Callable[[], datetime]):
        self.settings = settings
        self.repo = repository
        self.tables = repository.tables
        self.clock = clock
        self.sender = Sender(settings.clinic_name, settings.reply_to)
        # Signs the booking tokens of the manage links (the same secret every service checks them with).
        self.tokens = TokenAuthority(settings.secret_key, settings.staff_token, settings.client_token_ttl_seconds)
        # One booking and end always give the same token: signed once for the several messages of an event.
        self._booking_token = lru_cache(maxsize=256)(self.tokens.issue_booking_token)

    def as_dict(self) -> dict:
        about_a_client = {
            "booking.confirmed": self.booking_confirmed,
            "booking.cancelled": self.booking_cancelled,
            "booking.rescheduled": self.booking_rescheduled,
            "booking.completed": self.booking_completed,
            "screening.completed": self.screening_result,
            "screening.cleared": self.screening_result,
            "waitlist.offered": self.waitlist_offer,
            "client.sign_in_requested": self.sign_in_requested,
        }
        return {**{event: self._unless_erased(handler) for event, handler in about_a_client.items()},
                "client.erasure_requested": self.erasure_requested}

    def _unless_erased(self, handler):
        """An event about an erased client (late, or from a producer that had not heard yet) makes nothing:
        no message is ever made for them again."""
        def handle(session: Session, data: dict, envelope: dict) -> None:
            if not client_erased(session, self.tables, data["client_id"]):
                handler(session, data, envelope)
        return handle

    def erasure_requested(self, session: Session, data: dict, envelope: dict) -> None:
        erase_client(session, self.tables, data["client_id"], now=self.clock(),
                     correlation_id=envelope.get("correlation_id"))

    # --- booking events -----------------------------------------------------------------------

    def booking_confirmed(self, session: Session, data: dict, envelope: dict) -> None:
        booking, now = Booking(data), self.clock()
        sequence = self._apply(session, booking, CONFIRMED, now, lambda known: known or 0)
        if sequence is None:
            return  # a later change, a cancellation or a completion overtook it: it planned what is left
        texts = self._texts(booking)
        self.repo.schedule_all(session, [
            self._message(booking, planned.kind, CONFIRMATION_OCCASION, planned.send_at, now, sequence, texts=texts)
            for planned in schedule.confirmation_plan(booking.type, booking.start, booking.end, now, self.settings)
        ], now)

    def booking_cancelled(self, session: Session, data: dict, envelope: dict) -> None:
        booking, now = Booking(data), self.clock()
        sequence = self._apply(session, booking, CANCELLED, now, lambda known: (known or 0) + 1)
        if sequence is None:
            return  # cancelled already (its cancellation is scheduled), or a late copy
        unsent = self.repo.scheduled_of_booking(session, booking.id)
        self.repo.cancel(session, [row.id for row in unsent], "the booking was cancelled", now)
        self._schedule(session, booking, CANCELLATION, "cancelled", now, now, sequence,
                       cancel_reason=data.get("reason"))

    def booking_rescheduled(self, session: Session, data: dict, envelope: dict) -> None:
        booking, now = Booking(data), self.clock()
        sequence = self._apply(session, booking, CONFIRMED, now, lambda known: 0 if known is None else known + 1)
        if sequence is None:
            return  # a later time, a cancellation or a completion is known already
        occasion = f"rescheduled:{envelope['event_id']}"
        due = {p.kind: p.send_at for p in schedule.timed_messages(booking.type, booking.start, booking.end,
                                                                    now, self.settings)}
        already_planned = set()
        for row in self.repo.scheduled_of_booking(session, booking.id):
            if row.kind in due:
                self.repo.move(session, row.id, due[row.kind], now, self._render(row.kind, booking))
                already_planned.add(row.kind)
            else:  # an unsent invitation with the old time, or a reminder now less than a day ahead
                self.repo.cancel(session, [row.id], "the booking was rescheduled", now)
        for kind, send_at in due.items():
            if kind not in already_planned:
                self._schedule(session, booking, kind, occasion, send_at, now, sequence)
        self._schedule(session, booking, schedule.confirmation_kind(booking.type), occasion, now, now, sequence)

    def booking_completed(self, session: Session, data: dict, envelope: dict) -> None:
        booking, now = Booking(data), self.clock()
        if self._apply(session, booking, COMPLETED, now) is None:
            return
        completed_at = parse_aware(data["completed_at"])
        unsent = {row.kind: row for row in self.repo.scheduled_of_booking(session, booking.id)}
        # The session took place: an unsent reminder or invitation for it would only confuse.
        self.repo.cancel(session, [row.id for row in unsent.values() if row.kind in MOOT_ONCE_HELD],
                         "the session took place", now)
        # Aftercare is due at the end of the session as the event states it (not as a row we may
        # have planned from an older time), or at once if the session ended early.
        timed = {p.kind: p.send_at for p in schedule.timed_messages(booking.type, booking.start, booking.end,
                                                                      now, self.settings)}
        follow_ups = schedule.completion_times(completed_at, timed.get(AFTERCARE), self.settings)
        ever_planned = self.repo.kinds_of_booking(session, booking.id)
        for kind, send_at in follow_ups.items():
            if kind in unsent:
                self.repo.move(session, unsent[kind].id, send_at, now, self._render(kind, booking))
            elif kind not in ever_planned:  # the confirmation never reached us: plan them now
                self._schedule(session, booking, kind, CONFIRMATION_OCCASION, send_at, now, 0)

    # --- screening events ---------------------------------------------------------------------

    def screening_result(self, session: Session, data: dict, envelope: dict) -> None:
        """Either version of the event: the outcome only, whatever else a version 1 event carried."""
        if not schedule.screening_sends_result(data["outcome"]):
            return
        now = self.clock()
        rendered = render_screening_result(data["outcome"], data["client"]["name"], self.sender,
                                           page_url=f"{self.settings.public_url}/")
        self.repo.schedule(session, source=f"screening:{data['screening_id']}", kind=SCREENING_RESULT,
                           occasion=f"{envelope['type']}:{data['outcome']}", send_at=now,
                           client_id=data["client_id"], to_address=data["client"]["email"],
                           to_name=data["client"]["name"], rendered=rendered, now=now)

    # --- sign-in ------------------------------------------------------------------------------

    def sign_in_requested(self, session: Session, data: dict, envelope: dict) -> None:
        """A client asked for a sign-in link: it goes out at once, once per request (however often the
        event arrives). A link already expired when the event arrives is not sent: it would not work."""
        now = self.clock()
        expires_at = parse_aware(data["expires_at"])
        if expires_at <= now:
            return
        rendered = render_sign_in_link(data["client"]["name"], f"{self.settings.public_url}/#code={data['code']}",
                                       expires_at, self.settings.tz, self.sender)
        self.repo.schedule(session, source=f"sign_in:{data['request_id']}", kind=SIGN_IN_LINK, occasion="requested",
                           send_at=now, client_id=data["client_id"], to_address=data["client"]["email"],
                           to_name=data["client"]["name"], rendered=rendered, now=now)

    # --- waitlist events ----------------------------------------------------------------------

    def waitlist_offer(self, session: Session, data: dict, envelope: dict) -> None:
        """Time held for a waiting client: the slot, how long it is held, the link to book it. An entry is
        offered once (an offer not taken ends it), so the entry is the message's source."""
        now = self.clock()
        facts = OfferFacts(
            booking_type=data["type"], area_names=tuple(self.settings.area_name(a) for a in data["areas"]),
            start=parse_aware(data["start"]), end=parse_aware(data["end"]),
            expires_at=parse_aware(data["expires_at"]), hold_minutes=data["hold_minutes"],
            client_name=data["client"]["name"],
            book_url=f"{self.settings.public_url}/#waitlist={data['entry_id']}")
        self.repo.schedule(session, source=f"waitlist:{data['entry_id']}", kind=WAITLIST_OFFER,
                           occasion=f"offered:{data['start']}", send_at=now, client_id=data["client_id"],
                           to_address=data["client"]["email"], to_name=data["client"]["name"],
                           rendered=render_waitlist_offer(facts, self.settings.tz, self.sender), now=now)

    # --- helpers ------------------------------------------------------------------------------

    def _apply(self, session: Session, booking: Booking, status: str, now: datetime,
               next_sequence: Callable[[int | None], int] | None = None) -> int | None:
        """Lock the booking's projection (events of one booking apply one at a time, in whatever order they
        come) and, if the event is news (`ordering.is_news`), project it: `status`, the event's version and,
        with `next_sequence` (the calendar SEQUENCE by arrival, from the known one or None), the new SEQUENCE.
        The SEQUENCE the event's messages carry, or None for old news. The first event of a booking makes its
        row already projected: one statement, not an INSERT and an UPDATE."""
        def sequence_after(known_sequence: int | None) -> int:
            if next_sequence is None:  # the event does not change the calendar
                return known_sequence or 0
            return calendar_sequence(next_sequence(known_sequence), booking.version)

        first_sequence = sequence_after(None)
        known = self.repo.lock_booking(session, booking.id, now, status=status, calendar_sequence=first_sequence,
                                       version=booking.version, client_id=booking.data["client_id"],
                                       type=booking.type, start=booking.start, end=booking.end)
        if known is None:
            return first_sequence
        if not is_news(booking.version, Known(known.status, known.version)):
            return None
        sequence = sequence_after(known.calendar_sequence)
        values = {"status": status, "calendar_sequence": sequence, "client_id": booking.data["client_id"],
                  "type": booking.type, "start": booking.start, "end": booking.end}
        if booking.version is not None:  # an event without one leaves the newest known version alone
            values["version"] = booking.version
        self.repo.save_booking(session, booking.id, now, **values)
        return sequence

    def _facts(self, booking: Booking) -> AppointmentFacts:
        return AppointmentFacts(
            booking_type=booking.type, reference=booking.data["reference"],
            area_names=tuple(self.settings.area_name(a) for a in booking.data["areas"]),
            start=booking.start, end=booking.end, practitioner=booking.data["practitioner"]["name"],
            client_name=booking.client["name"])

    def _manage_link(self, booking: Booking) -> str:
        """The booking page on this booking, with a token for it alone that lasts until the booking ends."""
        token = self._booking_token(booking.data["client_id"], booking.id, until=booking.end)
        return manage_url(self.settings.public_url, token)

    def _render(self, kind: str, booking: Booking, cancel_reason: str | None = None):
        return self._texts(booking, cancel_reason)(kind)

    def _texts(self, booking: Booking, cancel_reason: str | None = None) -> Callable[[str], Rendered]:
        """The booking's messages by kind (`rendering.appointment_texts`): one event's several messages share
        their values."""
        return appointment_texts(self._facts(booking), self.settings.tz, self.sender, self._manage_link(booking),
                                 cancel_reason)

    def _calendar(self, booking: Booking, sequence: int, now: datetime, cancel: bool) -> str:
        facts = self._facts(booking)
        what = "Consultation" if booking.type == "consultation" else f"Micro needling ({', '.join(facts.area_names)})"
        return build_ics(CalendarEvent(
            booking_id=booking.id, sequence=sequence, start=booking.start, end=booking.end,
            summary=f"{what} at {self.settings.clinic_name}",
            description=f"Reference {facts.reference}, with {facts.practitioner}. "
                        f"Please arrive 10 minutes early.",
            location=self.settings.clinic_name,
            organizer_name=self.settings.clinic_name, organizer_email=self.settings.from_address,
            attendee_name=facts.client_name, attendee_email=booking.client["email"],
            uid_domain=sender_domain(self.settings), timezone=self.settings.tz,
        ), stamp=now, cancel=cancel)

    def _message(self, booking: Booking, kind: str, occasion: str, send_at: datetime, now: datetime, sequence: int,
                 cancel_reason: str | None = None, texts: Callable[[str], Rendered] | None = None) -> NewMessage:
        """The message of `kind`; `texts` (`_texts` of the same booking and reason) when an event makes several."""
        texts = texts or self._texts(booking, cancel_reason)
        calendar = None
        if kind in INVITATION_KINDS or kind == CANCELLATION:
            calendar = self._calendar(booking, sequence, now, cancel=kind == CANCELLATION)
        return NewMessage(source=booking.source, kind=kind, occasion=occasion, send_at=send_at,
                          booking_id=booking.id, client_id=booking.data["client_id"],
                          to_address=booking.client["email"], to_name=booking.client["name"],
                          rendered=texts(kind), calendar=calendar)

    def _schedule(self, session: Session, booking: Booking, kind: str, occasion: str, send_at: datetime,
                  now: datetime, sequence: int, cancel_reason: str | None = None) -> None:
        self.repo.schedule_all(session, [self._message(booking, kind, occasion, send_at, now, sequence,
                                                       cancel_reason)], now)
