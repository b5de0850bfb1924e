"""Screenings projection, bookings, courses, closures, idempotency keys, outbox and inbox.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from clinic_shared.db import UTCDateTime
from clinic_shared.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screenings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("client_name", sa.String(200), nullable=False),
        sa.Column("client_email", sa.String(320), nullable=False),
        sa.Column("client_phone", sa.String(64), nullable=True),
        sa.Column("areas", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("cleared", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_screenings_client_id", "screenings", ["client_id"])
    op.create_table(
        "courses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("screening_id", sa.String(64), nullable=False),
        sa.Column("areas", sa.JSON, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.Column("interval_weeks", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_courses_client_id", "courses", ["client_id"])
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("areas", sa.JSON, nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("blocked_until", UTCDateTime(), nullable=False),
        sa.Column("practitioner_id", sa.String(100), nullable=False),
        sa.Column("practitioner_name", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("screening_id", sa.String(64), nullable=False),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_bookings_client_start", "bookings", ["client_id", "start_at"])
    op.create_index("ix_bookings_practitioner_start", "bookings", ["practitioner_id", "start_at"])
    op.create_index("ix_bookings_start", "bookings", ["start_at"])
    if op.get_bind().dialect.name == "postgresql":
        # No double booking, ever: two confirmed bookings of one practitioner may not overlap,
        # turnover included. (SQLite gets the same guarantee from BEGIN IMMEDIATE before the check.)
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist "
            "(practitioner_id WITH =, tstzrange(start_at, blocked_until, '[)') WITH &&) "
            "WHERE (status = 'confirmed')")
    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("booking_id", sa.String(36), sa.ForeignKey("bookings.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "closures",
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    create_messaging_tables(op)


def downgrade() -> None:
    for table in ("inbox", "outbox", "closures", "idempotency_keys", "bookings", "courses", "screenings"):
        op.drop_table(table)
