"""Pain over time: per visit for a patient's history, per muscle and side for `tplog trend`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import Float, Integer, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from tplog import clinical
from tplog.models import FollowUp, InjectedPoint, Patient, RangeOfMotion, Visit, VisitRevision
from tplog.services.queries import latest_revision, not_voided, owned_by
from tplog.services.views import VisitView


@dataclass(frozen=True)
class TrendPoint:
    visit_date: dt.date
    pain_before: float  # mean over the points concerned
    pain_after: float | None  # mean over those with a pain after; None if none has one


@dataclass(frozen=True)
class SiteTrend:
    muscle: str
    side: str
    visits: tuple[TrendPoint, ...]  # oldest first


def visit_trend(visits: Sequence[VisitView]) -> list[TrendPoint]:
    """Mean pain before and after of each visit, oldest first (history lists newest first)."""
    trend = []
    for visit in sorted(visits, key=lambda v: (v.visit_date, v.id)):
        after = [p.pain_after for p in visit.points if p.pain_after is not None]
        trend.append(TrendPoint(visit.visit_date,
                                sum(p.pain_before for p in visit.points) / len(visit.points),
                                sum(after) / len(after) if after else None))
    return trend


def site_trends(session: Session, patient: Patient, *,
                muscle: str | None = None) -> list[SiteTrend]:
    """Per muscle and side, mean pain before and after at each visit (computed in SQL)."""
    query = (select(InjectedPoint.muscle, InjectedPoint.side, VisitRevision.visit_date,
                    func.avg(cast(InjectedPoint.pain_before, Float)),
                    func.avg(cast(InjectedPoint.pain_after, Float)))
             .join(VisitRevision, VisitRevision.id == InjectedPoint.revision_id)
             .join(Visit, Visit.id == VisitRevision.visit_id)
             .where(owned_by(Visit.patient_id, patient.id), latest_revision(), not_voided())
             .group_by(InjectedPoint.muscle, InjectedPoint.side, Visit.id,
                       VisitRevision.visit_date)
             .order_by(InjectedPoint.muscle, InjectedPoint.side, VisitRevision.visit_date,
                       Visit.id))
    if muscle is not None:
        query = query.where(InjectedPoint.muscle == muscle)
    rows = session.execute(query).all()
    return [SiteTrend(key, side, tuple(TrendPoint(date, float(before),
                                                  None if after is None else float(after))
                                       for _, _, date, before, after in group))
            for (key, side), group in groupby(rows, key=lambda row: (row[0], row[1]))]


@dataclass(frozen=True)
class PegPoint:
    """A PEG (pain, enjoyment of life, general activity; 0-10 each) on its day: a visit's or
    a follow-up's."""

    day: dt.date
    visit_id: int
    follow_up_id: int | None  # None: asked at the visit
    items: tuple[int, int, int]

    @property
    def score(self) -> float:
        return round(float(clinical.peg_score(*self.items) or 0), 1)


def peg_trend(session: Session, patient: Patient) -> list[PegPoint]:
    """The patient's PEGs over time, oldest first: at each visit (latest revision, not
    voided) and at its follow-ups. One statement."""
    visits = (select(VisitRevision.visit_date.label("day"), Visit.id.label("visit_id"),
                     literal(None, Integer).label("follow_up_id"),
                     VisitRevision.peg_pain, VisitRevision.peg_enjoyment,
                     VisitRevision.peg_activity)
              .join(Visit, Visit.id == VisitRevision.visit_id)
              .where(owned_by(Visit.patient_id, patient.id), latest_revision(), not_voided(),
                     VisitRevision.peg_pain.is_not(None)))
    follow_ups = (select(FollowUp.reported_on, Visit.id, FollowUp.id, FollowUp.peg_pain,
                         FollowUp.peg_enjoyment, FollowUp.peg_activity)
                  .join(Visit, Visit.id == FollowUp.visit_id)
                  .where(owned_by(Visit.patient_id, patient.id), not_voided(),
                         FollowUp.peg_pain.is_not(None)))
    both = union_all(visits, follow_ups).subquery()
    rows = session.execute(select(both).order_by(both.c.day, both.c.visit_id,
                                                 both.c.follow_up_id.is_not(None),
                                                 both.c.follow_up_id))
    return [PegPoint(day, visit_id, follow_up_id, (pain, enjoyment, activity))
            for day, visit_id, follow_up_id, pain, enjoyment, activity in rows]


@dataclass(frozen=True)
class MotionTrend:
    """A range of motion across the patient's visits (revision 0010), oldest first."""

    movement: str
    side: str | None
    visits: tuple[tuple[dt.date, int | None, int | None], ...]  # date, before, after


def motion_trends(session: Session, patient: Patient) -> list[MotionTrend]:
    """Each movement (and side) measured at the patient's visits, with its values."""
    query = (select(RangeOfMotion.movement, RangeOfMotion.side, VisitRevision.visit_date,
                    RangeOfMotion.value_before, RangeOfMotion.value_after)
             .join(VisitRevision, VisitRevision.id == RangeOfMotion.revision_id)
             .join(Visit, Visit.id == VisitRevision.visit_id)
             .where(owned_by(Visit.patient_id, patient.id), latest_revision(), not_voided())
             .order_by(RangeOfMotion.movement, RangeOfMotion.side, VisitRevision.visit_date,
                       Visit.id))
    rows = session.execute(query).all()
    return [MotionTrend(movement, getattr(side, "value", side),
                        tuple((day, before, after) for _, _, day, before, after in group))
            for (movement, side), group in groupby(rows, key=lambda row: (row[0], row[1]))]
