"""The audit trail, and append-only guards on the clinical tables.

Records that exist before this revision enter the trail with one `migrated` event each, so
that `tplog audit verify` vouches for them from here on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import getpass
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

# The tables that exist at this revision (guards.py grows with later ones).
GUARDED = ("audit_event", "visit", "visit_revision", "injected_point", "visit_condition",
           "visit_void", "visit_addendum", "patient")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("os_user", sa.String(length=100), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("record_table", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("record_hash", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"],
                                name=op.f("fk_audit_event_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_event_hash")),
    )
    op.create_index("ix_audit_event_patient", "audit_event", ["patient_id"])
    op.create_index("ix_audit_event_record", "audit_event", ["record_table", "record_id"])
    _vouch_for_existing_records()
    guards.install(GUARDED)


def _vouch_for_existing_records() -> None:
    from tplog.db.chain import Actor, append_event, holds_records

    connection = op.get_bind()
    if not holds_records(connection, "patient", "visit_revision", "visit_void",
                         "visit_addendum"):
        return  # a new database: nothing recorded before the trail
    tables = sa.MetaData()
    tables.reflect(bind=connection, only=["patient", "visit", "visit_revision",
                                          "injected_point", "visit_condition", "visit_void",
                                          "visit_addendum", "audit_event"])
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    patient, revision, visit = (tables.tables[name] for name in
                                ("patient", "visit_revision", "visit"))
    for row in connection.execute(sa.select(patient.c.id, patient.c.mrn).order_by(patient.c.id)):
        append_event(connection, actor=Actor(os_user, "tplog upgrade"), action="migrated",
                     target=f"patient {row.mrn} (recorded before the audit trail)",
                     patient_id=row.id, record=("patient", row.id), tables=tables.tables)
    query = (sa.select(revision.c.id, revision.c.visit_id, revision.c.practitioner,
                       visit.c.patient_id)
             .join(visit, visit.c.id == revision.c.visit_id).order_by(revision.c.id))
    for visit_row in connection.execute(query):
        append_event(connection, actor=Actor(os_user, visit_row.practitioner),
                     action="migrated",
                     target=f"visit {visit_row.visit_id} (recorded before the audit trail)",
                     patient_id=visit_row.patient_id, record=("visit_revision", visit_row.id),
                     tables=tables.tables)
    # Voids and addenda (revision 0003) are audited records too: without an event each
    # would read as written outside tplog once the trail exists.
    void, addendum = tables.tables["visit_void"], tables.tables["visit_addendum"]
    for row in connection.execute(
            sa.select(void.c.visit_id, void.c.practitioner, visit.c.patient_id)
            .join(visit, visit.c.id == void.c.visit_id).order_by(void.c.visit_id)):
        append_event(connection, actor=Actor(os_user, row.practitioner), action="migrated",
                     target=f"void of visit {row.visit_id} (recorded before the audit trail)",
                     patient_id=row.patient_id, record=("visit_void", row.visit_id),
                     tables=tables.tables)
    for row in connection.execute(
            sa.select(addendum.c.id, addendum.c.visit_id, addendum.c.practitioner,
                      visit.c.patient_id)
            .join(visit, visit.c.id == addendum.c.visit_id).order_by(addendum.c.id)):
        append_event(connection, actor=Actor(os_user, row.practitioner), action="migrated",
                     target=f"visit {row.visit_id} addendum {row.id} (recorded before the "
                            "audit trail)",
                     patient_id=row.patient_id, record=("visit_addendum", row.id),
                     tables=tables.tables)


def downgrade() -> None:
    guards.remove(GUARDED)
    op.drop_index("ix_audit_event_record", "audit_event")
    op.drop_index("ix_audit_event_patient", "audit_event")
    op.drop_table("audit_event")
