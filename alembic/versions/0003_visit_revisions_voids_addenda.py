"""Visit revisions, voids and addenda: a logged visit is never changed in place.

What was on `visit` (date, practitioner, note) and the points and conditions move to
`visit_revision`; every existing visit becomes its own revision 1, with the same id, so
existing points and conditions keep pointing at the right record.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visit_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"],
                                name=op.f("fk_visit_revision_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_revision")),
        sa.UniqueConstraint("visit_id", "number", name=op.f("uq_visit_revision_visit_id")),
    )
    op.create_index("ix_visit_revision_date", "visit_revision", ["visit_date"])
    op.execute("INSERT INTO visit_revision (id, visit_id, number, visit_date, practitioner, "
               "note, reason, created_at, created_by) SELECT id, id, 1, visit_date, "
               "practitioner, note, NULL, created_at, created_by FROM visit")
    if op.get_bind().dialect.name == "postgresql":
        # Rows went in with explicit ids: move the id sequence past them.
        op.execute("SELECT setval(pg_get_serial_sequence('visit_revision', 'id'), "
                   "COALESCE((SELECT max(id) FROM visit_revision), 0) + 1, false)")

    op.drop_index("ix_injected_point_visit", "injected_point")
    with op.batch_alter_table("injected_point") as batch:
        batch.drop_constraint("fk_injected_point_visit_id_visit", type_="foreignkey")
        batch.alter_column("visit_id", new_column_name="revision_id",
                           existing_type=sa.Integer(), existing_nullable=False)
    # A second batch: SQLite's rebuild drops a key made on a column renamed in the same batch.
    with op.batch_alter_table("injected_point") as batch:
        batch.create_foreign_key("fk_injected_point_revision_id_visit_revision",
                                 "visit_revision", ["revision_id"], ["id"])
    op.create_index("ix_injected_point_revision", "injected_point", ["revision_id", "position"])

    with op.batch_alter_table("visit_condition") as batch:
        batch.drop_constraint("fk_visit_condition_visit_id_visit", type_="foreignkey")
        batch.alter_column("visit_id", new_column_name="revision_id",
                           existing_type=sa.Integer(), existing_nullable=False)
    # A second batch: SQLite's rebuild drops a key made on a column renamed in the same batch.
    with op.batch_alter_table("visit_condition") as batch:
        batch.create_foreign_key("fk_visit_condition_revision_id_visit_revision",
                                 "visit_revision", ["revision_id"], ["id"])

    op.drop_index("ix_visit_patient_date", "visit")
    op.drop_index("ix_visit_date", "visit")
    with op.batch_alter_table("visit") as batch:
        batch.drop_column("visit_date")
        batch.drop_column("practitioner")
        batch.drop_column("note")
    op.create_index("ix_visit_patient", "visit", ["patient_id"])

    op.create_table(
        "visit_void",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_by", sa.String(length=100), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"],
                                name=op.f("fk_visit_void_visit_id_visit")),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_visit_void")),
    )
    op.create_table(
        "visit_addendum",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"],
                                name=op.f("fk_visit_addendum_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_addendum")),
    )
    op.create_index("ix_visit_addendum_visit", "visit_addendum", ["visit_id"])


def downgrade() -> None:
    """Back to one row per visit: each visit keeps its latest revision; earlier revisions,
    voids and addenda cannot be represented in 0002 and are dropped."""
    op.drop_index("ix_visit_addendum_visit", "visit_addendum")
    op.drop_table("visit_addendum")
    op.drop_table("visit_void")

    latest = ("SELECT r.id FROM visit_revision r WHERE NOT EXISTS (SELECT 1 FROM "
              "visit_revision n WHERE n.visit_id = r.visit_id AND n.number > r.number)")
    op.execute(f"DELETE FROM injected_point WHERE revision_id NOT IN ({latest})")
    op.execute(f"DELETE FROM visit_condition WHERE revision_id NOT IN ({latest})")
    op.execute(f"DELETE FROM visit_revision WHERE id NOT IN ({latest})")

    op.drop_index("ix_visit_patient", "visit")
    with op.batch_alter_table("visit") as batch:
        batch.add_column(sa.Column("visit_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("practitioner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    for column in ("visit_date", "practitioner", "note"):
        op.execute(f"UPDATE visit SET {column} = (SELECT r.{column} FROM visit_revision r "
                   "WHERE r.visit_id = visit.id)")
    with op.batch_alter_table("visit") as batch:
        batch.alter_column("visit_date", existing_type=sa.Date(), nullable=False)
        batch.alter_column("practitioner", existing_type=sa.String(length=200), nullable=False)
    op.create_index("ix_visit_patient_date", "visit", ["patient_id", "visit_date"])
    op.create_index("ix_visit_date", "visit", ["visit_date"])

    # Points and conditions point at visits again: each revision id becomes its visit's id.
    op.drop_index("ix_injected_point_revision", "injected_point")
    for table in ("injected_point", "visit_condition"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_revision_id_visit_revision", type_="foreignkey")
        op.execute(f"UPDATE {table} SET revision_id = (SELECT r.visit_id FROM visit_revision r "
                   f"WHERE r.id = {table}.revision_id)")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("revision_id", new_column_name="visit_id",
                               existing_type=sa.Integer(), existing_nullable=False)
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(f"fk_{table}_visit_id_visit", "visit", ["visit_id"], ["id"])
    op.create_index("ix_injected_point_visit", "injected_point", ["visit_id", "position"])
    op.drop_index("ix_visit_revision_date", "visit_revision")
    op.drop_table("visit_revision")
