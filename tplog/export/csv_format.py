"""CSV: one row per injected point, with its visit's and patient's columns.

The header is the contract (README documents it; `tplog import` reads it back): ISO dates,
empty cells for what was not recorded, yes/no for twitch and numbness.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import IO

from tplog.entry import as_text
from tplog.export.records import ExportVisit

HEADER = (
    "mrn", "patient_name", "date_of_birth", "sex", "weight_kg",
    "visit", "visit_date", "age_at_visit", "practitioner", "conditions", "visit_note",
    "point", "muscle", "side", "pain_before", "pain_after", "twitch_response", "soreness",
    "numbness", "drug", "volume_ml",
)


def cell(value: object) -> str:
    return as_text(value, "")  # not recorded: an empty cell, never "no" or "none"


def date_cell(visit: ExportVisit, value: object) -> str:
    if value is None:
        return ""
    return str(value.year) if visit.birth_year_only else value.isoformat()  # type: ignore[attr-defined]


def rows(visits: Iterable[ExportVisit]) -> Iterator[list[str]]:
    for visit in visits:
        patient_and_visit = [
            visit.mrn, cell(visit.patient_name), date_cell(visit, visit.date_of_birth),
            cell(visit.sex), cell(visit.weight_kg), str(visit.number),
            date_cell(visit, visit.visit_date), cell(visit.age_at_visit),
            cell(visit.practitioner), ";".join(visit.conditions), cell(visit.note)]
        for p in visit.points:
            yield patient_and_visit + [
                str(p.position), p.muscle, p.side, str(p.pain_before), cell(p.pain_after),
                cell(p.twitch_response), cell(p.soreness), cell(p.numbness), cell(p.drug),
                cell(p.volume_ml)]


def write(visits: Iterable[ExportVisit], out: IO[str], on_point=None) -> None:  # type: ignore[no-untyped-def]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows(visits):
        writer.writerow(row)
        if on_point is not None:
            on_point()


def template(out: IO[str]) -> None:
    """The header and one example row, for moving from a spreadsheet."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerow(["P0001", "Example Patient", "1970-01-31", "female", "62", "1",
                     "2026-01-15", "", "Dr Example", "myofascial-pain;tension-headache",
                     "first visit", "1", "upper-trapezius", "L", "7", "3", "yes", "mild", "no",
                     "lidocaine-1", "1"])
