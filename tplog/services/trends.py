"""Pain over time: per visit for a patient's history, per muscle and side for `tplog trend`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from tplog.models import InjectedPoint, Patient, RangeOfMotion, Visit, VisitRevision
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
