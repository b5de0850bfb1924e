"""Sign-in codes (API.md "Clients who come back"), kept as hashes; screenings found by e-mail.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from clinic_shared.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("email_key", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sign_in_codes_email_key_created_at", "sign_in_codes", ["email_key", "created_at"])
    op.create_index("ix_sign_in_codes_expires_at", "sign_in_codes", ["expires_at"])
    op.create_index("ix_screenings_email_lower_created_at", "screenings",
                    [sa.text("lower(client_email)"), "created_at"])


def downgrade() -> None:
    op.drop_index("ix_screenings_email_lower_created_at", table_name="screenings")
    op.drop_table("sign_in_codes")
