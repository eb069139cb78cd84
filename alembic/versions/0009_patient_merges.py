"""Patient merges: a duplicate patient (the same person added twice) merged into the right one.

`patient_merge` records each merge (from, into, why, when, by whom); it is a record, so it is
guarded like the others (never updated nor deleted) and audited (its digest is in the trail).
`patient.merged_into` (nullable, indexed) names the patient a duplicate now belongs to, so
that every read of a patient's visits, follow-ups and weights takes one join to include the
duplicate's. The duplicate's own rows stay where they were written: visits and the trail are
append-only, and a visit revision's digest covers its visit's patient.

Nothing existing changes: the new column is NULL on every patient, and a NULL later column is
not digested (tplog.db.chain.canonical), so every patient keeps the digest it was written
with and `tplog audit verify` holds without a `migrated` event.

A downgrade is refused while merges exist: it would drop their records and change the
digests of the merged patients.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN with its reference needs no table rebuild on SQLite, so the patient's
        # guard (never deleted) and every table that refers to the patient stay as they are.
        op.execute("ALTER TABLE patient ADD COLUMN merged_into INTEGER "
                   "CONSTRAINT fk_patient_merged_into_patient REFERENCES patient (id)")
    else:
        op.add_column("patient", sa.Column("merged_into", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_patient_merged_into_patient"), "patient", "patient",
                              ["merged_into"], ["id"])
    op.create_index("ix_patient_merged_into", "patient", ["merged_into"])
    op.create_table(
        "patient_merge",
        sa.Column("from_patient_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("into_patient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_by", sa.String(length=100), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["from_patient_id"], ["patient.id"],
                                name=op.f("fk_patient_merge_from_patient_id_patient")),
        sa.ForeignKeyConstraint(["into_patient_id"], ["patient.id"],
                                name=op.f("fk_patient_merge_into_patient_id_patient")),
        sa.PrimaryKeyConstraint("from_patient_id", name=op.f("pk_patient_merge")),
    )
    guards.install(("patient_merge",))


def downgrade() -> None:
    connection = op.get_bind()
    merges = connection.execute(sa.text("SELECT count(*) FROM patient_merge")).scalar() or 0
    if merges:
        raise RuntimeError(f"the database holds {merges} patient merge(s); a schema below 0009 "
                           "cannot keep them (nothing was changed)")
    guards.remove(("patient_merge",), keep_function=True)
    op.drop_table("patient_merge")
    op.drop_index("ix_patient_merged_into", "patient")
    if connection.dialect.name == "sqlite":
        # A column with a reference cannot be dropped in place: the table is rebuilt, which
        # drops its guard with it.
        with op.batch_alter_table("patient") as batch:
            batch.drop_column("merged_into")
        guards.install(("patient",))
    else:
        op.drop_constraint(op.f("fk_patient_merged_into_patient"), "patient",
                           type_="foreignkey")
        op.drop_column("patient", "merged_into")
