"""Follow-up pain reports, and the safety warnings saved with a visit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("follow_up", "visit_warning")


def upgrade() -> None:
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("pain", sa.Integer(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.CheckConstraint("pain BETWEEN 0 AND 10", name=op.f("ck_follow_up_pain_range")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"],
                                name=op.f("fk_follow_up_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    )
    op.create_index("ix_follow_up_visit", "follow_up", ["visit_id"])
    op.create_table(
        "visit_warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("confirmation", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["revision_id"], ["visit_revision.id"],
                                name=op.f("fk_visit_warning_revision_id_visit_revision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_warning")),
    )
    op.create_index("ix_visit_warning_revision", "visit_warning", ["revision_id"])
    guards.install(NEW_TABLES)


def downgrade() -> None:
    guards.remove(NEW_TABLES, keep_function=True)
    op.drop_index("ix_visit_warning_revision", "visit_warning")
    op.drop_table("visit_warning")
    op.drop_index("ix_follow_up_visit", "follow_up")
    op.drop_table("follow_up")
