"""The notifications service's settings: the shared ones plus the timings of CLINIC.md "Messages".

Every timing is a default held here and overridable per deployment from the environment
(`CLINIC_NOTIFICATIONS_<NAME>`), so another clinic changes a number, not a function.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Mapping

from clinic_shared.catalog import DEFAULT_AREAS, load_areas
from clinic_shared.settings import DEFAULT_SERVICE_PORTS, Settings, load_settings as load_shared_settings

DEFAULT_AREA_NAMES = {area.id: area.name for area in DEFAULT_AREAS}


@dataclass(frozen=True)
class NotificationSettings(Settings):
    # When each message is due (CLINIC.md "Messages").
    reminder_before: timedelta = timedelta(hours=24)
    aftercare_after_end: timedelta = timedelta(0)
    check_in_after_end: timedelta = timedelta(hours=48)
    next_session_after_end: timedelta = timedelta(weeks=6)
    # Who the e-mails come from.
    clinic_name: str = "IK Clinics"
    from_address: str = "bookings@ikclinics.example"
    reply_to: str = "hello@ikclinics.example"
    # Where clients reach the gateway (CLINIC_PUBLIC_URL): links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8080"
    # Delivery: a mail server that is down is retried with exponential backoff until `delivery_give_up`
    # after the message was due, then it is `failed`; a lease covers the one message a dispatcher is
    # sending, so one that died mid-send is taken over; a whole SMTP session takes at most twice the
    # SMTP timeout, well inside the lease.
    delivery_give_up: timedelta = timedelta(hours=24)
    retry_backoff: timedelta = timedelta(minutes=1)
    retry_backoff_max: timedelta = timedelta(hours=1)
    sending_lease: timedelta = timedelta(minutes=5)
    dispatch_batch_size: int = 50  # messages one dispatcher tick sends, one claim each, before it yields
    # Messages a dispatcher has with the mail server at once: a send mostly waits on the server's replies,
    # so one at a time fell behind a busy day (the bench's e-mails lagged by seconds).
    dispatch_threads: int = 4
    smtp_timeout_seconds: float = 30.0
    area_names: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_AREA_NAMES))

    @property
    def outbox_dir(self):
        return self.data_dir / "outbox"

    def area_name(self, area_id: str) -> str:
        return self.area_names.get(area_id, area_id.replace("_", " ").capitalize())


# environment suffix -> (field, parser)
_HOURS = lambda v: timedelta(hours=float(v))  # noqa: E731
_MINUTES = lambda v: timedelta(minutes=float(v))  # noqa: E731
_SECONDS = lambda v: timedelta(seconds=float(v))  # noqa: E731
ENVIRONMENT = {
    "REMINDER_BEFORE_HOURS": ("reminder_before", _HOURS),
    "AFTERCARE_AFTER_END_MINUTES": ("aftercare_after_end", _MINUTES),
    "CHECK_IN_AFTER_END_HOURS": ("check_in_after_end", _HOURS),
    "NEXT_SESSION_AFTER_END_DAYS": ("next_session_after_end", lambda v: timedelta(days=float(v))),
    "CLINIC_NAME": ("clinic_name", str),
    "FROM_ADDRESS": ("from_address", str),
    "REPLY_TO": ("reply_to", str),
    "RETRY_BACKOFF_SECONDS": ("retry_backoff", _SECONDS),
    "RETRY_BACKOFF_MAX_SECONDS": ("retry_backoff_max", _SECONDS),
    "SENDING_LEASE_SECONDS": ("sending_lease", _SECONDS),
    "SMTP_TIMEOUT_SECONDS": ("smtp_timeout_seconds", float),
    "DISPATCH_THREADS": ("dispatch_threads", lambda v: _at_least_one("CLINIC_NOTIFICATIONS_DISPATCH_THREADS", v)),
}
def _at_least_one(variable: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{variable} must be a whole number, 1 or more, not {text!r}")
    return value


# Named without the service prefix in the handout: (environment variable, field, parser).
UNPREFIXED = [("CLINIC_DELIVERY_GIVE_UP_HOURS", "delivery_give_up", _HOURS)]


def load_settings(environ: Mapping[str, str] | None = None) -> NotificationSettings:
    env = os.environ if environ is None else environ
    shared = load_shared_settings("notifications", env)
    values = {f.name: getattr(shared, f.name) for f in fields(Settings)}
    values["area_names"] = {area.id: area.name for area in load_areas(env)}
    gateway_port = env.get("CLINIC_PORT") or DEFAULT_SERVICE_PORTS["gateway"]
    values["public_url"] = (env.get("CLINIC_PUBLIC_URL") or f"http://127.0.0.1:{gateway_port}").rstrip("/")
    named = [(f"CLINIC_NOTIFICATIONS_{suffix}", name, parse) for suffix, (name, parse) in ENVIRONMENT.items()]
    for variable, name, parse in named + UNPREFIXED:
        raw = env.get(variable)
        if raw:
            values[name] = parse(raw)
    settings = NotificationSettings(**values)
    if timedelta(seconds=2 * settings.smtp_timeout_seconds) >= settings.sending_lease:
        raise ValueError("CLINIC_NOTIFICATIONS_SENDING_LEASE_SECONDS must be more than twice the SMTP timeout: "
                         "a send that outlives its lease can be sent again by another dispatcher")
    return settings
