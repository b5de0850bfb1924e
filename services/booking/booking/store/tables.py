"""Tables of the booking service (created by the Alembic migrations, never by the app)."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table, Text

from clinic_shared.db import UTCDateTime
from clinic_shared.erasure import erased_clients_table
from clinic_shared.heartbeat import heartbeat_table
from clinic_shared.inbox import inbox_table
from clinic_shared.outbox import outbox_table

metadata = MetaData()

# What booking knows of a screening: its outcome and the client's contact, never the answers.
screenings = Table(
    "screenings", metadata,
    Column("id", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("client_name", String(200), nullable=False),
    Column("client_email", String(320), nullable=False),
    Column("client_phone", String(64), nullable=True),
    Column("areas", JSON, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=False),
    # Set once staff clearance is known, so a late `screening.completed` cannot undo it.
    Column("cleared", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

courses = Table(
    "courses", metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("screening_id", String(64), nullable=False),
    Column("areas", JSON, nullable=False),
    Column("sessions", Integer, nullable=False),
    Column("interval_weeks", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

bookings = Table(
    "bookings", metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(16), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("areas", JSON, nullable=False),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    # end + turnover as it was when booked: the range PostgreSQL's exclusion constraint compares.
    Column("blocked_until", UTCDateTime(), nullable=False),
    Column("practitioner_id", String(100), nullable=False),
    # Kept with the booking so it still names its practitioner if the configured list changes.
    Column("practitioner_name", String(200), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("screening_id", String(64), nullable=False),
    Column("course_id", String(36), ForeignKey("courses.id"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("cancelled_at", UTCDateTime(), nullable=True),
    Column("cancel_reason", Text, nullable=True),
    Column("completed_at", UTCDateTime(), nullable=True),
    # Raised by every change (1 when booked); events carry it as `data.version` so consumers can skip stale ones.
    Column("version", Integer, nullable=False, server_default="1"),
    Index("ix_bookings_client_start", "client_id", "start_at"),
    Index("ix_bookings_practitioner_start", "practitioner_id", "start_at"),
    Index("ix_bookings_start", "start_at"),
)

# One row per (client, Idempotency-Key): a repeated POST finds its booking here.
idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("booking_id", String(36), ForeignKey("bookings.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

closures = Table(
    "closures", metadata,
    Column("date", Date, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

erased_clients = erased_clients_table(metadata)  # their tokens stop working here; their late events are dropped

# Clients waiting for a full day (booking README "Waitlist"). An offered entry holds its offer's time: a
# practitioner from offer_start until offer_blocked_until (end + turnover), until expires_at.
waitlist = Table(
    "waitlist", metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("screening_id", String(64), nullable=False),
    Column("type", String(16), nullable=False),
    Column("areas", JSON, nullable=False),
    Column("date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("offer_start", UTCDateTime(), nullable=True),
    Column("offer_end", UTCDateTime(), nullable=True),
    Column("offer_blocked_until", UTCDateTime(), nullable=True),
    Column("offer_practitioner_id", String(100), nullable=True),
    Column("offered_at", UTCDateTime(), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("booking_id", String(36), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_waitlist_date_status_created", "date", "status", "created_at"),
    Index("ix_waitlist_client_date", "client_id", "date"),
    Index("ix_waitlist_status_expires", "status", "expires_at"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
heartbeat = heartbeat_table(metadata)
