"""The waitlist: clients waiting for a full day, and the offers that hold freed time for them.

At most one waiting or offered entry per client and date: a partial unique index, so two requests of one
client at once cannot both add one (SQLite and PostgreSQL both have partial indexes).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from clinic_shared.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('waiting', 'offered')")


def upgrade() -> None:
    op.create_table(
        "waitlist",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("screening_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("areas", sa.JSON, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("offer_start", UTCDateTime(), nullable=True),
        sa.Column("offer_end", UTCDateTime(), nullable=True),
        sa.Column("offer_blocked_until", UTCDateTime(), nullable=True),
        sa.Column("offer_practitioner_id", sa.String(100), nullable=True),
        sa.Column("offered_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_waitlist_date_status_created", "waitlist", ["date", "status", "created_at"])
    op.create_index("ix_waitlist_client_date", "waitlist", ["client_id", "date"])
    op.create_index("ix_waitlist_status_expires", "waitlist", ["status", "expires_at"])
    op.create_index("uq_waitlist_active_client_date", "waitlist", ["client_id", "date"], unique=True,
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)


def downgrade() -> None:
    op.drop_table("waitlist")
