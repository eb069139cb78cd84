"""The --json documents: stable key names, ISO dates, null for "not recorded".

The shapes are documented in README ("JSON output"); change them only with that section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tplog import vocab
from tplog.services.audit import EventView
from tplog.services.views import (
    PatientView,
    PointView,
    RevisionView,
    SummaryRow,
    VisitView,
)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def patient(p: PatientView) -> dict[str, Any]:
    return {"mrn": p.mrn, "name": p.name, "date_of_birth": _iso(p.date_of_birth), "sex": p.sex,
            "weight_kg": p.weight_kg, "visit_count": p.visit_count,
            "last_visit_date": _iso(p.last_visit_date)}


def point(p: PointView) -> dict[str, Any]:
    return {"position": p.position, "muscle": p.muscle, "muscle_name": p.muscle_name,
            "region": p.region, "side": p.side, "pain_before": p.pain_before,
            "pain_after": p.pain_after, "pain_change": p.pain_change,
            "percent_reduction": p.percent_reduction, "twitch_response": p.twitch_response,
            "soreness": p.soreness, "numbness": p.numbness, "drug": p.drug,
            "volume_ml": p.volume_ml}


def visit(v: VisitView) -> dict[str, Any]:
    return {"id": v.id, "mrn": v.mrn, "visit_date": _iso(v.visit_date),
            "practitioner": v.practitioner,
            "conditions": [{"key": key, "name": vocab.CONDITION_BY_KEY[key].name,
                            "icd10": vocab.CONDITION_BY_KEY[key].icd10}
                           for key in v.conditions],
            "note": v.note, "created_at": _iso(v.created_at), "created_by": v.created_by,
            "mean_percent_reduction": v.mean_percent_reduction,
            "points": [point(p) for p in v.points],
            "revision": v.revision,
            "void": None if v.void is None else {
                "reason": v.void.reason, "voided_at": _iso(v.void.voided_at),
                "voided_by": v.void.voided_by, "practitioner": v.void.practitioner},
            "addenda": [{"text": a.text, "created_at": _iso(a.created_at),
                         "created_by": a.created_by, "practitioner": a.practitioner}
                        for a in v.addenda],
            **({"revisions": [revision(r) for r in v.revisions]} if v.revisions else {})}


def revision(r: RevisionView) -> dict[str, Any]:
    return {"number": r.number, "visit_date": _iso(r.visit_date),
            "practitioner": r.practitioner, "conditions": list(r.conditions), "note": r.note,
            "reason": r.reason, "created_at": _iso(r.created_at), "created_by": r.created_by,
            "changes": list(r.changes), "points": [point(p) for p in r.points]}


def history(p: PatientView, visits: Sequence[VisitView]) -> dict[str, Any]:
    return {"patient": patient(p), "visits": [visit(v) for v in visits]}


def summary(rows: Sequence[SummaryRow], by: str | None, since: Any, until: Any) -> dict[str, Any]:
    return {"by": by, "since": _iso(since), "until": _iso(until),
            "groups": [{"group": r.group, "visits": r.visits, "points": r.points,
                        "mean_pain_before": r.mean_pain_before,
                        "mean_pain_after": r.mean_pain_after,
                        "mean_percent_reduction": r.mean_percent_reduction,
                        "share_30": r.share_30, "share_50": r.share_50,
                        "twitch_rate": r.twitch_rate} for r in rows]}


def event(e: EventView) -> dict[str, Any]:
    return {"id": e.id, "occurred_at": _iso(e.occurred_at), "os_user": e.os_user,
            "practitioner": e.practitioner, "action": e.action, "target": e.target,
            "mrn": e.mrn}
