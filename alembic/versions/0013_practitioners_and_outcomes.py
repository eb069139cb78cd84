"""Practitioners as records, and the PEG and PGIC outcome measures.

`practitioner` holds who injects, takes a follow-up or signs: a unique name, credentials and
a US NPI. It is audited (its digest is in the trail) and never deleted (guards.py); its
credentials and NPI may be corrected through tplog, its name never.

Visits, follow-ups, addenda, voids, merges, screenings and adverse events keep the
practitioner's name as written: a record links to them by that name, not by a new
`practitioner_id` column. Linking the existing rows by id would mean an UPDATE of append-only
rows (the guards refuse it) and a new digest for every one of them (a set later column is
digested: tplog.db.chain.canonical), that is, a trail re-vouched by the upgrade for records
nobody wrote again. A name that is unique and never changed links as exactly, with no row
touched.

Each distinct practitioner name found in those tables becomes a record (no credentials, no
NPI: `tplog practitioner edit` adds them), each with a `migrated` audit event.

PEG (three 0-10 items) is added to visit_revision and follow_up, PGIC (1-7) to follow_up:
nullable later columns, NULL on every existing row, so no existing digest changes.

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30
"""

import datetime as dt
import getpass
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tplog.db import guards

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, lowest, highest); reference, "Outcome measures that are free to use".
OUTCOME_COLUMNS = (
    ("visit_revision", "peg_pain", 0, 10),
    ("visit_revision", "peg_enjoyment", 0, 10),
    ("visit_revision", "peg_activity", 0, 10),
    ("follow_up", "peg_pain", 0, 10),
    ("follow_up", "peg_enjoyment", 0, 10),
    ("follow_up", "peg_activity", 0, 10),
    ("follow_up", "pgic", 1, 7),
)
# Where a practitioner's name was written before this revision.
NAMED_IN = ("visit_revision", "follow_up", "visit_void", "visit_addendum", "patient_merge",
            "patient_screening", "adverse_event")


def upgrade() -> None:
    op.create_table(
        "practitioner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credentials", sa.String(length=200), nullable=True),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner")),
        sa.UniqueConstraint("name", name=op.f("uq_practitioner_name")),
        sa.UniqueConstraint("npi", name=op.f("uq_practitioner_npi")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, lowest, highest in OUTCOME_COLUMNS:
        check = f"{column} BETWEEN {lowest} AND {highest}"
        name = f"ck_{table}_{column}_range"
        if sqlite:
            # ADD COLUMN with its CHECK needs no table rebuild, so the guards stay.
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                       f"CONSTRAINT {name} CHECK ({check})")
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_check_constraint(name, table, check)
    _records_from_names()
    guards.install(("practitioner",))


def _records_from_names() -> None:
    from tplog.db.chain import Actor, NewEvent, append_events, holds_records

    connection = op.get_bind()
    if not holds_records(connection, *NAMED_IN):
        return  # no name recorded yet (a new database)
    tables = sa.MetaData()
    tables.reflect(bind=connection, only=[*NAMED_IN, "practitioner", "audit_event"])
    names: set[str] = set()
    for table in NAMED_IN:
        column = tables.tables[table].c.practitioner
        names.update(connection.execute(sa.select(column).distinct()).scalars())
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    now = dt.datetime.now(dt.UTC)
    practitioner = tables.tables["practitioner"]
    events = []
    for name in sorted(names):
        # Ids from the table's own sequence (PostgreSQL's would not know of ids given here).
        number = connection.execute(practitioner.insert().values(
            name=name, credentials=None, npi=None, created_at=now, created_by=os_user)
            .returning(practitioner.c.id)).scalar_one()
        events.append(NewEvent(Actor(os_user, "tplog upgrade"), "migrated",
                               f"practitioner {number} (named in records before 0013)",
                               None, ("practitioner", number)))
    append_events(connection, events, tables.tables)


def downgrade() -> None:
    connection = op.get_bind()
    for table, column, _, _ in OUTCOME_COLUMNS:
        found = connection.execute(sa.text(
            f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL")).scalar() or 0
        if found:
            raise RuntimeError(f"the database holds {found} {table} record(s) with {column}; "
                               "a schema below 0013 cannot keep them (nothing was changed)")
    # The practitioner records go; the events that vouched for them stay (the trail is
    # append-only) and name a table the older schema does not have.
    guards.remove(("practitioner",), keep_function=True)
    for table, column, _, _ in reversed(OUTCOME_COLUMNS):
        if connection.dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_constraint(f"ck_{table}_{column}_range", table, type_="check")
            op.drop_column(table, column)
    op.drop_table("practitioner")
