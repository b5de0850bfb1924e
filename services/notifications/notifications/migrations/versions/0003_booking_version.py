"""The newest booking version applied per booking (from `data.version` of booking events), so that a
late or repeated event is acknowledged without effect. Empty for bookings known before: only events
without a version were applied to them.

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
    op.add_column("bookings", sa.Column("version", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("version")
