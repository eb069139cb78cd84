"""Dated weights (the dose check uses the weight on or before a visit's date), and the order
of a visit's conditions (the first is the primary diagnosis).

Each patient's weight on record is carried over as a measurement dated the day the patient
was added, with a `migrated` audit event, so that `tplog audit verify` vouches for it. The new
`visit_condition.position` stays NULL on older visits: their conditions keep the alphabetical
order they were shown in, and their digests stay as written (a NULL later column is not
digested: tplog.db.chain.canonical).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import datetime as dt
import getpass
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patient_weight",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("weight_kg > 0",
                           name=op.f("ck_patient_weight_weight_kg_positive")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"],
                                name=op.f("fk_patient_weight_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_weight")),
    )
    op.create_index("ix_patient_weight_patient", "patient_weight",
                    ["patient_id", "measured_on"])
    # ADD COLUMN needs no table rebuild on SQLite, so the append-only triggers stay.
    op.add_column("visit_condition", sa.Column("position", sa.Integer(), nullable=True))
    _carry_weights_over()
    guards.install(("patient_weight",))


def _carry_weights_over() -> None:
    from tplog.db.chain import Actor, NewEvent, append_events, holds_records

    connection = op.get_bind()
    if not holds_records(connection, "patient"):
        return  # a new database: no weight to carry over
    tables = sa.MetaData()
    tables.reflect(bind=connection, only=["patient", "patient_weight", "audit_event"])
    patient, weight = tables.tables["patient"], tables.tables["patient_weight"]
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    rows = connection.execute(
        sa.select(patient.c.id, patient.c.mrn, patient.c.weight_kg, patient.c.created_at,
                  patient.c.created_by)
        .where(patient.c.weight_kg.is_not(None)).order_by(patient.c.id)).all()
    events = []
    for number, row in enumerate(rows, start=1):
        created = row.created_at
        if isinstance(created, str):  # SQLite hands back text where no type was reflected
            created = dt.datetime.fromisoformat(created)
        connection.execute(weight.insert().values(
            id=number, patient_id=row.id, measured_on=created.date(), weight_kg=row.weight_kg,
            created_at=created, created_by=row.created_by))
        events.append(NewEvent(Actor(os_user, "tplog upgrade"), "migrated",
                               f"weight of patient {row.mrn} (recorded when added)",
                               row.id, ("patient_weight", number)))
    append_events(connection, events, tables.tables)


def downgrade() -> None:
    guards.remove(("patient_weight",), keep_function=True)
    op.drop_column("visit_condition", "position")
    op.drop_index("ix_patient_weight_patient", "patient_weight")
    op.drop_table("patient_weight")
