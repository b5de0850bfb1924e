"""Tables of the screening database, on one MetaData (the migrations create them, never the app)."""
from __future__ import annotations

from sqlalchemy import JSON, Column, Index, MetaData, String, Table, Text, func

from clinic_shared.db import UTCDateTime
from clinic_shared.erasure import erased_clients_table
from clinic_shared.heartbeat import heartbeat_table
from clinic_shared.inbox import inbox_table
from clinic_shared.outbox import outbox_table

metadata = MetaData()

screenings = Table(
    "screenings", metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False, index=True),
    # The contact given with this screening: a client may correct it in a later one.
    Column("client_name", String(200), nullable=False),
    Column("client_email", String(320), nullable=False),
    Column("client_phone", String(40), nullable=True),
    Column("areas", JSON, nullable=False),
    Column("answers", JSON, nullable=False),  # health data: never leaves this service
    Column("outcome", String(30), nullable=False),
    Column("reasons", JSON, nullable=False),  # [{"code", "message"}] of every rule that fired
    Column("rules_version", String(50), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=False),
    Column("clearance_decision", String(20), nullable=True),
    Column("clearance_note", Text, nullable=True),
    Column("cleared_by", String(50), nullable=True),
    Column("cleared_at", UTCDateTime(), nullable=True),
)
Index("ix_screenings_outcome_created_at", screenings.c.outcome, screenings.c.created_at)
Index("ix_screenings_email_lower_created_at", func.lower(screenings.c.client_email), screenings.c.created_at)

# One row per sign-in link asked for, known e-mail or not (the same work either way, and the per-e-mail
# limit counts them). Only the code's hash is kept: the table alone opens no one's account.
sign_in_codes = Table(
    "sign_in_codes", metadata,
    Column("code_hash", String(64), primary_key=True),  # sha256 of the code, hex
    Column("email_key", String(64), nullable=False),  # sha256 of the normalised e-mail: no address kept here
    Column("client_id", String(36), nullable=True),  # None: nobody has that e-mail; the code never works
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)
Index("ix_sign_in_codes_email_key_created_at", sign_in_codes.c.email_key, sign_in_codes.c.created_at)
Index("ix_sign_in_codes_expires_at", sign_in_codes.c.expires_at)

# A client's erasure (API.md "A client's data"): this service owns the record, since client ids are made here.
erasures = Table(
    "erasures", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("reason", String(20), nullable=False),  # request (an admin) or retention (the daily job)
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),  # once every service has reported
)

# Each service's report that its part is done (this service's own is written with the request).
erasure_reports = Table(
    "erasure_reports", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("service", String(30), primary_key=True),
    Column("erased_at", UTCDateTime(), nullable=False),
)

# When each client last did something (a screening here, a booking heard of by its events): the retention
# job's measure. Ids and times only.
client_activity = Table(
    "client_activity", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("last_active_at", UTCDateTime(), nullable=False, index=True),
)

# Jobs run once a day whatever the number of workers: the row is claimed (FOR UPDATE SKIP LOCKED) and moved on.
daily_jobs = Table(
    "daily_jobs", metadata,
    Column("name", String(50), primary_key=True),
    Column("next_run_at", UTCDateTime(), nullable=False),
)

erased_clients = erased_clients_table(metadata)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
heartbeat = heartbeat_table(metadata)
