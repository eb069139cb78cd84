"""The audit chain covers every column of every audited record: a visit revision's digest now
includes its visit's own columns (`visit.created_at`, `visit.created_by`), which a raw SQL
edit could change unnoticed before.

Every revision's digest changes, so each is re-vouched with a `migrated` event carrying its
new digest (tplog.db.chain.digests). Before that, every revision is checked against the digest
its latest event vouched for, as it was computed then: a record already changed outside tplog
is never blessed by the upgrade; the upgrade fails and changes nothing instead.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import getpass
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _revouch(visit_columns=True, why="its digest now covers the visit's creation")


def downgrade() -> None:
    _revouch(visit_columns=False, why="its digest as before revision 0008")


def _revouch(*, visit_columns: bool, why: str) -> None:
    from tplog.db.chain import Actor, NewEvent, append_events, digests, holds_records

    connection = op.get_bind()
    if not holds_records(connection, "visit_revision"):
        return  # no revision to vouch for again (a new database)
    tables = sa.MetaData()
    tables.reflect(bind=connection)
    events, revisions, visits = (tables.tables[name] for name in
                                 ("audit_event", "visit_revision", "visit"))
    vouched = dict(connection.execute(
        sa.select(events.c.record_id, events.c.record_hash)
        .where(events.c.record_table == "visit_revision").order_by(events.c.id)).all())
    # Vouched for in either form: revisions an upgrade from before 0004 vouched for in this
    # same run (0004 computes digests with the code of the day) already have the new one.
    forms = [dict(digests(connection, "visit_revision", None, tables.tables,
                          visit_columns=form)) for form in (False, True)]
    changed = sorted(number for number in forms[0]
                     if vouched.get(number) not in (forms[0][number], forms[1][number]))
    if changed:
        raise RuntimeError(f"visit revision(s) {', '.join(map(str, changed[:5]))} no longer "
                           "match the audit trail; run `tplog audit verify` (nothing was "
                           "changed)")
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    rows = connection.execute(
        sa.select(revisions.c.id, revisions.c.visit_id, revisions.c.number,
                  visits.c.patient_id)
        .join(visits, visits.c.id == revisions.c.visit_id).order_by(revisions.c.id)).all()
    append_events(connection, [
        NewEvent(Actor(os_user, "tplog upgrade"), "migrated",
                 f"visit {row.visit_id} revision {row.number}: {why}", row.patient_id,
                 ("visit_revision", row.id)) for row in rows], tables.tables)
