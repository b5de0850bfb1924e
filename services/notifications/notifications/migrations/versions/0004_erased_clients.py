"""The clients erased here (issue #10): their tokens no longer work, their later events make no message.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

from clinic_shared.migrations import create_erased_clients_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_clients_table(op)


def downgrade() -> None:
    op.drop_table("erased_clients")
