"""The worker's heartbeat, which /health reads to tell whether the worker is alive.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from clinic_shared.migrations import create_heartbeat_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_heartbeat_table(op)


def downgrade() -> None:
    op.drop_table("worker_heartbeat")
