"""Safety checks when a visit is logged: dose, reinjection, sessions a year, the thorax.

Only the dose check asks for confirmation (the CLI asks, before any write transaction, so no
lock is held while someone thinks); the others are warnings, saved with the visit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tplog import outcomes, vocab
from tplog.config import Settings
from tplog.entry import PointEntry
from tplog.models import InjectedPoint, Patient, Visit, VisitRevision
from tplog.services.visits import latest_revision, not_voided


@dataclass(frozen=True)
class Finding:
    kind: str  # dose, reinjection, sessions, thorax
    message: str

    @property
    def needs_confirmation(self) -> bool:
        return self.kind == "dose"


def assess(session: Session, *, patient: Patient, visit_date: dt.date,
           points: Sequence[PointEntry], settings: Settings,
           amending: int | None = None) -> list[Finding]:
    """The findings for a visit about to be saved; `amending`: the id of the visit being
    corrected, which is not counted against itself."""
    findings = [Finding("dose", check.warning)
                for check in outcomes.dose_checks([(p.drug, p.volume_ml) for p in points],
                                                  patient.weight_kg, settings.dose_limits)
                if check.over]
    others = [Visit.id != amending] if amending is not None else []
    findings += _reinjections(session, patient, visit_date, points, settings.reinjection_days,
                              others)
    findings += _sessions(session, patient, visit_date, settings.sessions_per_year, others)
    thorax = thorax_sites([(p.muscle, p.side.value) for p in points])
    if thorax:
        findings.append(Finding("thorax", thorax_reminder(thorax)))
    return findings


def thorax_sites(sites: Sequence[tuple[str, str]]) -> list[str]:
    """Reference, complications: pneumothorax after injections over the thorax (trapezius,
    rhomboids, serratus, intercostals, scalenes)."""
    return list(dict.fromkeys(f"{muscle} {side}" for muscle, side in sites
                              if vocab.MUSCLE_BY_KEY[muscle].over_thorax))


def thorax_reminder(sites: Sequence[str]) -> str:
    return (f"Aftercare: injected over the thorax ({', '.join(sites)}): pneumothorax risk; "
            "tell the patient to seek care at once for shortness of breath or chest pain.")


def _reinjections(session: Session, patient: Patient, visit_date: dt.date,
                  points: Sequence[PointEntry], days: int, others: list[Any]) -> list[Finding]:
    sites = {(p.muscle, p.side.value) for p in points}
    window_start = visit_date - dt.timedelta(days=days)
    query = (select(InjectedPoint.muscle, InjectedPoint.side,
                    func.max(VisitRevision.visit_date))
             .join(VisitRevision, VisitRevision.id == InjectedPoint.revision_id)
             .join(Visit, Visit.id == VisitRevision.visit_id)
             .where(Visit.patient_id == patient.id, latest_revision(), not_voided(),
                    VisitRevision.visit_date >= window_start,
                    VisitRevision.visit_date <= visit_date,
                    InjectedPoint.muscle.in_({muscle for muscle, _ in sites}), *others)
             .group_by(InjectedPoint.muscle, InjectedPoint.side))
    findings = []
    for muscle, side, last in session.execute(query):
        if (muscle, side) in sites:
            gap = (visit_date - last).days
            findings.append(Finding(
                "reinjection", f"{muscle} {side} was injected on {last}, {gap} day(s) before "
                               f"this visit (flagged within {days} days)"))
    return sorted(findings, key=lambda f: f.message)


def _sessions(session: Session, patient: Patient, visit_date: dt.date,
              most: int, others: list[Any]) -> list[Finding]:
    year_before = visit_date - dt.timedelta(days=365)
    earlier = session.scalar(
        select(func.count(Visit.id)).join(VisitRevision, VisitRevision.visit_id == Visit.id)
        .where(Visit.patient_id == patient.id, latest_revision(), not_voided(),
               VisitRevision.visit_date > year_before, VisitRevision.visit_date <= visit_date,
               *others))
    sessions = (earlier or 0) + 1
    if sessions <= most:
        return []
    # Reference: at most 3 sessions in a rolling 12 months (CMS LCD L39661, Medicare).
    return [Finding("sessions", f"{sessions} sessions in the 12 months to {visit_date}, more "
                                f"than {most} (the Medicare LCD figure is 3)")]
