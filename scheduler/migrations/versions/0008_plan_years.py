"""plans stored per (plan id, year): plan_year, milestone.year, occurrence.plan_year

Every existing plan becomes one stored year, the year it was applied to; its milestones
and occurrences are that year's. Nothing is dropped: reminders, deliveries and
confirmations hang on occurrence ids, which stay as they are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def _milestone_table(name: str, *, by_year: bool) -> None:
    """The milestone table, keyed by (plan, year, milestone) or, as before, (plan, milestone)."""
    year = [sa.Column("year", sa.Integer(), nullable=False)] if by_year else []
    op.create_table(
        name,
        sa.Column("plan_id", _TEXT(length=120), nullable=False),
        *year,
        sa.Column("key", _TEXT(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", _TEXT(), nullable=False),
        sa.Column("when", _TEXT(), nullable=False),
        sa.Column("kind", _TEXT(length=16), nullable=False),
        sa.Column("workdays", _TEXT(length=16), nullable=False),
        sa.Column("remind", sa.JSON(), nullable=False),
        sa.Column("source", _TEXT(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
        sa.PrimaryKeyConstraint("plan_id", *(["year"] if by_year else []), "key"),
    )


def upgrade() -> None:
    op.create_table(
        "plan_year",
        sa.Column("plan_id", _TEXT(length=120), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", _TEXT(), nullable=False),
        sa.Column("issuer", _TEXT(), nullable=True),
        sa.Column("base_year", sa.Integer(), nullable=False),
        sa.Column("source_path", _TEXT(), nullable=True),
        sa.Column("content_hash", _TEXT(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("status", _TEXT(length=16), nullable=False),
        sa.Column("created_at", _WHEN(), nullable=False),
        sa.Column("updated_at", _WHEN(), nullable=False),
        sa.Column("removed_at", _WHEN(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
        sa.PrimaryKeyConstraint("plan_id", "year"),
    )
    op.execute(
        "INSERT INTO plan_year (plan_id, year, title, issuer, base_year, source_path, content_hash,"
        " document, status, created_at, updated_at, removed_at)"
        " SELECT id, applied_year, title, issuer, year, source_path, content_hash, document, status,"
        " created_at, updated_at, removed_at FROM plan"
    )

    # milestone: its key is (plan, year, milestone) now; a new table, so that both SQLite
    # and PostgreSQL get the new primary key the same way
    _milestone_table("milestone_by_year", by_year=True)
    op.execute(
        'INSERT INTO milestone_by_year (plan_id, year, key, position, title, "when", kind, workdays,'
        " remind, source) SELECT m.plan_id, p.applied_year, m.key, m.position, m.title, m.\"when\","
        " m.kind, m.workdays, m.remind, m.source FROM milestone m JOIN plan p ON p.id = m.plan_id"
    )
    op.drop_table("milestone")
    op.rename_table("milestone_by_year", "milestone")

    op.add_column("occurrence", sa.Column("plan_year", sa.Integer(), nullable=True))
    op.execute("UPDATE occurrence SET plan_year = (SELECT applied_year FROM plan"
               " WHERE plan.id = occurrence.plan_id)")
    # SQLite rebuilds the table for this; scheduler._db.migrate runs with foreign keys off,
    # so the reminders and confirmations pointing at occurrences allow it
    with op.batch_alter_table("occurrence") as batch_op:
        batch_op.alter_column("plan_year", existing_type=sa.Integer(), nullable=False)
    op.create_index("ix_occurrence_plan_year", "occurrence", ["plan_id", "plan_year"], unique=False)


def downgrade() -> None:
    # back to one year per plan: the latest stored year is kept
    op.drop_index("ix_occurrence_plan_year", table_name="occurrence")
    op.execute("ALTER TABLE occurrence DROP COLUMN plan_year")  # SQLite ≥ 3.35 and PostgreSQL
    _milestone_table("milestone_one_year", by_year=False)
    op.execute(
        'INSERT INTO milestone_one_year (plan_id, key, position, title, "when", kind, workdays,'
        ' remind, source) SELECT m.plan_id, m.key, m.position, m.title, m."when", m.kind,'
        " m.workdays, m.remind, m.source FROM milestone m JOIN plan p ON p.id = m.plan_id"
        " AND p.applied_year = m.year"
    )
    op.drop_table("milestone")
    op.rename_table("milestone_one_year", "milestone")
    op.drop_table("plan_year")
