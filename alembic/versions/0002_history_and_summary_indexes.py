"""Indexes for the read paths: one patient's history by date, the points of a visit,
summaries by muscle and by date.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_visit_patient_date", "visit", ["patient_id", "visit_date"])
    op.create_index("ix_visit_date", "visit", ["visit_date"])
    op.create_index("ix_injected_point_visit", "injected_point", ["visit_id", "position"])
    op.create_index("ix_injected_point_muscle", "injected_point", ["muscle"])


def downgrade() -> None:
    op.drop_index("ix_injected_point_muscle", "injected_point")
    op.drop_index("ix_injected_point_visit", "injected_point")
    op.drop_index("ix_visit_date", "visit")
    op.drop_index("ix_visit_patient_date", "visit")
