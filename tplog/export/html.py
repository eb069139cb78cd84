"""The visit summary as one self-contained HTML page: body chart and trend chart inline, for
the referring physician and the patient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import IO, Any

from tplog import clinical, vocab
from tplog.export import bodychart, letter
from tplog.export.select import ExportVisit

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
        f"<td>{escape(letter.change(p.pain_before, p.pain_after))}</td>"
        f"<td>{escape(letter.text(p.band))}</td><td>{letter.text(p.twitch_response)}</td>"
        f"<td>{letter.text(p.soreness)}</td><td>{letter.text(p.numbness)}</td>"
        f"<td>{escape(vocab.DRUG_BY_KEY[p.drug].name) if p.drug else letter.UNRECORDED}</td>"
        f"<td>{letter.text(p.volume_ml)}</td></tr>" for p in visit.points)
    facts = [f"<b>Date:</b> {letter.when(visit)}"]
    if visit.practitioner:
        facts.append(f"<b>Practitioner:</b> {escape(visit.practitioner)}")
    facts.append("<b>Conditions:</b> "
                 + (escape("; ".join(letter.conditions(visit))) or letter.UNRECORDED))
    facts.append("<b>Reduction of mean pain:</b> " + escape(letter.mean_change(visit)))
    facts += [escape(line) for line in letter.doses(visit, rules)]
    note = f"<p><b>Note:</b> {escape(visit.note)}</p>" if visit.note else ""
    events = letter.adverse_events(visit)
    if events:
        note = ("<p><b>Adverse events:</b></p><ul>" + "".join(
            f"<li>{escape(line)}" + (f": {escape(text)}" if text else "") + "</li>"
            for line, text in events) + "</ul>" + note)
    return (f'<section class="visit" id="visit-{visit.shown_id}"><h3>Visit {visit.shown_id}: '
            f"{letter.when(visit)}</h3><p>{'<br>'.join(facts)}</p>"
            "<table><thead><tr><th>#</th><th>Muscle</th><th>Side</th><th>Pain before → "
            "after (change)</th><th>Band</th><th>Twitch</th><th>Soreness</th><th>Numbness</th>"
            f"<th>Drug</th><th>mL</th></tr></thead><tbody>{rows}</tbody></table>"
            f"{bodychart.svg(visit.points)}{note}"
            + "".join(f'<p class="muted">{escape(n)}</p>' for n in letter.notes(visit, rules))
            + "</section>")


def _html_patient(visits: Sequence[ExportVisit], deidentified: bool,
                  rules: clinical.Rules) -> str:
    first = visits[0]
    who = (f"Research id {escape(first.mrn)}" if deidentified
           else f"{escape(first.patient_name or '')} (MRN {escape(first.mrn)})")
    details = [f"sex {escape(letter.text(first.sex))}"]
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
                 + bodychart.trend_svg([letter.when(v) for v in visits], before, after))
    return (f'<section class="patient"><h2>{who}</h2><p>{", ".join(details)}</p>{trend}'
            + "".join(_html_visit(v, rules) for v in visits) + "</section>")


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: clinical.Rules | None = None) -> None:
    out.write('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
              "<title>Trigger point injection visit summary</title>"
              f"<style>{STYLE}</style></head><body><header>"
              "<h1>Trigger point injection visit summary</h1>"
              f'<p class="muted">Prepared with tplog on {dt.date.today().isoformat()}'
              + (f". {escape(letter.deidentified(shifted_dates))}" if deidentified else "")
              + ".</p></header>\n")
    for patient_visits in letter.patients(visits):
        out.write(_html_patient(patient_visits, deidentified, rules or clinical.Rules())
                  + "\n")
        if on_point is not None:
            for v in patient_visits:
                for _ in v.points:
                    on_point()
    out.write("</body></html>\n")
