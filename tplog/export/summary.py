"""The printable visit summary, as self-contained HTML (body chart, trend chart) or Markdown.

For the referring physician and the patient: who, when, by whom, for what (with codes), each
point's pain before → after with % change, soreness and numbness, drug and total dose, the
billing suggestion, and aftercare. One patient's visits are held together (a few at most)
so that a multi-visit summary can open with the pain trend; patients stream one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape
from itertools import groupby
from typing import IO

from tplog import clinical, vocab
from tplog.clinical import percent_reduction, thorax_reminder, thorax_sites
from tplog.entry import as_text
from tplog.export import bodychart
from tplog.export.records import ExportVisit

# Reference, "What a trigger point injection visit records": soreness or numbness at the site
# is common afterwards; strenuous activity is avoided for a few days.
AFTERCARE = ("Aftercare: soreness or numbness at the injection sites is common for a day or "
             "two; avoid strenuous activity for a few days.")
UNRECORDED = "—"


def _text(value: object) -> str:
    return as_text(value, UNRECORDED)


def _when(visit: ExportVisit) -> str:
    return str(visit.visit_date.year) if visit.birth_year_only else visit.visit_date.isoformat()


def _change(before: int, after: int | None) -> str:
    if after is None:
        return f"{before} → {UNRECORDED}"
    percent = percent_reduction(before, after)
    points = f"{after - before:+d} points"
    if percent is None:
        return f"{before} → {after} ({points}; % change undefined: no pain before)"
    if after == before:
        return f"{before} → {after} (no change)"
    return (f"{before} → {after} ({points}, {abs(percent):.0f} % "
            f"{'less' if percent > 0 else 'more'})")


def _mean_change(visit: ExportVisit) -> str:
    change = visit.change
    if change is None or change.percent is None:
        return UNRECORDED
    return (f"{change.percent:.0f} % ({change.band}; {change.points:+.1f} points, mean "
            f"{float(change.pain_before):.1f} → {float(change.pain_after):.1f})")


def _conditions(visit: ExportVisit) -> list[str]:
    return [f"{vocab.CONDITION_BY_KEY[k].name}"
            + (f" ({vocab.CONDITION_BY_KEY[k].icd10})" if vocab.CONDITION_BY_KEY[k].icd10
               else " (no code)") for k in visit.conditions]


def _doses(visit: ExportVisit, rules: clinical.Rules) -> list[str]:
    drugs = sorted({p.drug for p in visit.points if p.drug is not None})
    volume = {d: sum(p.volume_ml or 0 for p in visit.points if p.drug == d) for d in drugs}
    lines = [f"{vocab.DRUG_BY_KEY[d].name}: {volume[d]:g} mL in total" for d in drugs
             if vocab.DRUG_BY_KEY[d].injects]
    check = visit.dose(rules)
    if check is not None:
        lines.append(f"Local anaesthetic dose: {check.summary}")
    return lines


def _notes(visit: ExportVisit, rules: clinical.Rules) -> list[str]:
    notes = [cpt.text for cpt in visit.cpt(rules)]
    notes.append(AFTERCARE)
    thorax = thorax_sites([(p.muscle, p.side) for p in visit.points])
    if thorax:
        notes.append(thorax_reminder(thorax))
    return notes


def _patients(visits: Iterable[ExportVisit]) -> Iterable[list[ExportVisit]]:
    for _, group in groupby(visits, key=lambda v: v.mrn):
        yield list(group)


# --- HTML -----------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 60em; }
header { border-bottom: 2px solid #444; margin-bottom: 1em; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: .25em .5em; text-align: left; font-size: .9em; }
th { background: #eee; } .muted { color: #666; font-size: .85em; }
section.visit { page-break-inside: avoid; break-inside: avoid; margin-bottom: 2em; }
section.patient { page-break-after: always; break-after: page; }
@media print { body { margin: 0; } a { color: inherit; } }
"""


def _html_visit(visit: ExportVisit, rules: clinical.Rules) -> str:
    rows = "".join(
        f"<tr><td>{p.position}</td><td>{escape(vocab.MUSCLE_BY_KEY[p.muscle].name)}</td>"
        f"<td>{'left' if p.side == 'L' else 'right'}</td>"
        f"<td>{escape(_change(p.pain_before, p.pain_after))}</td>"
        f"<td>{escape(_text(p.band))}</td><td>{_text(p.twitch_response)}</td>"
        f"<td>{_text(p.soreness)}</td><td>{_text(p.numbness)}</td>"
        f"<td>{escape(vocab.DRUG_BY_KEY[p.drug].name) if p.drug else UNRECORDED}</td>"
        f"<td>{_text(p.volume_ml)}</td></tr>" for p in visit.points)
    facts = [f"<b>Date:</b> {_when(visit)}"]
    if visit.practitioner:
        facts.append(f"<b>Practitioner:</b> {escape(visit.practitioner)}")
    facts.append("<b>Conditions:</b> " + (escape("; ".join(_conditions(visit))) or UNRECORDED))
    facts.append("<b>Reduction of mean pain:</b> " + escape(_mean_change(visit)))
    facts += [escape(line) for line in _doses(visit, rules)]
    note = f"<p><b>Note:</b> {escape(visit.note)}</p>" if visit.note else ""
    return (f'<section class="visit" id="visit-{visit.number}"><h3>Visit {visit.number}: '
            f"{_when(visit)}</h3><p>{'<br>'.join(facts)}</p>"
            "<table><thead><tr><th>#</th><th>Muscle</th><th>Side</th><th>Pain before → "
            "after (change)</th><th>Band</th><th>Twitch</th><th>Soreness</th><th>Numbness</th>"
            f"<th>Drug</th><th>mL</th></tr></thead><tbody>{rows}</tbody></table>"
            f"{bodychart.svg(visit.points)}{note}"
            + "".join(f'<p class="muted">{escape(n)}</p>' for n in _notes(visit, rules))
            + "</section>")


def _html_patient(visits: Sequence[ExportVisit], deidentified: bool,
                  rules: clinical.Rules) -> str:
    first = visits[0]
    who = (f"Research id {escape(first.mrn)}" if deidentified
           else f"{escape(first.patient_name or '')} (MRN {escape(first.mrn)})")
    details = [f"sex {escape(_text(first.sex))}"]
    if first.date_of_birth is not None:
        details.append(f"born {first.date_of_birth.isoformat()}")
    if first.age_at_visit is not None:
        details.append(f"age {escape(first.age_at_visit)} at the first visit shown")
    trend = ""
    if len(visits) > 1:
        before = [sum(p.pain_before for p in v.points) / len(v.points) for v in visits]
        after = [(sum(a) / len(a)) if (a := [p.pain_after for p in v.points
                                             if p.pain_after is not None]) else None
                 for v in visits]
        trend = ("<h3>Pain across visits (mean of the points, 0-10)</h3>"
                 + bodychart.trend_svg([_when(v) for v in visits], before, after))
    return (f'<section class="patient"><h2>{who}</h2><p>{", ".join(details)}</p>{trend}'
            + "".join(_html_visit(v, rules) for v in visits) + "</section>")


def write_html(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
               on_point=None, rules: clinical.Rules | None = None) -> None:  # type: ignore[no-untyped-def]
    out.write('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
              "<title>Trigger point injection visit summary</title>"
              f"<style>{STYLE}</style></head><body><header>"
              "<h1>Trigger point injection visit summary</h1>"
              f'<p class="muted">Prepared with tplog on {dt.date.today().isoformat()}'
              + (". De-identified (HIPAA Safe Harbor): no names, MRNs or notes; dates "
                 "shifted" if deidentified else "") + ".</p></header>\n")
    for patient_visits in _patients(visits):
        out.write(_html_patient(patient_visits, deidentified, rules or clinical.Rules())
                  + "\n")
        if on_point is not None:
            for v in patient_visits:
                for _ in v.points:
                    on_point()
    out.write("</body></html>\n")


# --- Markdown -------------------------------------------------------------------------------

def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _md_visit(visit: ExportVisit, rules: clinical.Rules) -> str:
    lines = [f"### Visit {visit.number}: {_when(visit)}", ""]
    if visit.practitioner:
        lines.append(f"- Practitioner: {visit.practitioner}")
    lines.append("- Conditions: " + ("; ".join(_conditions(visit)) or UNRECORDED))
    lines.append("- Reduction of mean pain: " + _mean_change(visit))
    lines += [f"- {line}" for line in _doses(visit, rules)]
    lines += ["", "| # | Muscle | Side | Pain before → after (change) | Band | Twitch | "
              "Soreness | Numbness | Drug | mL |", "|---|---|---|---|---|---|---|---|---|---|"]
    for p in visit.points:
        lines.append("| " + " | ".join(_md_cell(c) for c in (
            str(p.position), vocab.MUSCLE_BY_KEY[p.muscle].name,
            "left" if p.side == "L" else "right", _change(p.pain_before, p.pain_after),
            _text(p.band), _text(p.twitch_response), _text(p.soreness), _text(p.numbness),
            vocab.DRUG_BY_KEY[p.drug].name if p.drug else UNRECORDED,
            _text(p.volume_ml))) + " |")
    lines.append("")
    if visit.note:
        lines += [f"Note: {visit.note}", ""]
    lines += [f"_{n}_" for n in _notes(visit, rules)]
    return "\n".join(lines) + "\n"


def write_markdown(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
                   on_point=None, rules: clinical.Rules | None = None) -> None:  # type: ignore[no-untyped-def]
    out.write("# Trigger point injection visit summary\n\n")
    for patient_visits in _patients(visits):
        first = patient_visits[0]
        who = (f"Research id {first.mrn}" if deidentified
               else f"{first.patient_name} (MRN {first.mrn})")
        out.write(f"## {who}\n\n")
        for visit in patient_visits:
            out.write(_md_visit(visit, rules or clinical.Rules()) + "\n")
            if on_point is not None:
                for _ in visit.points:
                    on_point()
