"""CSV: one row per injected point, with its visit's and patient's columns.

The header is the contract (README documents it; `tplog import` reads it back): ISO dates,
empty cells for what was not recorded, yes/no for twitch and numbness.

The rest of the visit's record is in visit-level columns, the same on each of its rows
(RECORD_COLUMNS; a list is a JSON array in one cell, `[]` when there is none):

- weight_measured_on: when weight_kg (the latest on or before the visit, else the nearest
  after it: the weight its dose check used) was measured; the import records the weight on
  that date (on the visit's date when the cell is empty).
- revision, amended_at, amended_by, amendment_reason: the latest revision's number (1: as
  logged) and, when amended, when (UTC), by whom and why. History: `tplog import` reads the
  visit's content as it is now and records it as logged (it says how many were amended).
- follow_ups: [{"reported_on", "pain", "days_after", "percent_relief", "note",
  "practitioner", "peg_pain", "peg_enjoyment", "peg_activity", "pgic"}] (PEG and PGIC null
  when not asked); relief_days: how long relief of >= 30 % lasted. The import recreates the
  follow-ups (days_after, percent_relief and relief_days are worked out again).
- addenda: [{"created_at", "created_by", "practitioner", "text"}]; recreated by the import.
- warnings: [{"kind", "message", "confirmation"}]: the safety checks' findings recorded with
  the visit and how each was confirmed; recreated by the import with the visit.
- dose_check: the day's local anaesthetics against the limits checked against (with their
  basis), by the exporting settings; worked out again, not read, by the import.

The visit's PEG (peg_pain, peg_enjoyment, peg_activity; empty when not asked) follows the
procedure's columns, before the point's.

A cell a spreadsheet would read as a formula is written with a `'` in front (OWASP, "CSV
Injection"), and `tplog import` takes exactly that `'` off again (csv_import.restored), so the
file goes export -> import -> export unchanged.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import IO, Any

from tplog import points, procedure
from tplog.clinical import Rules
from tplog.export.select import ExportVisit
from tplog.points import as_text

# The visit's PEG (revision 0013), three 0-10 items, empty when not asked.
PEG_COLUMNS = ("peg_pain", "peg_enjoyment", "peg_activity")
RECORD_COLUMNS = (
    "weight_measured_on", "revision", "amended_at", "amended_by", "amendment_reason",
    "follow_ups", "relief_days", "addenda", "warnings", "dose_check",
)
HEADER = (
    "mrn", "patient_name", "date_of_birth", "sex", "weight_kg",
    "visit", "visit_date", "age_at_visit", "practitioner", "conditions", "visit_note",
    *RECORD_COLUMNS,
    # The procedure (tplog.procedure.FIELDS) and the ranges of motion as `--rom` takes them,
    # joined by "; " (revision 0010): visit columns, repeated on each of its points' rows.
    *procedure.NAMES, "range_of_motion",
    *PEG_COLUMNS,
    "lots",
    # The visit's pregnancy status (revision 0012): yes, no or unknown; empty when not asked.
    "pregnant",
    # The visit's adverse events (issue 16), "DATE KIND (SEVERITY, OUTCOME)" joined by
    # "; ": visit-level, repeated on each point's row; `tplog import` reads past it.
    "adverse_events",
    "point", *points.NAMES,
)
# `lots`: the visit's lots, DRUG=LOT:EXPIRY joined by ';' (`lidocaine-1=AB123:2027-05`), on
# each of its rows. `injectate`: a point's mixture, KEY:mL+KEY:mL, with `drug` and
# `volume_ml` empty (a point of one drug has those and an empty `injectate`).

# The header of the first tplog CSV. A file whose header holds these, and later columns of
# HEADER in HEADER's order, is a file of an earlier tplog: it imports, the columns it does
# not have read as empty (not recorded).
FIRST_HEADER = (
    "mrn", "patient_name", "date_of_birth", "sex", "weight_kg",
    "visit", "visit_date", "age_at_visit", "practitioner", "conditions", "visit_note",
    "point", "muscle", "side", "pain_before", "pain_after", "twitch_response", "soreness",
    "numbness", "drug", "volume_ml",
)


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection": = + - @, tab,
# carriage return; to be safe, their full-width forms too), also after spaces, and also after
# `'`s: a text that starts with `'` and then one of these is quoted once more, so that the
# import, which takes one `'` off such a cell, gives back exactly what was stored. A `'`
# before anything else (`'tis`) is left alone both ways.
QUOTED = re.compile(r"'*[ ]*[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]")
# A plain number (-2, 1.5) is not a formula, and stays a number in the spreadsheet.
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def neutralised(text: str) -> str:
    """The text as a cell no spreadsheet runs: `'` in front of what would start a formula."""
    if QUOTED.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def cell(value: object) -> str:
    return as_text(value, "")  # not recorded: an empty cell, never "no" or "none"


def date_cell(visit: ExportVisit, value: object) -> str:
    if value is None:
        return ""
    return str(value.year) if visit.year_only else value.isoformat()  # type: ignore[attr-defined]


# csv.writer writes None as an empty cell and numbers as str() does; the yes/no findings are
# read as yes/no already (select.POINT_COLUMNS), and only the volume (1.5, not 1.5000) needs
# turning into text first. Its place in a point row as read (the position, then points.FIELDS).
_VOLUME_AT = 1 + points.NAMES.index("volume_ml")


def _number(value: object) -> str | None:
    return None if value is None else f"{value:g}"


def events_cell(visit: ExportVisit) -> str | None:
    """The visit's adverse events in one cell (notes left out: free text belongs in the
    record, and a cell of notes would be the place a note with a name in it leaks)."""
    if not visit.adverse_events:
        return None
    return "; ".join(
        f"{date_cell(visit, e.occurred_on)} {e.kind}"
        + (f" ({details})" if (details := ", ".join(d for d in (e.severity, e.outcome) if d))
           else "") for e in visit.adverse_events)


def _json(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, ensure_ascii=False) if items else "[]"  # most visits: none


def dose_cell(visit: ExportVisit, rules: Rules, known: dict[object, str | None]
              ) -> str | None:
    """The dose_check cell, worked out once per distinct ExportVisit.dose_key in `known`."""
    if not visit.injects():
        return None
    key = visit.dose_key()
    if key not in known:
        if len(known) > 10_000:  # memory stays flat over any number of visits
            known.clear()
        dose = visit.dose(rules)
        known[key] = None if dose is None else f"{dose.summary} ({dose.weight_note})"
    return known[key]


def record_cells(visit: ExportVisit, rules: Rules,
                 doses: dict[object, str | None] | None = None) -> list[object]:
    """RECORD_COLUMNS' cells for a visit (`doses`: dose_cell's cache, kept by the caller)."""
    amendment = visit.amendment
    dose = dose_cell(visit, rules, {} if doses is None else doses)
    if (amendment is None and not visit.follow_ups and not visit.addenda
            and not visit.warnings):  # most visits: as logged, nothing after them
        return [date_cell(visit, visit.weight_measured_on), 1, None, None, None, "[]",
                visit.relief_days, "[]", "[]", dose]
    return [
        date_cell(visit, visit.weight_measured_on),
        1 if amendment is None else amendment.revision,
        None if amendment is None or amendment.amended_at is None
        else amendment.amended_at.isoformat(),
        None if amendment is None else amendment.amended_by,
        None if amendment is None else amendment.reason,
        _json([{"reported_on": None if f.reported_on is None  # Safe Harbor: left out
                else date_cell(visit, f.reported_on), "pain": f.pain,
                "days_after": f.days_after, "percent_relief": f.percent_relief,
                "note": f.note, "practitioner": f.practitioner,
                # PEG and PGIC asked at the follow-up (revision 0013); null: not asked.
                **dict(zip(PEG_COLUMNS, f.peg or (None, None, None), strict=True)),
                "pgic": f.pgic} for f in visit.follow_ups]),
        visit.relief_days,
        _json([{"created_at": a.created_at.isoformat(), "created_by": a.created_by,
                "practitioner": a.practitioner, "text": a.text} for a in visit.addenda]),
        _json([{"kind": w.kind, "message": w.message or None, "confirmation": w.confirmation}
               for w in visit.warnings]),
        dose,
    ]


# The visit's cells that hold free text (a name, a note, who amended it and why; the MRN too,
# though its pattern cannot start a formula): only these are neutralised. The others are
# dates, numbers, tplog's keys (conditions, the procedure's values, lots and ranges of motion
# start with a drug's or a movement's key), JSON lists and the dose check, which starts with
# an anaesthetic's name: none can start like a formula, and testing every cell of every
# visit was a tenth of a CSV export.
_FREE_TEXT = tuple(HEADER.index(column) for column in (
    "mrn", "patient_name", "practitioner", "visit_note", "amended_by", "amendment_reason"))


class _Lines:
    """Where a csv writer writes: each row's line kept as a string."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append


@lru_cache(maxsize=1024)  # a clinic documents the same few procedures, most visits none
def _procedure_cells(done: procedure.Procedure) -> tuple[str, ...]:
    return tuple(cell(value) for value in procedure.values(done).values())


def visit_cells(visit: ExportVisit, rules: Rules, doses: dict[object, str | None]
                ) -> list[object]:
    """A visit's cells before its point's (the patient's, the visit's, the record's), as the
    database holds them: not yet neutralised (`doses`: dose_cell's cache)."""
    return [
        visit.mrn, visit.patient_name, date_cell(visit, visit.date_of_birth), visit.sex,
        cell(visit.weight_kg), visit.shown_id, date_cell(visit, visit.visit_date),
        visit.age_at_visit, visit.practitioner, ";".join(visit.conditions), visit.note,
        *record_cells(visit, rules, doses),
        *_procedure_cells(visit.procedure),
        procedure.roms_cell(visit.range_of_motion) if visit.range_of_motion else "",
        *(visit.peg or (None, None, None)),
        ";".join(lot.text for lot in visit.lots) if visit.lots else "", visit.pregnant,
        events_cell(visit)]


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool = False,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: Rules | None = None) -> None:
    """The CSV: one row per point (de-identification was applied to the visits already;
    the rules add nothing to its columns). A CSV has no place to say its dates are shifted
    (a comment line would break the header contract and the import): the export says so on
    stderr.

    A row is its visit's cells, then its point's. The visit's part is encoded once per visit
    and put before each of its points' lines (csv joins a row's cells with ","; every row has
    cells on both sides), so a million rows are not each encoded whole."""
    rules = rules or Rules()
    csv.writer(out, lineterminator="\n").writerow(HEADER)
    encoded = _Lines()
    lines = encoded.lines
    writer = csv.writer(encoded, lineterminator="\n")
    # The csv module quotes a cell that holds a line feed (the line terminator) but not one
    # that holds a lone carriage return, which every reader takes for the end of the row: a
    # row with one is written with every cell quoted.
    quoting_all = csv.writer(encoded, lineterminator="\n", quoting=csv.QUOTE_ALL)
    volume_at = _VOLUME_AT
    volumes: dict[object, str | None] = {None: None}  # a clinic's volumes are few
    doses: dict[object, str | None] = {}
    for visit in visits:
        # Texts and None are written as they are (None: an empty cell, never "none"), each
        # free text that would start a formula neutralised (_FREE_TEXT). The point's cells
        # are not: they are numbers and keys from tplog's lists, checked on entry, and none
        # starts like one.
        cells = visit_cells(visit, rules, doses)
        for at in _FREE_TEXT:
            text = cells[at]
            if isinstance(text, str) and QUOTED.match(text):
                cells[at] = neutralised(text)
        encoder = writer
        writer.writerow(cells)
        head = lines.pop()
        if "\r" in head:
            encoder = quoting_all
            encoder.writerow(cells)
            head = lines.pop()
        head = head[:-1] + ","  # its line feed, for the comma before the point's cells
        # The point's cells as read (the position, then points.FIELDS), the volume made
        # text: per point, the least Python there is.
        for point_row in visit.point_rows:
            volume = point_row[volume_at]
            if volume is None:
                encoder.writerow(point_row)
                continue
            if volume not in volumes:
                volumes[volume] = _number(volume)
            row = list(point_row)
            row[volume_at] = volumes[volume]
            encoder.writerow(row)
        if lines:
            out.write(head + head.join(lines))
            if on_point is not None:
                for _ in lines:
                    on_point()
            lines.clear()


def template(out: IO[str]) -> None:
    """The header and one example row, for moving from a spreadsheet."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    example = {"mrn": "P0001", "patient_name": "Example Patient",
               "date_of_birth": "1970-01-31", "sex": "female", "weight_kg": "62", "visit": "1",
               "visit_date": "2026-01-15", "practitioner": "Dr Example",
               "conditions": "myofascial-pain-head-neck;tension-headache",
               "visit_note": "first visit", "peg_pain": "6", "peg_enjoyment": "5",
               "peg_activity": "7", "point": "1", "muscle": "upper-trapezius",
               "side": "L", "pain_before": "7", "pain_after": "3", "twitch_response": "yes",
               "soreness": "mild", "numbness": "no", "drug": "lidocaine-1", "volume_ml": "1"}
    # A finding added to a point later is left empty here: not recorded.
    writer.writerow([example.get(column, "") for column in HEADER])
