"""person.email, dingtalk_userid, wecom_userid: how channels that reach a person find them

Work notices (DingTalk), application messages (WeCom) and email go to a unit's people,
not to a group: each person may have an address and a userid per platform (all optional;
a person without a userid is looked up by mobile).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("dingtalk_userid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("wecom_userid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_column("wecom_userid")
        batch_op.drop_column("dingtalk_userid")
        batch_op.drop_column("email")
