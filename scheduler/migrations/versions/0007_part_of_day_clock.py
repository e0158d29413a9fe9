"""occurrence.part_of_day holds clock times: 16 characters (19:00-21:00 is 11)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrence") as batch_op:
        batch_op.alter_column("part_of_day", type_=sa.String(length=16),
                              existing_type=sa.String(length=8), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("occurrence") as batch_op:
        batch_op.alter_column("part_of_day", type_=sa.String(length=8),
                              existing_type=sa.String(length=16), existing_nullable=True)
