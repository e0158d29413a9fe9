"""feeds: pre-rendered VEVENTs on occurrences, feed tokens on units

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import secrets

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ical_event", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ical_alarms", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("ical_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("feed_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    # Units that exist already get their token here; new ones get it when imported.
    connection = op.get_bind()
    unit = sa.table("unit", sa.column("id", sa.Integer), sa.column("feed_token", sa.String))
    for (unit_id,) in connection.execute(sa.select(unit.c.id)).all():
        connection.execute(
            unit.update().where(unit.c.id == unit_id).values(feed_token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.alter_column("feed_token", nullable=False)
        batch_op.create_unique_constraint("uq_unit_feed_token", ["feed_token"])


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_constraint("uq_unit_feed_token", type_="unique")
        batch_op.drop_column("feed_token")
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.drop_column("ical_version")
        batch_op.drop_column("ical_alarms")
        batch_op.drop_column("ical_event")
