"""Members, sessions, failed sign-ins, the audit trail; the outbox, inbox and worker heartbeat.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from clinic_shared.db import UTCDateTime
from clinic_shared.migrations import create_heartbeat_table, create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("practitioner_id", sa.String(100), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_digest", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sessions_member_id", "sessions", ["member_id"])
    op.create_table(
        "failed_sign_ins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_failed_sign_ins_email_at", "failed_sign_ins", ["email", "at"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=True),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("resource_type", sa.String(50), nullable=False),
        sa.Column("resource_id", sa.String(100), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
    )
    op.create_index("ix_audit_entries_at_seq", "audit_entries", ["at", "seq"])
    create_messaging_tables(op)
    create_heartbeat_table(op)


def downgrade() -> None:
    op.drop_table("worker_heartbeat")
    op.drop_table("inbox")
    op.drop_table("outbox")
    op.drop_index("ix_audit_entries_at_seq", table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_index("ix_failed_sign_ins_email_at", table_name="failed_sign_ins")
    op.drop_table("failed_sign_ins")
    op.drop_index("ix_sessions_member_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("members")
