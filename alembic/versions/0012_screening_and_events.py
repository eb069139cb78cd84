"""The pre-procedure screen and adverse events (issue 16).

`patient_screening` holds the patient's dated screen: allergies (ended by a later record, never
changed), anticoagulant or antiplatelet use going on and off, a bleeding disorder or none.
`adverse_event` holds what went wrong after a visit (vasovagal, haematoma, ...). Both are
records of care: guarded (never updated nor deleted) and audited from the start.
`visit_revision.pregnant` (nullable) is the pregnancy status asked at the visit.

Nothing existing changes: the new column is NULL on every revision, and a NULL later column is
not digested (tplog.db.chain.canonical), so every revision keeps the digest it was written with
and `tplog audit verify` holds without a `migrated` event.

A downgrade is refused while screen records, adverse events or pregnancy statuses exist: it
would drop them (and change the digests of the revisions that hold a status).

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("patient_screening", "adverse_event")
_PREGNANT_CHECK = "pregnant IN ('yes', 'no', 'unknown')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN (a CHECK included) needs no table rebuild on SQLite, so the revision's
        # append-only guards stay as they are.
        op.execute("ALTER TABLE visit_revision ADD COLUMN pregnant VARCHAR(10) "
                   f"CONSTRAINT ck_visit_revision_pregnant CHECK ({_PREGNANT_CHECK})")
    else:
        op.add_column("visit_revision", sa.Column("pregnant", sa.String(10), nullable=True))
        op.create_check_constraint(op.f("ck_visit_revision_pregnant"), "visit_revision",
                                   _PREGNANT_CHECK)
    op.create_table(
        "patient_screening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("substance", sa.String(length=200), nullable=True),
        sa.Column("reaction", sa.Text(), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("closes", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.CheckConstraint("kind IN ('allergy', 'anticoagulant', 'bleeding-disorder')",
                           name=op.f("ck_patient_screening_kind")),
        sa.CheckConstraint("status IN ('active', 'resolved', 'entered-in-error', 'on', 'off', "
                           "'yes', 'no')", name=op.f("ck_patient_screening_status_known")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"],
                                name=op.f("fk_patient_screening_patient_id_patient")),
        sa.ForeignKeyConstraint(["closes"], ["patient_screening.id"],
                                name=op.f("fk_patient_screening_closes_patient_screening")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_screening")),
    )
    op.create_index("ix_patient_screening_patient", "patient_screening", ["patient_id"])
    op.create_table(
        "adverse_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.CheckConstraint("severity IN ('mild', 'moderate', 'severe')",
                           name=op.f("ck_adverse_event_severity")),
        sa.CheckConstraint("outcome IN ('resolved', 'recovering', 'ongoing', "
                           "'resolved-with-sequelae', 'fatal', 'unknown')",
                           name=op.f("ck_adverse_event_outcome")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"],
                                name=op.f("fk_adverse_event_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event")),
    )
    op.create_index("ix_adverse_event_visit", "adverse_event", ["visit_id"])
    guards.install(NEW_TABLES)


def downgrade() -> None:
    connection = op.get_bind()
    held = {name: connection.execute(sa.text(query)).scalar() or 0 for name, query in (
        ("screen record(s)", "SELECT count(*) FROM patient_screening"),
        ("adverse event(s)", "SELECT count(*) FROM adverse_event"),
        ("pregnancy status(es)",
         "SELECT count(*) FROM visit_revision WHERE pregnant IS NOT NULL"))}
    if any(held.values()):
        listed = ", ".join(f"{count} {name}" for name, count in held.items() if count)
        raise RuntimeError(f"the database holds {listed}; a schema below 0012 cannot keep "
                           "them (nothing was changed)")
    guards.remove(NEW_TABLES, keep_function=True)
    op.drop_table("adverse_event")
    op.drop_table("patient_screening")
    if connection.dialect.name == "sqlite":
        # A column with a CHECK cannot be dropped in place: the table is rebuilt, which drops
        # its guards with it.
        with op.batch_alter_table("visit_revision") as batch:
            batch.drop_constraint(op.f("ck_visit_revision_pregnant"), type_="check")
            batch.drop_column("pregnant")
        guards.install(("visit_revision",))
    else:
        op.drop_constraint(op.f("ck_visit_revision_pregnant"), "visit_revision", type_="check")
        op.drop_column("visit_revision", "pregnant")
