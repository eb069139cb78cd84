"""Conditions every reading query shares: a visit's latest revision, visits not voided, a
patient's records with those of the duplicates merged into it, and the filters reports take
(a condition treated, a practitioner)."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    SQLColumnExpression,
    and_,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from tplog import clinical
from tplog.errors import BadInput, shown
from tplog.models import (
    Patient,
    Practitioner,
    Visit,
    VisitCondition,
    VisitRevision,
    VisitVoid,
)

# The second copies of a table below are the table's own alias (Core), not the ORM's
# aliased(): the ORM works out each column of an alias afresh. Each is made once, here, and
# serves every statement: a new alias made each time its columns were first used cost more
# than the rest of the condition (0.1 ms a table; several a command, thousands a test run).
# One alias per role, each in the FROM of its own subquery only, so that no statement holds
# one twice in the same FROM (where a second copy would be needed).
_NEWER = VisitRevision.__table__.alias()  # latest_revision
_REPLACING = VisitRevision.__table__.alias()  # left_out
_ITSELF, _MERGED = Patient.__table__.alias(), Patient.__table__.alias()  # merged_family
_HELD = VisitCondition.__table__.alias()  # treats

# The patient a visit was written for (patient.id = visit.patient_id), and the patient a
# duplicate was merged into (revision 0009): ORM aliases, made once like those above, for
# the statements that show a merged duplicate's visits as its patient's. Each statement holds
# each of them once.
WRITTEN_FOR, MERGED_INTO = aliased(Patient), aliased(Patient)

def latest_revision() -> ColumnElement[bool]:
    """A condition true of a visit's newest revision only (no revision with a higher number)."""
    newer = _NEWER
    # EXISTS (SELECT 1 ...), not SELECT *: SQLite then answers from the index alone.
    return ~select(literal_column("1")).where(newer.c.visit_id == VisitRevision.visit_id,
                                              newer.c.number > VisitRevision.number).exists()


def not_voided() -> ColumnElement[bool]:
    return ~select(literal_column("1")).where(VisitVoid.visit_id == Visit.id).exists()


def left_out(include_void: bool) -> CompoundSelect[Any]:
    """The revisions that in_scope leaves out whatever the filters: those a newer revision
    of their visit replaced (latest_revision) and, unless include_void, those of a voided
    visit (not_voided). For a statement over nearly every point: leaving out these few
    revisions is cheaper on PostgreSQL than matching each point to the many chosen ones.
    Not correlated: a caller may join visit_revision itself."""
    newer = _REPLACING
    replaced = (select(VisitRevision.id)
                .join(newer, and_(newer.c.visit_id == VisitRevision.visit_id,
                                  newer.c.number > VisitRevision.number)).correlate(None))
    voided = (select(VisitRevision.id)
              .join(VisitVoid, VisitVoid.visit_id == VisitRevision.visit_id).correlate(None))
    # The same revision id twice changes nothing for a NOT IN: UNION ALL, no sort.
    return replaced.union_all(*([] if include_void else [voided]))


def merged_family(patient_id: int | SQLColumnExpression[int]) -> CompoundSelect[Any]:
    """The patient and the duplicates merged into it (revision 0009): whose rows are this
    patient's visits and weights. (`patient.merged_into` always names the final patient, so
    one level is every level.)"""
    # A union, not `id = ? OR merged_into = ?`: each half is an index search, where the OR
    # read every patient (per visit, in an export). Given a column (patient.id of an
    # enclosing query), the patient is that query's: left to auto-correlation, a family
    # nested two levels down (a latest-weight subquery) took `patient` into its own FROM,
    # and any patient's weight was shown as this one's.
    itself, merged = _ITSELF, _MERGED
    return union_all(
        select(itself.c.id).where(itself.c.id == patient_id).correlate_except(itself),
        select(merged.c.id).where(merged.c.merged_into == patient_id).correlate_except(merged))


def owned_by(column: SQLColumnExpression[int], patient_id: int | SQLColumnExpression[int]
             ) -> ColumnElement[bool]:
    """A row's patient column (visit.patient_id, patient_weight.patient_id) is this patient's
    or a duplicate's merged into it."""
    return column.in_(merged_family(patient_id))


def treats(condition: str) -> ColumnElement[bool]:
    """True of a revision that records the condition (a key checked by parse.check_condition),
    under any key visits hold for it (clinical.keys_held_for)."""
    # Aliased: a query grouped by condition joins visit_condition itself, and the plain
    # table here would be correlated to that join rather than searched.
    held = _HELD
    return select(literal_column("1")).where(
        held.c.revision_id == VisitRevision.id,
        held.c.condition.in_(clinical.keys_held_for(condition))).exists()


def practitioner_spellings(session: Session, typed: str) -> list[str]:
    """The practitioner names as the visits hold them that `typed` means, compared without
    regard to case (Python's casefold, so "ÉMILE" finds "Émile" on SQLite too, whose lower()
    knows ASCII only). None known: BadInput naming the nearest."""
    wanted = typed.strip().casefold()
    if wanted.isdigit():  # an id, as `log --practitioner` takes one: the record's name
        record = session.get(Practitioner, int(wanted))
        if record is None:
            raise BadInput(f"--practitioner {shown(typed)}: no practitioner with that id "
                           "(see `tplog practitioner list`)")
        wanted = record.name.casefold()
    known = list(session.scalars(select(VisitRevision.practitioner).distinct()))
    found = sorted(name for name in known if name.casefold() == wanted)
    if found:
        return found
    by_folded = {name.casefold(): name for name in known}
    near = [by_folded[n] for n in difflib.get_close_matches(wanted, list(by_folded), n=3,
                                                            cutoff=0.5)]
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise BadInput(f"--practitioner {shown(typed)}: no visit was logged by that "
                   f"practitioner{hint} (see `tplog summary --by practitioner`)")


_Visits = TypeVar("_Visits", bound="Select[*tuple[Any, ...]]")


def in_scope(query: _Visits, *, include_void: bool, since: dt.date | None,
             until: dt.date | None, patient_id: int | None = None,
             condition: str | None = None,
             spellings: list[str] | None = None) -> _Visits:
    """The visits the filters choose, by their latest revision, as history, the visit list
    and every figure of a summary (the points', PEG and PGIC, adverse events) choose them.
    `query` joins visit_revision and visit; a muscle filter is each caller's (a point's
    muscle, or a visit that has one)."""
    query = query.where(latest_revision())
    if not include_void:
        query = query.where(not_voided())
    if since is not None:
        query = query.where(VisitRevision.visit_date >= since)
    if until is not None:
        query = query.where(VisitRevision.visit_date <= until)
    if patient_id is not None:
        query = query.where(owned_by(Visit.patient_id, patient_id))
    if condition is not None:
        query = query.where(treats(condition))
    if spellings is not None:
        query = query.where(VisitRevision.practitioner.in_(spellings))
    return query
