"""Table definitions on one MetaData (the migrations create them; the app never does)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from clinic_shared.db import UTCDateTime
from clinic_shared.erasure import erased_clients_table
from clinic_shared.heartbeat import heartbeat_table
from clinic_shared.inbox import inbox_table
from clinic_shared.outbox import outbox_table


@dataclass(frozen=True)
class Tables:
    metadata: MetaData
    notifications: Table
    bookings: Table
    outbox: Table
    inbox: Table
    heartbeat: Table
    erased_clients: Table  # their tokens stop working here; their later events are dropped


def notifications_table(metadata: MetaData) -> Table:
    return Table(
        "notifications", metadata,
        Column("id", String(36), primary_key=True),
        # The fact a message comes from: (source, kind, occasion) is unique, so a fact that is
        # reported twice (a redelivered or repeated event) never schedules a message twice.
        Column("source", String(120), nullable=False),  # "booking:<id>" or "screening:<id>"
        Column("kind", String(40), nullable=False),
        Column("occasion", String(120), nullable=False),
        Column("booking_id", String(64), nullable=True, index=True),
        Column("client_id", String(64), nullable=False, index=True),
        Column("to_address", String(320), nullable=False),
        Column("to_name", String(200), nullable=False),
        Column("subject", String(300), nullable=False),
        Column("body_text", Text, nullable=False),
        Column("calendar", Text, nullable=True),  # the .ics attachment, when there is one
        Column("send_at", UTCDateTime(), nullable=False),  # when it is due
        Column("not_before", UTCDateTime(), nullable=False),  # next attempt (send_at, or later after a failure)
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("lease_expires_at", UTCDateTime(), nullable=True),  # while `sending`
        Column("sent_at", UTCDateTime(), nullable=True),
        Column("last_error", Text, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        UniqueConstraint("source", "kind", "occasion", name="uq_notifications_source_kind_occasion"),
        Index("ix_notifications_status_not_before", "status", "not_before"),
    )


def bookings_table(metadata: MetaData) -> Table:
    """What this service knows of each booking, kept from booking events (never from the booking db)."""
    return Table(
        "bookings", metadata,
        Column("booking_id", String(64), primary_key=True),
        Column("client_id", String(64), nullable=False, index=True),
        Column("type", String(20), nullable=False),
        Column("status", String(20), nullable=False),
        Column("start", UTCDateTime(), nullable=False),
        Column("end", UTCDateTime(), nullable=False),
        Column("calendar_sequence", Integer, nullable=False, default=0),
        # The newest booking version applied (`data.version` of its events); None while only
        # events without a version were applied. Older and equal versions are old news.
        Column("version", Integer, nullable=True),
        Column("updated_at", UTCDateTime(), nullable=False),
    )


def make_tables() -> Tables:
    metadata = MetaData()
    return Tables(metadata=metadata, notifications=notifications_table(metadata),
                  bookings=bookings_table(metadata), outbox=outbox_table(metadata), inbox=inbox_table(metadata),
                  heartbeat=heartbeat_table(metadata), erased_clients=erased_clients_table(metadata))
