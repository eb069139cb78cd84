"""Patients, visits, the conditions treated and the injected trigger points.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 01:40:15.082370
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('patient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mrn', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('weight_kg', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name=op.f('ck_patient_sex')),
    sa.CheckConstraint('weight_kg > 0', name=op.f('ck_patient_weight_kg_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('mrn', name=op.f('uq_patient_mrn'))
    )
    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('practitioner', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_visit_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit'))
    )
    op.create_table('injected_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('muscle', sa.String(length=60), nullable=False),
    sa.Column('side', sa.String(length=1), nullable=False),
    sa.Column('twitch_response', sa.Boolean(), nullable=True),
    sa.Column('pain_before', sa.Integer(), nullable=False),
    sa.Column('pain_after', sa.Integer(), nullable=True),
    sa.Column('soreness', sa.String(length=10), nullable=True),
    sa.Column('numbness', sa.Boolean(), nullable=True),
    sa.Column('drug', sa.String(length=40), nullable=True),
    sa.Column('volume_ml', sa.Float(), nullable=True),
    sa.CheckConstraint("side IN ('L', 'R')", name=op.f('ck_injected_point_side')),
    sa.CheckConstraint("soreness IN ('none', 'mild', 'moderate', 'severe')", name=op.f('ck_injected_point_soreness')),
    sa.CheckConstraint('pain_after BETWEEN 0 AND 10', name=op.f('ck_injected_point_pain_after_range')),
    sa.CheckConstraint('pain_before BETWEEN 0 AND 10', name=op.f('ck_injected_point_pain_before_range')),
    sa.CheckConstraint('volume_ml > 0', name=op.f('ck_injected_point_volume_ml_positive')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_injected_point_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_injected_point'))
    )
    op.create_table('visit_condition',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('condition', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_visit_condition_visit_id_visit')),
    sa.PrimaryKeyConstraint('visit_id', 'condition', name=op.f('pk_visit_condition'))
    )


def downgrade() -> None:
    op.drop_table('visit_condition')
    op.drop_table('injected_point')
    op.drop_table('visit')
    op.drop_table('patient')
