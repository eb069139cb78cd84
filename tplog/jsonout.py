"""The --json documents: stable key names, ISO dates, null for "not recorded".

The shapes are documented in README ("JSON output"); change them only with that section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tplog import points, procedure, vocab
from tplog.points import Point
from tplog.procedure import Measurement, Procedure
from tplog.services.audit import EventView
from tplog.services.summary import OutcomeMeasures
from tplog.services.trends import MotionTrend, PegPoint, SiteTrend, TrendPoint, visit_trend
from tplog.services.views import (
    AddendumView,
    AdverseEventRate,
    AdverseEventView,
    FollowUpView,
    PatientView,
    Peg,
    PractitionerView,
    RevisionView,
    ScreenView,
    SummaryRow,
    VisitView,
    peg_score,
)
from tplog.services.visit_list import VisitList


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def patient(p: PatientView) -> dict[str, Any]:
    # "merged_into" only for a duplicate merged into another (listed with --all only), so
    # the keys of every patient a reader meets otherwise stay as they were.
    return {"mrn": p.mrn, "name": p.name, "date_of_birth": _iso(p.date_of_birth), "sex": p.sex,
            "weight_kg": p.weight_kg, "visit_count": p.visit_count,
            "last_visit_date": _iso(p.last_visit_date),
            **({"merged_into": p.merged_into} if p.merged_into is not None else {})}


def point(p: Point) -> dict[str, Any]:
    """A point under the same keys in --json and the json export: its findings by their
    names in points.FIELDS, with what derives from them."""
    return {"position": p.position, **points.values(p), "muscle_name": p.muscle_name,
            "region": p.region, "pain_change": p.pain_change,
            "percent_reduction": p.percent_reduction, "band": p.band,
            # What it injected, drug by drug: a mixture's parts, or its one drug.
            "components": [{"drug": drug, "volume_ml": ml} for drug, ml in p.doses
                           if drug is not None]}


def procedure_details(p: Procedure) -> dict[str, Any]:
    """The procedure under its fields' names (tplog.procedure.FIELDS); null: not recorded."""
    return {**procedure.values(p), "needle": p.needle}


def measurement(m: Measurement) -> dict[str, Any]:
    return {"position": m.position, **procedure.rom_values(m), "unit": m.unit,
            "change": m.change}


def visit(v: VisitView) -> dict[str, Any]:
    return {"id": v.id, "mrn": v.mrn, "visit_date": _iso(v.visit_date),
            "practitioner": v.practitioner,
            "conditions": [{"key": key, "name": vocab.CONDITION_BY_KEY[key].name,
                            "icd10": vocab.CONDITION_BY_KEY[key].icd10}
                           for key in v.conditions],
            "note": v.note, "created_at": _iso(v.created_at), "created_by": v.created_by,
            "reduction_of_mean_percent": v.percent_reduction, "band": v.band,
            "mean_pain_change": None if v.change is None else v.change.points,
            "points": [point(p) for p in v.points],
            "procedure": procedure_details(v.procedure),
            "range_of_motion": [measurement(m) for m in v.range_of_motion],
            "dose_totals_mg": v.dose_totals,
            "dose_check": dose_check(v),
            "steroids": [{"steroid": d.steroid, "visit_mg": float(d.visit_mg),
                          "twelve_month_mg": float(d.year_mg), "threshold_mg": d.limit_mg}
                         for d in v.steroids],
            "lots": [{"drug": lot.drug, "lot": lot.lot, "expiry": lot.expiry}
                     for lot in v.lots],
            "day_visits": list(v.day_visits),
            "cpt": [{"code": c.code, "muscles": list(c.muscles), "dry_needling": c.dry_needling,
                     "rule": c.rule, "text": c.text} for c in v.cpt],
            "warnings": [{"kind": w.kind, "message": w.message,
                          "confirmation": w.confirmation} for w in v.warnings],
            "follow_ups": [follow_up(v, f) for f in v.follow_ups],
            "relief_days": v.relief_days,
            "revision": v.revision,
            "void": None if v.void is None else {
                "reason": v.void.reason, "voided_at": _iso(v.void.voided_at),
                "voided_by": v.void.voided_by, "practitioner": v.void.practitioner},
            "addenda": [addendum(a) for a in v.addenda],
            # Revision 0013: the practitioner's record (linked by the name) and the PEG.
            "practitioner_record": practitioner(v.practitioner_record),
            "peg": peg(v.peg),
            # Revision 0012: pregnancy status asked at the visit, adverse events after it.
            "pregnant": v.pregnant,
            "adverse_events": [adverse_event(e) for e in v.adverse_events],
            **({"revisions": [revision(r) for r in v.revisions]} if v.revisions else {})}


def follow_up(v: VisitView, f: FollowUpView) -> dict[str, Any]:
    return {"id": f.id, "reported_on": _iso(f.reported_on), "pain": f.pain,
            "days_after": v.days_after(f), "percent_relief": v.relief_at(f),
            "note": f.note, "practitioner": f.practitioner, "peg": peg(f.peg),
            "pgic": pgic(f.pgic)}


def peg(items: Peg | None) -> dict[str, Any] | None:
    """PEG's three items (0-10) and its score, their mean (Krebs et al. 2009)."""
    if items is None:
        return None
    return {"pain": items[0], "enjoyment": items[1], "activity": items[2],
            "score": peg_score(items)}


def pgic(value: int | None) -> dict[str, Any] | None:
    """PGIC as its number (1-7) and its words."""
    return None if value is None else {"value": value, "text": vocab.PGIC[value]}


def practitioner(p: PractitionerView | None) -> dict[str, Any] | None:
    """The record of the practitioner named: credentials and NPI for a letterhead."""
    if p is None:
        return None
    return {"id": p.id, "name": p.name, "credentials": p.credentials, "npi": p.npi,
            "signed": p.signed}


def adverse_event(e: AdverseEventView) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "kind_name": e.kind_name, "severity": e.severity,
            "occurred_on": _iso(e.occurred_on), "outcome": e.outcome, "note": e.note,
            "practitioner": e.practitioner}


def adverse_event_rates(rows: Sequence[AdverseEventRate]) -> list[dict[str, Any]]:
    return [{"kind": r.kind, "name": r.name, "events": r.events, "points": r.points,
             "per_1000_points": r.per_thousand_points} for r in rows]


def screen(s: ScreenView) -> dict[str, Any]:
    """The pre-procedure screen as it stands; null where nothing was ever recorded."""
    return {"allergies": [{"id": a.id, "substance": a.substance, "reaction": a.reaction,
                           "since": _iso(a.since), "drugs": list(a.drugs)}
                          for a in s.allergies],
            "allergies_recorded": s.allergies_recorded,
            "anticoagulants": None if s.anticoagulants is None else [
                {"drug": a.drug, "since": _iso(a.since)} for a in s.anticoagulants],
            "anticoagulants_off_since": _iso(s.anticoagulants_off_since),
            "bleeding_disorder": s.bleeding_disorder, "bleeding_note": s.bleeding_note}


def addendum(a: AddendumView) -> dict[str, Any]:
    return {"id": a.id, "text": a.text, "created_at": _iso(a.created_at),
            "created_by": a.created_by, "practitioner": a.practitioner}


def dose_check(v: VisitView) -> dict[str, Any] | None:
    """The day's local anaesthetics, each against the limit it was checked against."""
    if v.dose is None:
        return None
    combined = v.dose.combined
    return {"day": _iso(v.dose.day), "weight": v.dose.weight_note,
            "drugs": [{"anaesthetic": d.anaesthetic, "mg": float(d.mg),
                       "limit_mg": None if d.limit_mg is None else float(d.limit_mg),
                       "fraction": None if d.fraction is None else float(d.fraction),
                       "basis": d.basis} for d in v.dose.drugs],
            "combined_fraction": None if combined is None else float(combined),
            "needs_confirmation": v.dose.needs_confirmation,
            "unconfirmed": v.dose_unconfirmed}


def revision(r: RevisionView) -> dict[str, Any]:
    return {"number": r.number, "visit_date": _iso(r.visit_date),
            "practitioner": r.practitioner, "conditions": list(r.conditions), "note": r.note,
            "reason": r.reason, "created_at": _iso(r.created_at), "created_by": r.created_by,
            "changes": list(r.changes), "points": [point(p) for p in r.points],
            "procedure": procedure_details(r.procedure),
            "range_of_motion": [measurement(m) for m in r.range_of_motion],
            "peg": peg(r.peg)}


def history(p: PatientView, visits: Sequence[VisitView]) -> dict[str, Any]:
    return {"patient": patient(p), "visits": [visit(v) for v in visits],
            "trend": [trend_point(t) for t in visit_trend(visits)]}


def trend_point(t: TrendPoint) -> dict[str, Any]:
    return {"visit_date": _iso(t.visit_date), "mean_pain_before": t.pain_before,
            "mean_pain_after": t.pain_after}


def peg_point(p: PegPoint) -> dict[str, Any]:
    return {"date": _iso(p.day), "visit": p.visit_id, "follow_up": p.follow_up_id,
            **(peg(p.items) or {})}


def site_trend(t: SiteTrend) -> dict[str, Any]:
    return {"muscle": t.muscle, "side": t.side, "visits": [trend_point(v) for v in t.visits]}


def motion_trend(t: MotionTrend) -> dict[str, Any]:
    return {"movement": t.movement, "side": t.side,
            "unit": vocab.MOVEMENT_BY_KEY[t.movement].unit,
            "visits": [{"visit_date": _iso(day), "value_before": before, "value_after": after}
                       for day, before, after in t.visits]}


def summary(rows: Sequence[SummaryRow], by: str | None, since: Any, until: Any, *,
            mrn: str | None = None, condition: str | None = None, muscle: str | None = None,
            practitioner: str | None = None) -> dict[str, Any]:
    return {"by": by, "since": _iso(since), "until": _iso(until), "mrn": mrn,
            "condition": condition, "muscle": muscle, "practitioner": practitioner,
            "groups": [{"group": r.group, "visits": r.visits, "points": r.points,
                        "mean_pain_before": r.mean_pain_before,
                        "mean_pain_after": r.mean_pain_after,
                        "reduction_of_mean_percent": r.reduction_of_mean,
                        "median_percent_reduction": r.median_reduction,
                        "share_30": r.share_30, "share_50": r.share_50,
                        "share_worse": r.share_worse,
                        "twitch_rate": r.twitch_rate,
                        "reduction_with_twitch": r.reduction_with_twitch,
                        "reduction_without_twitch": r.reduction_without_twitch,
                        "visits_followed_up": r.visits_followed_up,
                        "reduction_by_sign": {
                            name: {"with": found, "without": absent}
                            for name, (found, absent) in r.reduction_by_sign.items()},
                        "mean_relief_days": r.mean_relief_days} for r in rows]}


def outcome_measures(m: OutcomeMeasures) -> dict[str, Any]:
    return {"patients_with_peg_change": m.patients_with_peg_change,
            "mean_peg_change": m.mean_peg_change,
            "follow_ups_with_pgic": m.follow_ups_with_pgic,
            "share_pgic_much_improved": m.share_pgic_improved}


def visit_list(found: VisitList, *, since: Any, until: Any, muscle: str | None,
               condition: str | None, practitioner: str | None, include_void: bool,
               limit: int) -> dict[str, Any]:
    visits = []
    for v in found.visits:
        change = v.change
        visits.append({
            "id": v.id, "visit_date": _iso(v.visit_date), "mrn": v.mrn,
            "patient_name": v.patient_name, "practitioner": v.practitioner,
            "voided": v.voided,
            "sites": [{"muscle": s.muscle, "side": s.side, "pain_before": s.pain_before,
                       "pain_after": s.pain_after} for s in v.sites],
            "mean_pain_before": v.mean_pain_before, "mean_pain_after": v.mean_pain_after,
            "reduction_of_mean_percent": None if change is None else change.percent,
            "band": None if change is None else change.band})
    return {"since": _iso(since), "until": _iso(until), "muscle": muscle,
            "condition": condition, "practitioner": practitioner,
            "include_void": include_void, "limit": limit, "total": found.total,
            "more": found.more, "visits": visits}


def event(e: EventView) -> dict[str, Any]:
    return {"id": e.id, "occurred_at": _iso(e.occurred_at), "os_user": e.os_user,
            "practitioner": e.practitioner, "action": e.action, "target": e.target,
            "mrn": e.mrn}
