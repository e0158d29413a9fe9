"""reminder (status, node_at) index: every tick settles pending rows whose node has passed

Without it each tick scanned the whole outbox (0.23 s a tick at 1,000,000 rows, bench/dispatch.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch_op:
        batch_op.create_index("ix_reminder_node", ["status", "node_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminder") as batch_op:
        batch_op.drop_index("ix_reminder_node")
