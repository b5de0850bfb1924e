"""Turning a stored message into an e-mail and handing it over: SMTP, or an `.eml` file.

SMTP when CLINIC_SMTP_URL is set (`smtp://host:port`, `smtp://user:pass@host:port`, `smtps://…`,
`?starttls=1`); otherwise each message is written atomically to `<data dir>/outbox/<id>.eml`.
"""
from __future__ import annotations

import heapq
import itertools
import os
import re
import smtplib
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from . import email_bytes
from .settings import NotificationSettings


def message_id(notification_id: str, domain: str) -> str:
    """Derived from the notification id, so a rare resend of one message is recognisable as such."""
    return f"<{notification_id}@{domain}>"  # short enough never to be folded


def sender_domain(settings: NotificationSettings) -> str:
    return settings.from_address.rpartition("@")[2] or "clinic.invalid"


@dataclass(frozen=True)
class OutgoingEmail:
    """A message ready to go: its envelope and its bytes as SMTP sends them (CRLF lines)."""

    sender: str
    recipient: str
    data: bytes

    def as_bytes(self) -> bytes:
        """As `EmailMessage.as_bytes()` writes it: LF lines, a file's convention (the .eml outbox)."""
        return self.data.replace(b"\r\n", b"\n")


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


def build_email(row, settings: NotificationSettings, now: datetime) -> OutgoingEmail | EmailMessage:
    """The e-mail of a stored message. Written straight to bytes (`email_bytes`: the same bytes, far less CPU);
    an address that is not plain ASCII takes `EmailMessage`, which smtplib sends with SMTPUTF8."""
    if not (_PLAIN_ADDRESS.fullmatch(row.to_address) and _PLAIN_ADDRESS.fullmatch(settings.from_address)):
        return build_email_message(row, settings, now)
    headers = "".join((
        _constant_header("From", formataddr((settings.clinic_name, settings.from_address))),
        email_bytes.header("To", formataddr((row.to_name, row.to_address))),
        _constant_header("Reply-To", settings.reply_to),
        email_bytes.header("Subject", row.subject),
        email_bytes.header("Date", format_datetime(now)),
        email_bytes.header("Message-ID", message_id(row.id, sender_domain(settings))),
        email_bytes.header("X-Clinic-Notification", f"{row.kind}; id={row.id}"),
    ))
    if row.calendar:
        data = email_bytes.text_email_with_calendar(headers, row.body_text, row.calendar, _calendar_method(row))
    else:
        data = email_bytes.text_email(headers, row.body_text)
    return OutgoingEmail(sender=settings.from_address, recipient=row.to_address, data=data)


@lru_cache(maxsize=16)
def _constant_header(name: str, value: str) -> str:
    """From and Reply-To: the same on every message, folded once (by the policy: they come from settings)."""
    return email_bytes.folded(name, value)


def _calendar_method(row) -> str:
    return "CANCEL" if "\r\nMETHOD:CANCEL\r\n" in row.calendar else "REQUEST"


def build_email_message(row, settings: NotificationSettings, now: datetime) -> EmailMessage:
    """The e-mail as an `EmailMessage`: what `build_email` writes, built by the standard library."""
    message = EmailMessage()
    message["From"] = formataddr((settings.clinic_name, settings.from_address))
    message["To"] = formataddr((row.to_name, row.to_address))
    message["Reply-To"] = settings.reply_to
    message["Subject"] = row.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(row.id, sender_domain(settings))
    message["X-Clinic-Notification"] = f"{row.kind}; id={row.id}"
    message.set_content(row.body_text)
    if row.calendar:
        # As text, so the invitation stays readable in the raw message (and on the wire, CRLF lines).
        message.add_attachment(row.calendar, subtype="calendar", filename="appointment.ics",
                               params={"method": _calendar_method(row)})
    return message


class PermanentDeliveryError(Exception):
    """Retrying cannot help (the server refused the message, its sender or every recipient with a 5xx):
    the message fails at once. Anything else (no connection, a timeout, a 4xx, even a 5xx to our login,
    which is the clinic's configuration and not the message) is retried until the give-up time."""


def refused_for_good(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) and exc.smtp_code >= 500


def _cut(client: smtplib.SMTP) -> None:
    sock = client.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read; smtplib then raises
        except OSError:
            pass


class SessionDeadlines:
    """Cuts each SMTP session still running at its deadline, from one thread for all of them (a timer thread per
    send cost the start of a thread, a large part of a send's CPU). The thread waits for the earliest deadline,
    and ends after IDLE_SECONDS with none pending (the next session starts it again)."""

    IDLE_SECONDS = 60.0

    def __init__(self):
        self._changed = threading.Condition()
        self._pending: list[list] = []  # heap of [deadline, sequence number, client or None once finished]
        self._numbers = itertools.count()
        self._running = False

    def watch(self, client: smtplib.SMTP, seconds: float) -> list:
        """Cut `client` in `seconds` unless `finished` is called first; the handle to pass it."""
        entry = [time.monotonic() + seconds, next(self._numbers), client]
        with self._changed:
            heapq.heappush(self._pending, entry)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="smtp-deadlines", daemon=True).start()
            elif self._pending[0] is entry:  # earlier than what the thread waits for
                self._changed.notify()
        return entry

    def finished(self, entry: list) -> None:
        with self._changed:
            entry[2] = None  # dropped from the heap when it comes to the top

    def _run(self) -> None:
        with self._changed:
            try:
                while True:
                    while self._pending and self._pending[0][2] is None:
                        heapq.heappop(self._pending)
                    if not self._pending:
                        if not self._changed.wait(self.IDLE_SECONDS) and not self._pending:
                            return
                        continue
                    wait = self._pending[0][0] - time.monotonic()
                    if wait > 0:
                        self._changed.wait(wait)
                        continue
                    _cut(heapq.heappop(self._pending)[2])
            finally:
                self._running = False  # however it ends (idle, or a cut that raised): the next session starts it


class SmtpTransport:
    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an SMTP URL: {parts.scheme}://{parts.hostname or ''}")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        self.timeout = timeout
        self._deadlines = SessionDeadlines()

    def send(self, message: OutgoingEmail | EmailMessage, notification_id: str,
             accepted: Callable[[], None] | None = None) -> None:
        """Hand the message over in at most twice `timeout` (connecting, then the whole session), so a
        send always ends inside the dispatcher's lease; `timeout` alone bounds each read, not a slow server.
        `accepted` is called the moment the server has accepted the message, before the session is closed."""
        if self.ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        deadline = self._deadlines.watch(client, self.timeout)
        try:
            with client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                try:
                    if isinstance(message, OutgoingEmail):
                        client.sendmail(message.sender, [message.recipient], message.data)
                    else:
                        client.send_message(message)
                except smtplib.SMTPException as exc:
                    if refused_for_good(exc):
                        raise PermanentDeliveryError(f"{type(exc).__name__}: {exc}") from exc
                    raise
                if accepted is not None:
                    accepted()
        finally:
            self._deadlines.finished(deadline)


class EmlOutbox:
    """Writes each message to `<directory>/<notification id>.eml`, atomically (temp file + rename)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path_for(self, notification_id: str) -> Path:
        return self.directory / f"{notification_id}.eml"

    def send(self, message: OutgoingEmail | EmailMessage, notification_id: str,
             accepted: Callable[[], None] | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{notification_id}.{uuid.uuid4().hex}.tmp"
        try:
            with open(temporary, "wb") as f:
                f.write(message.as_bytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path_for(notification_id))
        finally:
            temporary.unlink(missing_ok=True)
        if accepted is not None:
            accepted()


def make_transport(settings: NotificationSettings):
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url, settings.smtp_timeout_seconds)
    return EmlOutbox(settings.outbox_dir)
