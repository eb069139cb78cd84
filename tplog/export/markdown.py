"""The visit summary as Markdown, for a record system or a message."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any

from tplog import clinical, vocab
from tplog.export import letter
from tplog.export.select import ExportVisit


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _md_visit(visit: ExportVisit, rules: clinical.Rules) -> str:
    lines = [f"### Visit {visit.number}: {letter.when(visit)}", ""]
    if visit.practitioner:
        lines.append(f"- Practitioner: {visit.practitioner}")
    lines.append("- Conditions: " + ("; ".join(letter.conditions(visit)) or letter.UNRECORDED))
    lines.append("- Reduction of mean pain: " + letter.mean_change(visit))
    lines += [f"- {line}" for line in letter.doses(visit, rules)]
    lines += ["", "| # | Muscle | Side | Pain before → after (change) | Band | Twitch | "
              "Soreness | Numbness | Drug | mL |", "|---|---|---|---|---|---|---|---|---|---|"]
    for p in visit.points:
        lines.append("| " + " | ".join(_md_cell(c) for c in (
            str(p.position), vocab.MUSCLE_BY_KEY[p.muscle].name,
            "left" if p.side == "L" else "right", letter.change(p.pain_before, p.pain_after),
            letter.text(p.band), letter.text(p.twitch_response), letter.text(p.soreness),
            letter.text(p.numbness),
            vocab.DRUG_BY_KEY[p.drug].name if p.drug else letter.UNRECORDED,
            letter.text(p.volume_ml))) + " |")
    lines.append("")
    if visit.note:
        lines += [f"Note: {visit.note}", ""]
    lines += [f"_{n}_" for n in letter.notes(visit, rules)]
    return "\n".join(lines) + "\n"


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: clinical.Rules | None = None) -> None:
    out.write("# Trigger point injection visit summary\n\n")
    if deidentified:
        out.write(f"_{letter.deidentified(shifted_dates)}._\n\n")
    for patient_visits in letter.patients(visits):
        first = patient_visits[0]
        who = (f"Research id {first.mrn}" if deidentified
               else f"{first.patient_name} (MRN {first.mrn})")
        out.write(f"## {who}\n\n")
        for visit in patient_visits:
            out.write(_md_visit(visit, rules or clinical.Rules()) + "\n")
            if on_point is not None:
                for _ in visit.points:
                    on_point()
