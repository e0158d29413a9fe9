"""reminder.kind: a 督办 (escalation) is a kind of reminder, not an offset written "escalate …"

The prefix was read in three places (the outbox sync, the dispatcher, supervision); now the
row says what it is, and its offset is the offset alone (+1d 09:00). The unique key takes the
kind: a reminder and an escalation may share an offset.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PREFIX = "escalate "


def upgrade() -> None:
    # The key takes the kind first: stripping the prefix under the old key could make an
    # escalation's row collide with a reminder of the same offset.
    with op.batch_alter_table("reminder") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False,
                                      server_default="reminder"))
        batch_op.drop_constraint("uq_reminder_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_reminder_key", ["occurrence_id", "unit_id", "channel_id", "kind", "offset"])
    op.execute(sa.text(f"UPDATE reminder SET kind = 'escalation', \"offset\" = "
                       f"substr(\"offset\", {len(PREFIX) + 1}) WHERE \"offset\" LIKE '{PREFIX}%'"))


def downgrade() -> None:
    op.execute(sa.text(f"UPDATE reminder SET \"offset\" = '{PREFIX}' || \"offset\" "
                       f"WHERE kind = 'escalation'"))
    with op.batch_alter_table("reminder") as batch_op:
        batch_op.drop_constraint("uq_reminder_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_reminder_key", ["occurrence_id", "unit_id", "channel_id", "offset"])
        batch_op.drop_column("kind")
