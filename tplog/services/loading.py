"""How a visit is loaded to be shown: its revisions with their points and conditions, and of
the rest only what the visits have (issue 17: each statement is compiled afresh in every
process, so a statement not sent is start-up saved)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, literal_column, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from tplog.models import (
    AdverseEvent,
    FollowUp,
    InjectateLot,
    Practitioner,
    RangeOfMotion,
    Visit,
    VisitAddendum,
    VisitRevision,
    VisitVoid,
    VisitWarning,
)

# What a visit may have besides its revisions' points and conditions: most visits have none
# of it. Loaded by relationship name; on VisitRevision the rest (revision-level) are.
OF_VISIT = ("void", "addenda", "follow_ups", "adverse_events")
OF_REVISION = ("warnings", "range_of_motion", "lots", "practitioner_record")


def present(session: Session, visits: ColumnElement[bool], *,
             void: bool = True) -> frozenset[str]:
    """Which of OF_VISIT and OF_REVISION the visits `visits` selects have any of, in one
    statement. Each is then loaded only if present: a command runs in a new process, where
    every statement is compiled afresh, and one EXISTS a kind costs less than a load of
    each (issue 17). `void`: False when voided visits are left out (their void is then
    never read)."""
    # Named once (WITH), not compiled again into each EXISTS.
    visit_ids = select(Visit.id).where(visits).cte("visit_ids")
    ids = select(visit_ids.c.id)
    revision_ids = (select(VisitRevision.id).where(VisitRevision.visit_id.in_(ids))
                    .cte("revision_ids"))
    revisions = select(revision_ids.c.id)
    checks = {
        "addenda": _any(VisitAddendum.visit_id.in_(ids)),
        "follow_ups": _any(FollowUp.visit_id.in_(ids)),
        "adverse_events": _any(AdverseEvent.visit_id.in_(ids)),
        "warnings": _any(VisitWarning.revision_id.in_(revisions)),
        "range_of_motion": _any(RangeOfMotion.revision_id.in_(revisions)),
        "lots": _any(InjectateLot.revision_id.in_(revisions)),
        # Linked by name (revision 0013): with no practitioner records, none links.
        "practitioner_record": _any(Practitioner.id.isnot(None)),
    }
    if void:
        checks["void"] = _any(VisitVoid.visit_id.in_(ids))
    row = session.execute(select(*(check.label(name) for name, check in checks.items()))).one()
    return frozenset(name for name, found in row._mapping.items() if found)


def _any(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    # EXISTS (SELECT 1 ...), as queries.latest_revision: answered from the index alone.
    return select(literal_column("1")).where(*where).exists()


def with_details(query: Select[Any], present: frozenset[str] | None = None,
                  *, patient: bool = True) -> Select[Any]:
    """`query` (of visits) loading what a visit shows; `present`: only these of OF_VISIT and
    OF_REVISION are asked for, the rest are known to be empty and set_empty says so (None:
    ask for all). `patient`: False when the caller has the patient (its identity answers
    visit.patient)."""
    revisions = selectinload(Visit.revisions)
    options = [revisions.selectinload(VisitRevision.points),
               revisions.selectinload(VisitRevision.conditions)]
    options += [revisions.selectinload(getattr(VisitRevision, name)) for name in OF_REVISION
                if present is None or name in present]
    options += [selectinload(getattr(Visit, name)) for name in OF_VISIT
                if present is None or name in present]
    if patient:
        options.append(selectinload(Visit.patient))
    return query.options(*options)


def set_empty(visits: Sequence[Visit], present: frozenset[str]) -> None:
    """What present found none of, set as loaded and empty: never asked for later."""
    for visit in visits:
        for name in OF_VISIT:
            if name not in present:
                set_committed_value(visit, name, None if name == "void" else [])
        for revision in visit.revisions:
            for name in OF_REVISION:
                if name not in present:
                    set_committed_value(revision, name,
                                        None if name == "practitioner_record" else [])


# What a visit just written may have, as `present` for set_empty: its revision's own (as
# written, already in the session); none of what OF_VISIT names.
JUST_WRITTEN = frozenset(OF_REVISION)
