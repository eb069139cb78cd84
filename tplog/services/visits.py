"""Visits: log one with its injected points, show one, a patient's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tplog.entry import PointEntry
from tplog.errors import BadInput, NotFound
from tplog.models import InjectedPoint, Patient, Visit, VisitCondition
from tplog.services.views import PointView, VisitView


def log_visit(session: Session, *, patient: Patient, visit_date: dt.date, practitioner: str,
              conditions: Sequence[str], note: str | None, points: Sequence[PointEntry],
              created_by: str) -> VisitView:
    """Save a visit and all its points, or (on any bad value) nothing."""
    if visit_date > dt.date.today():
        raise BadInput(f"date {visit_date} is in the future; log a visit after it happens")
    if not points:
        raise BadInput("a visit needs at least one injected point")
    practitioner = practitioner.strip()
    if not practitioner or len(practitioner) > 200:
        raise BadInput(f"practitioner {practitioner!r} is not allowed; give 1-200 characters")
    visit = Visit(patient=patient, visit_date=visit_date, practitioner=practitioner,
                  note=note or None, created_at=dt.datetime.now(dt.UTC), created_by=created_by)
    visit.conditions = [VisitCondition(condition=key) for key in dict.fromkeys(conditions)]
    visit.points = [
        InjectedPoint(position=number, muscle=p.muscle, side=p.side.value,
                      twitch_response=p.twitch_response, pain_before=p.pain_before,
                      pain_after=p.pain_after,
                      soreness=p.soreness.value if p.soreness is not None else None,
                      numbness=p.numbness, drug=p.drug, volume_ml=p.volume_ml)
        for number, p in enumerate(points, start=1)
    ]
    session.add(visit)
    session.flush()
    return visit_view(visit)


def visit_view(visit: Visit, muscle: str | None = None) -> VisitView:
    return VisitView(
        id=visit.id, mrn=visit.patient.mrn, patient_name=visit.patient.name,
        visit_date=visit.visit_date, practitioner=visit.practitioner,
        conditions=tuple(c.condition for c in visit.conditions), note=visit.note,
        created_at=as_utc(visit.created_at), created_by=visit.created_by,
        points=tuple(
            PointView(position=p.position, muscle=p.muscle, side=p.side,
                      pain_before=p.pain_before, pain_after=p.pain_after,
                      twitch_response=p.twitch_response, soreness=p.soreness,
                      numbness=p.numbness, drug=p.drug, volume_ml=p.volume_ml)
            for p in visit.points if muscle is None or p.muscle == muscle),
    )


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite keeps no time zone; tplog always writes UTC, so say so on the way out."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _with_details(query):  # type: ignore[no-untyped-def]
    return query.options(selectinload(Visit.points), selectinload(Visit.conditions),
                         selectinload(Visit.patient))


def show_visit(session: Session, visit_id: int) -> VisitView:
    visit = session.scalar(_with_details(select(Visit).where(Visit.id == visit_id)))
    if visit is None:
        raise NotFound(f"no visit with id {visit_id}")
    return visit_view(visit)


def history(session: Session, patient: Patient, *, since: dt.date | None = None,
            until: dt.date | None = None, muscle: str | None = None) -> list[VisitView]:
    """The patient's visits, newest first; with a muscle, only its points and their visits."""
    query = _with_details(select(Visit).where(Visit.patient_id == patient.id))
    if since is not None:
        query = query.where(Visit.visit_date >= since)
    if until is not None:
        query = query.where(Visit.visit_date <= until)
    if muscle is not None:
        query = query.where(Visit.points.any(InjectedPoint.muscle == muscle))
    query = query.order_by(Visit.visit_date.desc(), Visit.id.desc())
    return [visit_view(v, muscle) for v in session.scalars(query)]
