"""Injectates: a point's mixture of drugs, and each drug's lot number and expiry.

`injected_point.injectate` (nullable text) holds a mixture as `KEY:mL+KEY:mL`
(`lidocaine-1:1+triamcinolone-40:0.5`); such a point has no `drug` nor `volume_ml`. A point of
one drug keeps those two columns, as every point did before, so nothing written changes.

`injectate_lot` records a drug's lot number and expiry for one visit revision (like the
revision's points and conditions, it is written once with it, never updated nor deleted, and
it is part of the revision's digest in the audit trail).

Nothing existing changes: the new column is NULL on every point, a NULL later column is not
digested (tplog.db.chain.canonical), and a revision with no lots digests as it did; so every
revision keeps the digest it was written with and `tplog audit verify` holds without a
`migrated` event.

A downgrade is refused while a mixture or a lot is recorded: the schema below cannot hold it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN needs no table rebuild on SQLite, so the point's guards stay in place.
        op.execute("ALTER TABLE injected_point ADD COLUMN injectate TEXT")
    else:
        op.add_column("injected_point", sa.Column("injectate", sa.Text(), nullable=True))
    op.create_table(
        "injectate_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=40), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("expiry", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["revision_id"], ["visit_revision.id"],
                                name=op.f("fk_injectate_lot_revision_id_visit_revision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_injectate_lot")),
    )
    op.create_index("ix_injectate_lot_revision", "injectate_lot", ["revision_id"])
    guards.install(("injectate_lot",))


def downgrade() -> None:
    connection = op.get_bind()
    lots = connection.execute(sa.text("SELECT count(*) FROM injectate_lot")).scalar() or 0
    mixtures = connection.execute(sa.text(
        "SELECT count(*) FROM injected_point WHERE injectate IS NOT NULL")).scalar() or 0
    if lots or mixtures:
        raise RuntimeError(f"the database holds {mixtures} point(s) with a mixture and {lots} "
                           "lot(s); a schema below 0011 cannot keep them (nothing was changed)")
    guards.remove(("injectate_lot",), keep_function=True)
    op.drop_index("ix_injectate_lot_revision", "injectate_lot")
    op.drop_table("injectate_lot")
    if connection.dialect.name == "sqlite":
        # SQLite 3.35+ drops a plain column in place; the point's guards stay.
        op.execute("ALTER TABLE injected_point DROP COLUMN injectate")
    else:
        op.drop_column("injected_point", "injectate")
