"""The database's de-identification key: a secret from which `tplog export --deidentify
--shift-dates` derives each patient's date shift and research id, so that every export of one
database shifts a patient's dates by the same number of days (repeated exports then reveal
nothing more than one does) and two databases shift them differently.

One row, made here with 32 random bytes, so that every database, new or upgraded, has its
own; backups carry it. It is guarded like the records (never updated nor deleted): a new
key would give a second set of shifts, and two shifts of one visit narrow its true date.
It is not in the audit trail: it is no record of care and no one's data; the trail vouches
for what was recorded about patients, and an event for the key would vouch for nothing a
reader of the trail needs (the triggers, not the chain, keep it from being replaced).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import datetime as dt
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key = op.create_table(
        "deidentification_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_deidentification_key_one_key")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deidentification_key")),
    )
    op.bulk_insert(key, [{"id": 1, "secret": secrets.token_bytes(32).hex(),
                          "created_at": dt.datetime.now(dt.UTC)}])
    guards.install(("deidentification_key",))


def downgrade() -> None:
    guards.remove(("deidentification_key",), keep_function=True)
    op.drop_table("deidentification_key")
