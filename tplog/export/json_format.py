"""JSON: patients -> visits -> points, with the CSV's fields under stable names.

Written patient by patient as the visits stream past, so memory stays flat.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import groupby
from typing import IO, Any

from tplog import clinical, jsonout, vocab
from tplog.export.select import ExportVisit

FORMAT_VERSION = 1


def _date(visit: ExportVisit, value: Any) -> Any:
    if value is None:
        return None
    return value.year if visit.year_only else value.isoformat()


def _dose(visit: ExportVisit, rules: clinical.Rules) -> dict[str, Any] | None:
    check = visit.dose(rules)
    if check is None:
        return None
    combined = check.combined
    return {"day": _date(visit, check.day), "weight": check.weight_note,
            "drugs": [{"anaesthetic": d.anaesthetic, "mg": float(d.mg),
                       "limit_mg": None if d.limit_mg is None else float(d.limit_mg),
                       "fraction": None if d.fraction is None else float(d.fraction),
                       "basis": d.basis} for d in check.drugs],
            "combined_fraction": None if combined is None else float(combined),
            "needs_confirmation": check.needs_confirmation}


def visit_document(visit: ExportVisit, rules: clinical.Rules | None = None) -> dict[str, Any]:
    rules = rules or clinical.Rules()
    change = visit.change
    return {
        "visit": visit.shown_id, "visit_date": _date(visit, visit.visit_date),
        "age_at_visit": visit.age_at_visit, "practitioner": visit.practitioner,
        # The letterhead: the practitioner's record, linked by the name (revision 0013).
        "practitioner_credentials": visit.practitioner_credentials,
        "practitioner_npi": visit.practitioner_npi,
        "peg": jsonout.peg(visit.peg),
        "pregnant": visit.pregnant,  # yes, no, unknown; null: not asked (as `visit show`)
        "conditions": [{"key": key, "name": vocab.CONDITION_BY_KEY[key].name,
                        "icd10": vocab.CONDITION_BY_KEY[key].icd10} for key in visit.conditions],
        "note": visit.note,
        "points": [jsonout.point(p) for p in visit.points],
        "procedure": jsonout.procedure_details(visit.procedure),
        "range_of_motion": [jsonout.measurement(m) for m in visit.range_of_motion],
        "reduction_of_mean_percent": None if change is None else change.percent,
        "band": None if change is None else change.band,
        "dose_check": _dose(visit, rules),
        "steroid_mg": {steroid: float(mg) for steroid, mg in clinical.steroid_totals(
            [part for p in visit.points for part in p.doses]).items()},
        "lots": [{"drug": lot.drug, "lot": lot.lot, "expiry": lot.expiry}
                 for lot in visit.lots],
        "cpt": [{"code": c.code, "muscles": list(c.muscles), "dry_needling": c.dry_needling,
                 "rule": c.rule} for c in visit.cpt(rules)],
        "adverse_events": [{"kind": e.kind, "kind_name": e.kind_name,
                            "severity": e.severity, "occurred_on": _date(visit, e.occurred_on),
                            "outcome": e.outcome, "note": e.note}
                           for e in visit.adverse_events],
        **record(visit),
    }


def record(visit: ExportVisit) -> dict[str, Any]:
    """The rest of the visit's record: follow-ups with the relief they show, how long relief
    of >= 30 % lasted, addenda, the amendment (null: as logged) and the safety checks'
    findings recorded with it, with how each was confirmed (under the keys of `--json`)."""
    amendment = visit.amendment
    return {
        "follow_ups": [{"reported_on": _date(visit, f.reported_on), "pain": f.pain,
                        "days_after": f.days_after, "percent_relief": f.percent_relief,
                        "note": f.note, "practitioner": f.practitioner,
                        # Revision 0013: PEG and PGIC as `visit show --json` gives them.
                        "peg": jsonout.peg(f.peg), "pgic": jsonout.pgic(f.pgic)}
                       for f in visit.follow_ups],
        "relief_days": visit.relief_days,
        "addenda": [{"text": a.text, "created_at": a.created_at.isoformat(),
                     "created_by": a.created_by, "practitioner": a.practitioner}
                    for a in visit.addenda],
        "revision": 1 if amendment is None else amendment.revision,
        "amendment": None if amendment is None else {
            "revision": amendment.revision,
            "amended_at": None if amendment.amended_at is None
            else amendment.amended_at.isoformat(),
            "amended_by": amendment.amended_by, "reason": amendment.reason},
        "warnings": [{"kind": w.kind, "message": w.message or None,
                      "confirmation": w.confirmation} for w in visit.warnings],
    }


def deidentification(deidentified: bool, shifted_dates: bool) -> str | None:
    """How the export was de-identified, as the JSON says it."""
    if not deidentified:
        return None
    return "shifted-dates-not-safe-harbor" if shifted_dates else "safe-harbor"


def visit_numbers(deidentified: bool) -> str:
    """What each visit's "visit" is: its id in tplog (`tplog visit show ID`), or, in a
    de-identified export, which shows no database ids, its number within this export."""
    return "within-this-export" if deidentified else "tplog-visit-id"


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: clinical.Rules | None = None) -> None:
    out.write(f'{{"format": "tplog-export", "version": {FORMAT_VERSION}, '
              f'"deidentified": {json.dumps(deidentified)}, "deidentification": '
              f'{json.dumps(deidentification(deidentified, shifted_dates))}, "visit_numbers": '
              f'{json.dumps(visit_numbers(deidentified))}, "patients": [')
    for index, (_, patient_visits) in enumerate(groupby(visits, key=lambda v: v.mrn)):
        first, *rest = list(patient_visits)  # one patient's visits: small
        patient = {"mrn": first.mrn, "name": first.patient_name,
                   "date_of_birth": _date(first, first.date_of_birth), "sex": first.sex,
                   "weight_kg": first.weight_kg,
                   "visits": [visit_document(v, rules) for v in (first, *rest)]}
        out.write(("," if index else "") + "\n  " + json.dumps(patient, ensure_ascii=False))
        if on_point is not None:
            for v in (first, *rest):
                for _ in v.points:
                    on_point()
    out.write("\n]}\n")
