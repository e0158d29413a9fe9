"""unit.ack_token: the right to confirm a node apart from the right to read its calendar

Until now a confirmation link was /ack/<feed token>/<node>: whoever was handed a unit's
calendar URL could confirm for it. Each unit now has a second secret for its 办结确认 links,
rotated with the feed token (``jiedian units rotate-token``) or on its own (``--ack-only``).
Every unit gets a fresh one here: links in messages sent before the upgrade stop working
(the page says so; ``jiedian done`` still records a confirmation), as a rotation would.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unit") as batch_op:
        batch_op.add_column(sa.Column("ack_token", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    unit = sa.table("unit", sa.column("id", sa.Integer), sa.column("ack_token", sa.String))
    for (unit_id,) in connection.execute(sa.select(unit.c.id)).all():
        connection.execute(unit.update().where(unit.c.id == unit_id)
                           .values(ack_token=secrets.token_urlsafe(24)))
    with op.batch_alter_table("unit") as batch_op:
        batch_op.alter_column("ack_token", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_unit_ack_token", ["ack_token"])


def downgrade() -> None:
    with op.batch_alter_table("unit") as batch_op:
        batch_op.drop_constraint("uq_unit_ack_token", type_="unique")
        batch_op.drop_column("ack_token")
