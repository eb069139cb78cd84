"""Safety checks when a visit is logged or amended: the day's local anaesthetic dose, a
missing weight, reinjection, sessions a year, the thorax.

Only the dose needs confirmation (the CLI asks before any write transaction, so no lock is
held while someone thinks); the others are warnings, saved with the visit. Every finding is
shown before the visit is saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tplog import clinical
from tplog.config import Settings
from tplog.errors import BadInput
from tplog.models import InjectedPoint, Patient, Visit, VisitRevision
from tplog.points import Point
from tplog.services import screening
from tplog.services.queries import in_scope, latest_revision, not_voided, owned_by
from tplog.services.views import ScreenView
from tplog.services.visit_views import (
    DaySite,
    day_sites,
    show_visit,
    steroid_doses,
    weights,
)
from tplog.services.visits import CONFIRMED_KINDS


@dataclass(frozen=True)
class Finding:
    # dose, steroid, weight, reinjection, sessions, repeat, thorax; duplicate, long_ago, worse;
    # allergy, anticoagulant, bleeding, pregnancy (the pre-procedure screen)
    kind: str
    message: str

    @property
    def needs_confirmation(self) -> bool:
        """Saved only when the practitioner confirms it (--yes, or the terminal's yes)."""
        return self.kind in CONFIRMED_KINDS

    @property
    def asked_on_a_terminal(self) -> bool:
        """Asked about at a terminal ("correct?"), not needed without one: a real result."""
        return self.kind == "worse"

    @property
    def recorded(self) -> bool:
        """Kept with the visit (`worse` is plain in the record itself)."""
        return self.kind != "worse"


def assess(session: Session, *, patient: Patient, visit_date: dt.date,
           points: Sequence[Point], settings: Settings,
           amending: int | None = None) -> list[Finding]:
    """The findings for a visit about to be saved; `amending`: the id of the visit being
    corrected, which is counted once (as its new points), not against itself."""
    if patient.date_of_birth is not None and visit_date < patient.date_of_birth:
        raise BadInput(f"date {visit_date} is before {patient.mrn}'s birth "
                       f"({patient.date_of_birth}); check the year")
    # The patient's other visits that day: a session is everything done on one day.
    same_day = day_sites(session, patient.id, [visit_date], excluding=amending).get(
        visit_date, [])
    findings = _entry(visit_date, points, settings, same_day)
    findings += _dose(patient, weights(session, patient), visit_date, points, settings,
                      same_day)
    findings += [Finding("steroid", f"steroid over the clinic's 12-month threshold: {d.text}")
                 for d in steroid_doses(session, patient.id, visit_date, points,
                                        settings.rules, excluding=amending) if d.over]
    others = [Visit.id != amending] if amending is not None else []
    findings += _reinjections(session, patient, visit_date, points, settings.reinjection_days,
                              others)
    findings += _sessions(session, patient, visit_date, settings.sessions_per_year, others)
    findings += _repeat(session, patient, visit_date, points, settings, amending)
    thorax = clinical.thorax_sites([(p.muscle, p.side) for p in points])
    if thorax:
        over_thorax = [(visit_id, muscle, side) for visit_id, muscle, side, *_ in same_day
                       if clinical.thorax_sites([(muscle, side)])]
        findings.append(Finding("thorax", clinical.thorax_reminder(
            thorax, same_day=clinical.thorax_sites([(m, s) for _, m, s in over_thorax]),
            visits=sorted({visit_id for visit_id, *_ in over_thorax}))))
    return findings


def screen(session: Session, *, patient: Patient, points: Sequence[Point],
           pregnant: str | None) -> tuple[ScreenView, list[Finding]]:
    """The patient's pre-procedure screen, and what it means for these points: an allergy to
    a drug injected needs confirmation (as a dose over the limit does); anticoagulant use, a
    bleeding disorder and a pregnancy are warnings saved with the visit."""
    found = screening.screen(session, patient)
    return found, [Finding(kind, message) for kind, message in screening.screen_warnings(
        found, [p.drug for p in points], pregnant)]


def _entry(visit_date: dt.date, points: Sequence[Point], settings: Settings,
           same_day: Sequence[DaySite]) -> list[Finding]:
    """What a tired clinician may have typed wrong: the same visit twice, a year off, pain
    before and after swapped."""
    findings = []
    sites = {(p.muscle, p.side) for p in points}
    by_visit: dict[int, set[tuple[str, str]]] = {}
    for visit_id, muscle, side, *_ in same_day:
        by_visit.setdefault(visit_id, set()).add((muscle, str(getattr(side, "value", side))))
    for visit_id, earlier in sorted(by_visit.items()):
        if earlier == {(m, str(getattr(s, "value", s))) for m, s in sites}:
            findings.append(Finding("duplicate", (
                f"visit {visit_id} on {visit_date} has the same sites "
                f"({', '.join(f'{m} {s}' for m, s in sorted(earlier))}): is this the same "
                "visit logged twice?")))
    years = settings.visit_years_back
    if visit_date < dt.date.today() - dt.timedelta(days=round(365.25 * years)):
        findings.append(Finding("long_ago", f"the date {visit_date} is more than {years} "
                                            "year(s) ago: is the year right?"))
    for point in points:
        if point.pain_after is not None and point.pain_after > point.pain_before:
            findings.append(Finding("worse", f"{point.site}: pain went up from "
                                             f"{point.pain_before} to {point.pain_after}"))
    return findings


def _dose(patient: Patient, weighed: Sequence[clinical.Weight], visit_date: dt.date,
          points: Sequence[Point], settings: Settings,
          earlier: Sequence[DaySite]) -> list[Finding]:
    """Every local anaesthetic the patient gets that day, this visit included, against the
    limits for the weight on record on that day (reference: dose limits, added 2026-11-30)."""
    weight = clinical.weight_on(weighed, visit_date)
    check = clinical.check_dose(
        # Every local anaesthetic of a mixture counts (its parts are in p.doses).
        [part for p in points for part in p.doses] + [(drug, ml) for *_, drug, ml in earlier],
        day=visit_date, weight=weight, date_of_birth=patient.date_of_birth,
        limits=settings.dose_limits)
    findings = []
    if weight is None:
        findings.append(Finding("weight", f"no weight on record for {patient.mrn} on "
                                          f"{visit_date} ({check.weight_note}); record one "
                                          "with `tplog patient weight`"))
    if check.warning is not None:
        same_day = sorted({visit_id for visit_id, *_ in earlier})
        counted = (f" (with visit(s) {', '.join(map(str, same_day))} the same day)"
                   if same_day else "")
        findings.append(Finding("dose", check.warning + counted))
    return findings


def _repeat(session: Session, patient: Patient, visit_date: dt.date,
            points: Sequence[Point], settings: Settings,
            amending: int | None) -> list[Finding]:
    """Each site injected again where the latest earlier visit that injected it has no
    follow-up documenting the relief a payer asks for before a repeat (reference: CMS LCD
    L39661, >= 50 % relief lasting >= 6 weeks; configurable). Site by site: several sites
    may each have been injected last at a different visit. Only follow-ups reported between
    that visit and this one count: relief reported after the repeat did not precede it."""
    named = {(p.muscle, p.side): p.site for p in points}  # each site as the point names it
    sites = set(named)
    if not sites:
        return []
    # Every earlier injection of the sites, newest first as history orders visits; the first
    # of each site is its latest. Found by the database: reading the patient's whole history
    # made every `log` of a long course slower, visit by visit.
    query = in_scope(select(Visit.id, InjectedPoint.muscle, InjectedPoint.side)
                     .join(VisitRevision, VisitRevision.visit_id == Visit.id)
                     .join(InjectedPoint, InjectedPoint.revision_id == VisitRevision.id),
                     include_void=False, since=None, until=visit_date - dt.timedelta(days=1),
                     patient_id=patient.id)
    if amending is not None:
        query = query.where(Visit.id != amending)
    query = query.where(or_(*(and_(InjectedPoint.muscle == muscle, InjectedPoint.side == side)
                              for muscle, side in sites)))
    latest: dict[tuple[str, Any], int] = {}
    for visit_id, muscle, side in session.execute(
            query.order_by(VisitRevision.visit_date.desc(), Visit.id.desc())):
        latest.setdefault((muscle, side), visit_id)
    by_visit: dict[int, list[tuple[str, Any]]] = {}
    for site, visit_id in latest.items():
        by_visit.setdefault(visit_id, []).append(site)
    findings = []
    for visit_id, repeated in by_visit.items():  # newest first
        visit = show_visit(session, visit_id)
        reported = [(f.reported_on, f.pain) for f in visit.follow_ups
                    if visit.visit_date <= f.reported_on <= visit_date]
        if clinical.repeat_documented(
                visit.mean_pain_before, visit.visit_date, reported,
                percent=settings.repeat_relief_percent, days=settings.repeat_relief_days):
            continue
        # How long the criterion's own level of relief lasted (not the 30 % of Outcomes).
        lasted = clinical.relief_lasted(visit.mean_pain_before, visit.visit_date, reported,
                                        percent=settings.repeat_relief_percent)
        if not reported:
            relief = "no follow-up was recorded" + (
                f" by {visit_date}" if visit.follow_ups else "")
        elif lasted is None:
            relief = "its relief cannot be measured (no pain before)"
        else:
            relief = f"relief of >= {settings.repeat_relief_percent} % lasted {lasted} day(s)"
        findings.append(Finding("repeat", (
            f"repeat injection of {', '.join(sorted(named[site] for site in repeated))}: visit "
            f"{visit.id} ({visit.visit_date}) has no follow-up documenting >= "
            f"{settings.repeat_relief_percent} % relief lasting >= "
            f"{settings.repeat_relief_days} days (the payer criterion for a repeat, CMS LCD "
            f"L39661); {relief}")))
    return findings


def _reinjections(session: Session, patient: Patient, visit_date: dt.date,
                  points: Sequence[Point], days: int, others: list[Any]) -> list[Finding]:
    sites = {(p.muscle, p.side) for p in points}
    window_start = visit_date - dt.timedelta(days=days)
    query = (select(InjectedPoint.muscle, InjectedPoint.side,
                    func.max(VisitRevision.visit_date))
             .join(VisitRevision, VisitRevision.id == InjectedPoint.revision_id)
             .join(Visit, Visit.id == VisitRevision.visit_id)
             .where(owned_by(Visit.patient_id, patient.id), latest_revision(), not_voided(),
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
    # A session is a day (CMS LCD L34211): two visits on one date are one session.
    year_before = visit_date - dt.timedelta(days=365)
    earlier = session.scalar(
        select(func.count(func.distinct(VisitRevision.visit_date)))
        .join(Visit, VisitRevision.visit_id == Visit.id)
        .where(owned_by(Visit.patient_id, patient.id), latest_revision(), not_voided(),
               VisitRevision.visit_date > year_before, VisitRevision.visit_date < visit_date,
               *others))
    sessions = (earlier or 0) + 1
    if sessions <= most:
        return []
    # Reference: at most 3 sessions in a rolling 12 months (CMS LCD L39661, Medicare).
    return [Finding("sessions", f"{sessions} sessions in the 12 months to {visit_date}, more "
                                f"than {most} (the Medicare LCD figure is 3)")]
