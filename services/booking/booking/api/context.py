"""What the views need from the composition root, kept on the app by `create_app`."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from sqlalchemy.engine import Engine

from clinic_shared.auth import Principal, TokenAuthority
from clinic_shared.errors import ApiError

from ..operations import Scheduler
from ..settings import BookingSettings
from ..waitlist_operations import Waitlist

EXTENSION = "booking"


@dataclass(frozen=True)
class BookingContext:
    settings: BookingSettings
    scheduler: Scheduler
    tokens: TokenAuthority
    engine: Engine
    waitlist: Waitlist


def context() -> BookingContext:
    return current_app.extensions[EXTENSION]


def scheduler() -> Scheduler:
    return context().scheduler


def waitlist() -> Waitlist:
    return context().waitlist


def client_filter(principal: Principal) -> str | None:
    """The client whose data a principal may see; None for staff (everything)."""
    return None if principal.is_staff else principal.client_id


def require_principal(booking_scope: bool = False) -> Principal:
    """The owner or staff whose role may handle bookings (every role may: clinic_shared.roles)."""
    principal = context().tokens.require_principal(request, booking_scope)
    if principal.is_staff and not principal.may("bookings"):
        raise ApiError(403, "forbidden", "This role may not handle bookings.")
    return principal


def require_principal_or_booking_token() -> Principal:
    """As `require_principal`, and a booking token too (the manage link): the view keeps it to its booking."""
    return require_principal(booking_scope=True)


def in_scope(principal: Principal, booking_id: str) -> str:
    """The booking id, if a booking token's scope covers it; another booking is 404, like another
    client's (a token for one booking says nothing about the others)."""
    if not principal.may_see_booking(booking_id):
        raise ApiError(404, "not_found", "No such booking.")
    return booking_id


def require_client() -> Principal:
    return context().tokens.require_client(request)


def require_staff() -> Principal:
    """Staff whose role may handle bookings."""
    return context().tokens.require_staff(request, "bookings")


def require_closures_staff() -> Principal:
    return context().tokens.require_staff(request, "closures")
