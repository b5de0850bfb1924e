"""The screenings table, and the outbox and inbox of the messaging library.

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
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("client_name", sa.String(200), nullable=False),
        sa.Column("client_email", sa.String(320), nullable=False),
        sa.Column("client_phone", sa.String(40), nullable=True),
        sa.Column("areas", sa.JSON, nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("rules_version", sa.String(50), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("clearance_decision", sa.String(20), nullable=True),
        sa.Column("clearance_note", sa.Text, nullable=True),
        sa.Column("cleared_by", sa.String(50), nullable=True),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_screenings_client_id", "screenings", ["client_id"])
    op.create_index("ix_screenings_outcome_created_at", "screenings", ["outcome", "created_at"])
    create_messaging_tables(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
    op.drop_index("ix_screenings_outcome_created_at", table_name="screenings")
    op.drop_index("ix_screenings_client_id", table_name="screenings")
    op.drop_table("screenings")
