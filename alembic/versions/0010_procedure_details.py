"""What a physician documents at a trigger point visit (issue 16): the procedure on each visit
revision (consent, time-out, ultrasound guidance, needle gauge and length, aspiration), the
trigger point's signs on each point (taut band, jump sign, referred pain), and ranges of
motion per revision (`range_of_motion`).

Nothing existing changes: every new column is nullable and NULL on every existing row, and a
NULL later column is not digested (tplog.db.chain.canonical), so every record keeps the
digest it was written with and `tplog audit verify` holds without a `migrated` event. A
revision's ranges of motion are part of its digest only when it has some, as its warnings are.
`range_of_motion` is append-only like the points (guards).

The columns are added with ALTER TABLE ... ADD COLUMN on both databases (a CHECK is allowed
there): no SQLite table rebuild, so the guards of the tables stay as they are.

A downgrade is refused while any of it is recorded: dropping it would change the digests of
the revisions that hold it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVISION_COLUMNS = (
    ("consent", "VARCHAR(10) CONSTRAINT ck_visit_revision_consent "
                "CHECK (consent IN ('none', 'verbal', 'written'))"),
    ("time_out", "BOOLEAN"),
    ("ultrasound", "BOOLEAN"),
    ("needle_gauge", "INTEGER"),
    ("needle_length_mm", "FLOAT"),
    ("aspirated", "BOOLEAN"),
)
POINT_COLUMNS = ("taut_band", "jump_sign", "referred_pain")


def upgrade() -> None:
    for name, kind in REVISION_COLUMNS:
        op.execute(f"ALTER TABLE visit_revision ADD COLUMN {name} {kind}")
    for name in POINT_COLUMNS:
        op.execute(f"ALTER TABLE injected_point ADD COLUMN {name} BOOLEAN")
    op.create_table(
        "range_of_motion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("movement", sa.String(length=40), nullable=False),
        sa.Column("side", sa.Enum("L", "R", name="side", native_enum=False,
                                  create_constraint=True, length=1), nullable=True),
        sa.Column("value_before", sa.Integer(), nullable=True),
        sa.Column("value_after", sa.Integer(), nullable=True),
        sa.CheckConstraint("value_before >= 0",
                           name=op.f("ck_range_of_motion_value_before_range")),
        sa.CheckConstraint("value_after >= 0",
                           name=op.f("ck_range_of_motion_value_after_range")),
        sa.ForeignKeyConstraint(["revision_id"], ["visit_revision.id"],
                                name=op.f("fk_range_of_motion_revision_id_visit_revision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_range_of_motion")),
    )
    op.create_index("ix_range_of_motion_revision", "range_of_motion",
                    ["revision_id", "position"])
    guards.install(("range_of_motion",))


def downgrade() -> None:
    connection = op.get_bind()
    recorded = connection.execute(sa.text(
        "SELECT (SELECT count(*) FROM range_of_motion) + (SELECT count(*) FROM visit_revision "
        "WHERE " + " OR ".join(f"{name} IS NOT NULL" for name, _ in REVISION_COLUMNS)
        + ") + (SELECT count(*) FROM injected_point WHERE "
        + " OR ".join(f"{name} IS NOT NULL" for name in POINT_COLUMNS) + ")")).scalar() or 0
    if recorded:
        raise RuntimeError(f"the database holds {recorded} record(s) of procedure details, "
                           "trigger point signs or ranges of motion; a schema below 0010 "
                           "cannot keep them (nothing was changed)")
    guards.remove(("range_of_motion",), keep_function=True)
    op.drop_index("ix_range_of_motion_revision", "range_of_motion")
    op.drop_table("range_of_motion")
    if connection.dialect.name == "sqlite":
        # SQLite drops a plain column in place, but not one with a CHECK: those tables are
        # rebuilt, which drops their guards with them.
        with op.batch_alter_table("visit_revision") as batch:
            batch.drop_constraint(op.f("ck_visit_revision_consent"), type_="check")
            for name, _ in REVISION_COLUMNS:
                batch.drop_column(name)
        with op.batch_alter_table("injected_point") as batch:
            for name in POINT_COLUMNS:
                batch.drop_column(name)
        guards.install(("visit_revision", "injected_point"))
    else:
        for name, _ in REVISION_COLUMNS:
            op.drop_column("visit_revision", name)
        for name in POINT_COLUMNS:
            op.drop_column("injected_point", name)
