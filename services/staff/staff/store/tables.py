"""Tables of the staff database, on one MetaData (the migrations create them, never the app)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table

from clinic_shared.db import UTCDateTime
from clinic_shared.heartbeat import heartbeat_table
from clinic_shared.inbox import inbox_table
from clinic_shared.outbox import outbox_table

metadata = MetaData()

# The trail only grows: 64 bits on PostgreSQL; SQLite's rowid is 64 bits already (and only INTEGER is it).
SEQUENCE_NUMBER = BigInteger().with_variant(Integer, "sqlite")

members = Table(
    "members", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-case
    Column("role", String(20), nullable=False),
    Column("practitioner_id", String(100), nullable=True),
    Column("password_hash", String(200), nullable=False),  # argon2id; never leaves this service
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_digest", String(64), primary_key=True),  # SHA-256 of the token; the token is not kept
    Column("member_id", String(36), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
)

failed_sign_ins = Table(
    "failed_sign_ins", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)
Index("ix_failed_sign_ins_email_at", failed_sign_ins.c.email, failed_sign_ins.c.at)

# Append-only: rows are inserted (once per event id) and never updated or deleted.
audit_entries = Table(
    "audit_entries", metadata,
    Column("seq", SEQUENCE_NUMBER, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),  # the event id: a redelivery adds nothing
    Column("at", UTCDateTime(), nullable=False),
    Column("actor_id", String(36), nullable=True),
    Column("actor_name", String(200), nullable=False),
    Column("actor_role", String(20), nullable=True),
    Column("action", String(50), nullable=False),
    Column("resource_type", String(50), nullable=False),
    Column("resource_id", String(100), nullable=True),
    Column("request_id", String(100), nullable=True),
)
Index("ix_audit_entries_at_seq", audit_entries.c.at, audit_entries.c.seq)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
heartbeat = heartbeat_table(metadata)
