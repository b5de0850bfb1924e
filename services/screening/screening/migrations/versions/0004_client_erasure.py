"""A client's data (issue #10): the erasure record and each service's report, the erased clients (whose
tokens no longer work), each client's last activity (filled from the screenings made so far) and the daily
retention job's schedule.

Revision ID: 0004
Revises: 0003
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from clinic_shared.db import UTCDateTime
from clinic_shared.migrations import create_erased_clients_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "erasure_reports",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("service", sa.String(30), primary_key=True),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "client_activity",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("last_active_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_client_activity_last_active_at", "client_activity", ["last_active_at"])
    op.execute("INSERT INTO client_activity (client_id, last_active_at) "
               "SELECT client_id, MAX(created_at) FROM screenings GROUP BY client_id")
    jobs = op.create_table(
        "daily_jobs",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
    )
    # Due at once: the first worker to start runs it; seeded here so replicas never race to create the row.
    op.bulk_insert(jobs, [{"name": "retention", "next_run_at": datetime(2000, 1, 1, tzinfo=timezone.utc)}])
    create_erased_clients_table(op)


def downgrade() -> None:
    for table in ("erased_clients", "daily_jobs", "client_activity", "erasure_reports", "erasures"):
        op.drop_table(table)
