"""rate_send: the sends to each rate-limited destination in its provider's window

A robot's limit (DingTalk: 20 a minute, then blocked for ten minutes) belongs to its URL,
not to a channel row or a process: every daemon on the database counts here before it
sends (scheduler/_limits.py). Rows older than the longest window are pruned as it counts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_send",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),  # Unix seconds: portable arithmetic
    )
    op.create_index("ix_rate_send_destination", "rate_send", ["destination", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_send_destination", table_name="rate_send")
    op.drop_table("rate_send")
