"""Visits across patients found by what was treated: a muscle, a condition, a practitioner,
dates (`tplog visits`). One page of visits and the count of all that match in one statement,
their points in a second; never every record loaded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from tplog import clinical
from tplog.models import InjectedPoint, Patient, Visit, VisitRevision, VisitVoid
from tplog.services.queries import WRITTEN_FOR, in_scope, practitioner_spellings


@dataclass(frozen=True)
class ListedSite:
    muscle: str
    side: str
    pain_before: int
    pain_after: int | None


@dataclass(frozen=True)
class ListedVisit:
    id: int
    visit_date: dt.date
    mrn: str
    patient_name: str
    practitioner: str
    voided: bool
    sites: tuple[ListedSite, ...]  # with a muscle filter, that muscle's points only

    @property
    def mean_pain_before(self) -> float | None:
        """Over every point listed (as `tplog summary` computes it)."""
        if not self.sites:
            return None
        return float(Fraction(sum(s.pain_before for s in self.sites), len(self.sites)))

    @property
    def mean_pain_after(self) -> float | None:
        """Over the points with a pain after (as `tplog summary` computes it)."""
        after = [s.pain_after for s in self.sites if s.pain_after is not None]
        return float(Fraction(sum(after), len(after))) if after else None

    @property
    def change(self) -> clinical.Change | None:
        """The change in mean pain over the points with both scores (as history shows it)."""
        return clinical.change_of_mean((s.pain_before, s.pain_after) for s in self.sites)


@dataclass(frozen=True)
class VisitList:
    visits: list[ListedVisit]  # newest first, at most the limit
    total: int  # every visit that matches, listed or not

    @property
    def more(self) -> int:
        return self.total - len(self.visits)


def find_visits(session: Session, *, muscle: str | None = None, condition: str | None = None,
                practitioner: str | None = None, since: dt.date | None = None,
                until: dt.date | None = None, include_void: bool = False,
                limit: int = 100) -> VisitList:
    """Visits of every patient by their latest revision, newest first (by date, then the
    later logged); voided ones only when asked. `muscle`: the visits that inject it, and
    only its points; `condition`: a key checked by parse.check_condition, under any key the
    visits hold for it; `practitioner`: the whole name, any case."""
    spellings = None if practitioner is None else practitioner_spellings(session, practitioner)
    voided = select(literal_column("1")).where(VisitVoid.visit_id == Visit.id).exists()
    recorded = WRITTEN_FOR
    query = (select(Visit.id, VisitRevision.id.label("revision_id"), VisitRevision.visit_date,
                    Patient.mrn, Patient.name, VisitRevision.practitioner,
                    voided.label("voided"),
                    # Counted before LIMIT applies: how many match in all.
                    func.count().over().label("total"))
             .join(VisitRevision, VisitRevision.visit_id == Visit.id)
             # A duplicate merged into another patient (revision 0009) shows as that one.
             .join(recorded, recorded.id == Visit.patient_id)
             .join(Patient, Patient.id == func.coalesce(recorded.merged_into, recorded.id)))
    if muscle is not None:
        query = query.where(VisitRevision.points.any(InjectedPoint.muscle == muscle))
    query = in_scope(query, include_void=include_void, since=since, until=until,
                     condition=condition, spellings=spellings)
    rows = session.execute(query.order_by(VisitRevision.visit_date.desc(), Visit.id.desc())
                           .limit(limit)).all()
    if not rows:
        return VisitList([], 0)
    sites: dict[int, list[ListedSite]] = {row.revision_id: [] for row in rows}
    points = (select(InjectedPoint.revision_id, InjectedPoint.muscle, InjectedPoint.side,
                     InjectedPoint.pain_before, InjectedPoint.pain_after)
              .where(InjectedPoint.revision_id.in_(list(sites)))
              .order_by(InjectedPoint.revision_id, InjectedPoint.position))
    if muscle is not None:
        points = points.where(InjectedPoint.muscle == muscle)
    for revision_id, key, side, before, after in session.execute(points):
        sites[revision_id].append(ListedSite(key, getattr(side, "value", side), before, after))
    return VisitList([ListedVisit(id=row.id, visit_date=row.visit_date, mrn=row.mrn,
                                  patient_name=row.name, practitioner=row.practitioner,
                                  voided=bool(row.voided), sites=tuple(sites[row.revision_id]))
                      for row in rows], int(rows[0].total))
