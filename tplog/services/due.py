"""Visits due a follow-up: old enough, none recorded yet, not voided."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from tplog.models import FollowUp, InjectedPoint, Visit, VisitRevision
from tplog.services.queries import MERGED_INTO, WRITTEN_FOR, latest_revision, not_voided


@dataclass(frozen=True)
class DueVisit:
    visit_id: int
    mrn: str
    patient_name: str
    visit_date: dt.date
    sites: tuple[str, ...]  # "upper-trapezius L", as injected
    days_since: int


def due(session: Session, *, days: int, today: dt.date | None = None) -> list[DueVisit]:
    """Visits `days` or more days old (by their latest revision's date) with no follow-up,
    not voided, oldest first; the patient a duplicate was merged into named."""
    today = today or dt.date.today()
    query = due_query(today - dt.timedelta(days=days))
    return [DueVisit(visit_id=visit_id, mrn=mrn, patient_name=name, visit_date=day,
                     sites=tuple(dict.fromkeys(sorted(sites.split("|")))),
                     days_since=(today - day).days)
            for visit_id, mrn, name, day, sites in session.execute(query)]


def due_query(cutoff: dt.date) -> Select[int, str, str, dt.date, str]:
    """One statement: the follow-up and void checks are NOT EXISTS on their indexed visit
    ids (ix_follow_up_visit, visit_void's key), the date on ix_visit_revision_date, the
    sites one aggregate over the latest revision's points (no query per visit)."""
    written, owner = WRITTEN_FOR, MERGED_INTO
    site = InjectedPoint.muscle + literal_column("' '") + InjectedPoint.side
    no_follow_up = ~select(literal_column("1")).where(FollowUp.visit_id == Visit.id).exists()
    query = (select(Visit.id, func.coalesce(owner.mrn, written.mrn),
                    func.coalesce(owner.name, written.name), VisitRevision.visit_date,
                    func.aggregate_strings(site, "|"))
             .join(VisitRevision, VisitRevision.visit_id == Visit.id)
             .join(InjectedPoint, InjectedPoint.revision_id == VisitRevision.id)
             .join(written, written.id == Visit.patient_id)
             .outerjoin(owner, owner.id == written.merged_into)
             .where(latest_revision(), not_voided(), no_follow_up,
                    VisitRevision.visit_date <= cutoff)
             .group_by(Visit.id, written.mrn, written.name, owner.mrn, owner.name,
                       VisitRevision.visit_date)
             .order_by(VisitRevision.visit_date, Visit.id))
    return query
