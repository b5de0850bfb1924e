"""A version on every booking, raised by each change and carried by its events (`data.version`), so
consumers can tell a late event from a new one; existing bookings start at 1.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("version")
