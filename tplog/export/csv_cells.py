"""`tplog import`'s reading of the rows into visits: each cell checked by the code that checks
what `tplog log` is typed (the point by points.check, dates, text, lots, the procedure), and
the per-record JSON cells (follow-ups, addenda, findings) as the commands that record them
check them. Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tplog import points, procedure, vocab
from tplog.errors import BadInput
from tplog.export.csv_format import HEADER, PEG_COLUMNS
from tplog.export.csv_rows import rows
from tplog.parse import (
    Lot,
    Pregnancy,
    Sex,
    check_condition,
    clean_text,
    parse_choice,
    parse_date,
    parse_lot,
    parse_peg,
    parse_weight,
    parse_yes_no,
)
from tplog.procedure import NOT_RECORDED, Measurement, Procedure
from tplog.services import patients, visits
from tplog.services.views import Peg

# Where each column is in a row (the header is checked before any row is read).
# (adverse_events, before the point, is read past: an event is recorded with `tplog event`, and
# an import brings visits, not what happened after them.)
(_MRN, _NAME, _BORN, _SEX, _WEIGHT, _VISIT, _VISIT_DATE, _AGE, _PRACTITIONER, _CONDITIONS,
 _NOTE) = range(HEADER.index("visit_note") + 1)
(_WEIGHED_ON, _REVISION, _FOLLOW_UPS, _ADDENDA, _WARNINGS, _PEG_PAIN, _LOTS, _PREGNANT,
 _POINT) = (HEADER.index(column) for column in (
     "weight_measured_on", "revision", "follow_ups", "addenda", "warnings", PEG_COLUMNS[0],
     "lots", "pregnant", "point"))
_PEG = slice(_PEG_PAIN, _PEG_PAIN + len(PEG_COLUMNS))  # the visit's PEG (revision 0013)
_PROCEDURE = slice(HEADER.index(procedure.NAMES[0]),  # procedure.FIELDS, in order
                   HEADER.index(procedure.NAMES[-1]) + 1)
_MOTION = HEADER.index("range_of_motion")
_FINDINGS = slice(_POINT + 1, None)  # points.FIELDS, in order
assert HEADER[_PROCEDURE] == procedure.NAMES
assert HEADER[_FINDINGS] == points.NAMES

# A point as stored: its findings in points.FIELDS order (the order of `_existing_visits`
# below and of the insert).
PointRow = tuple[Any, ...]


@dataclass
class ImportVisit:
    line: int  # of its first row
    mrn: str
    patient: tuple[str, dt.date | None, str | None]  # name, born, sex
    weight_kg: float | None  # the weight on the visit's day, as exported
    visit_date: dt.date
    practitioner: str
    conditions: tuple[str, ...]
    note: str | None
    lots: tuple[Lot, ...] = ()
    points: list[PointRow] = field(default_factory=list)
    # The rest of the record (RECORD_COLUMNS): follow-ups (reported_on, pain, note,
    # practitioner, PEG, PGIC), addenda (created_at, created_by, practitioner, text),
    # findings (kind, message, confirmation), and whether the visit had been amended.
    follow_ups: list[tuple[dt.date, int, str | None, str, Peg | None, int | None]] = field(
        default_factory=list)
    addenda: list[tuple[dt.datetime, str, str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str, str | None]] = field(default_factory=list)
    amended: bool = False
    weighed_on: dt.date | None = None  # when weight_kg was measured (None: the visit's day)
    procedure: Procedure = NOT_RECORDED
    range_of_motion: tuple[Measurement, ...] = ()
    peg: Peg | None = None
    pregnant: str | None = None  # yes, no, unknown (revision 0012); None: not asked

    def content(self) -> bytes:
        return content_key(self.visit_date, self.practitioner, self.conditions, self.note,
                           self.points, self.procedure, self.range_of_motion, self.peg,
                           self.lots, self.pregnant)


def content_key(visit_date: dt.date, practitioner: str, conditions: Sequence[str],
                note: str | None, points: Sequence[Sequence[Any]],
                done: procedure.Procedure = procedure.NOT_RECORDED,
                motion: Sequence[procedure.Measurement] = (),
                peg: Peg | None = None, lots: Sequence[Lot] = (),
                pregnant: str | None = None) -> bytes:
    """What makes two visits the same, as a 16-byte digest: a file's visits are remembered
    for the whole import, and a million points' worth of tuples would not fit the memory
    target (issue 6), where their digests do."""
    key = (visit_date.isoformat(), practitioner, tuple(conditions), note or None,
           tuple(points),
           # (`is not`: most visits record no procedure, and `recorded` looks at each field)
           *((done, tuple(motion)) if (done is not procedure.NOT_RECORDED and done.recorded)
             or motion else ()),
           *(() if peg is None else (("peg", peg),)),
           *((tuple(lot.text for lot in lots),) if lots else ()),
           *(() if pregnant is None else (("pregnant", pregnant),)))
    return hashlib.blake2b(repr(key).encode(), digest_size=16).digest()



def _optional(text: str) -> str | None:
    return text if text.strip() else None



def _point(row: list[str], reader: points.CellReader) -> PointRow:
    # The checks of `tplog log --point`, by the same code (points.check).
    return reader.read(row[_FINDINGS])


def _conditions(text: str) -> tuple[str, ...]:
    # In the order written (the first is the primary diagnosis); a key that only older
    # visits hold (`migraine`) is a record being moved, not a new entry, so it is accepted.
    return tuple(key.strip().lower() if key.strip().lower() in vocab.CONDITION_BY_KEY
                 else check_condition(key) for key in text.split(";") if key.strip())


# The cells of a visit's first row that repeat from visit to visit (a patient's ten visits,
# a clinic's few practitioners and dates), each read by the same reader as before.
_READERS: dict[int, Callable[[str], Any]] = {
    _MRN: lambda text: patients.check_mrn(text.strip()),
    _BORN: lambda text: (parse_date(text, "date_of_birth", relative=False)
                         if _optional(text) else None),
    _SEX: lambda text: parse_choice(text, Sex, "sex").value if _optional(text) else None,
    _WEIGHT: lambda text: parse_weight(text) if _optional(text) else None,
    # Text as `tplog log` stores it: NFC, stripped, no control characters.
    _PRACTITIONER: lambda text: clean_text(text, "practitioner", one_line=True),
    _NAME: lambda text: clean_text(text, "patient_name", one_line=True),
    _VISIT_DATE: lambda text: parse_date(text, "visit_date", relative=False),
    _CONDITIONS: _conditions,
}
# Each distinct cell is read once an import (a dict per column, kept by `read`): every
# reader is a pure function of the text, and a refused cell is not remembered, so it is
# refused, in the same words, on every line that has it.
Memo = dict[int, dict[str, Any]]


def _cell(memo: Memo, row: list[str], column: int) -> Any:
    known = memo[column]
    text = row[column]
    if text in known:
        return known[text]
    value = known[text] = _READERS[column](text)
    return value


def _visit_head(line: int, row: list[str], memo: Memo) -> ImportVisit:
    mrn = _cell(memo, row, _MRN)
    born = _cell(memo, row, _BORN)
    sex = _cell(memo, row, _SEX)
    weight = _cell(memo, row, _WEIGHT)
    practitioner = _cell(memo, row, _PRACTITIONER)
    note = (clean_text(row[_NOTE], "visit_note") or None) if row[_NOTE] else None
    name = _cell(memo, row, _NAME)
    if not practitioner:
        raise BadInput("practitioner is empty; each visit needs one")
    if len(practitioner) > 200 or len(row[_NOTE]) > visits.MAX_TEXT:
        raise BadInput("practitioner (at most 200 characters) or visit_note (at most "
                       f"{visits.MAX_TEXT}) is too long")
    visit_date = _cell(memo, row, _VISIT_DATE)
    if visit_date > dt.date.today():
        raise BadInput(f"visit_date {visit_date} is in the future")
    conditions = _cell(memo, row, _CONDITIONS)
    # A lot that had expired by the visit is refused here as `tplog log --lot` refuses it.
    lots = tuple(parse_lot(text, "lots") for text in row[_LOTS].split(";")
                 if text.strip()) if row[_LOTS] else ()
    for lot in lots:
        if lot.expires_on < visit_date:
            raise BadInput(f"lots {lot.text}: expired on {lot.expires_on}, before the visit "
                           f"({visit_date})")
    visit = ImportVisit(line=line, mrn=mrn, patient=(name, born, sex),
                        weight_kg=weight, visit_date=visit_date, practitioner=practitioner,
                        conditions=conditions, note=note, lots=lots, procedure=_procedure(row),
                        range_of_motion=tuple(procedure.read_roms_cell(row[_MOTION])),
                        peg=_peg(row),
                        pregnant=parse_choice(row[_PREGNANT], Pregnancy, "pregnant").value
                        if row[_PREGNANT] else None)
    _read_record(visit, row)
    return visit


def _peg(row: list[str]) -> Peg | None:
    """The visit's PEG: all three cells or none (the checks of `tplog log --peg`)."""
    cells = [cell.strip() for cell in row[_PEG]]
    if not any(cells):
        return None
    if not all(cells):
        raise BadInput("peg_pain, peg_enjoyment and peg_activity go together; give all "
                       "three (0-10) or leave all empty")
    return parse_peg(",".join(cells), "peg_pain, peg_enjoyment, peg_activity")


def _listed(row: list[str], column: int) -> list[dict[str, Any]]:
    """A record cell: a JSON array of objects (empty cell: none)."""
    text = row[column].strip()
    if not text or text == "[]":  # most visits' (json.loads would say the same, slower)
        return []
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        items = None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadInput(f"{HEADER[column]} is not a JSON list of objects as tplog exports it")
    return items


def _text_of(item: dict[str, Any], key: str, what: str, *, most: int,
             one_line: bool = False) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > most:
        raise BadInput(f"{what} must be text of at most {most} characters")
    return clean_text(value, what, one_line=one_line) or None


_KIND = re.compile(r"[a-z_]{1,20}")


def _read_record(visit: ImportVisit, row: list[str]) -> None:
    """The visit's follow-ups, addenda and findings from its record cells, checked as the
    commands that record them check them."""
    revision = row[_REVISION].strip()
    if revision and not (revision.isdigit() and int(revision) >= 1):
        raise BadInput(f"revision {revision!r} is not allowed; give 1, 2, ...")
    visit.amended = bool(revision) and int(revision) > 1
    if row[_WEIGHED_ON].strip():
        visit.weighed_on = parse_date(row[_WEIGHED_ON], "weight_measured_on", relative=False)
        # After the visit too: with none before it, the nearest after it is the weight the
        # visit's dose check used (clinical.weight_on), and an export says so.
        if visit.weighed_on > dt.date.today() or visit.weight_kg is None:
            raise BadInput(f"weight_measured_on {visit.weighed_on} is not allowed; it is the "
                           "date of weight_kg, not in the future")
    for item in _listed(row, _FOLLOW_UPS):
        pain = item.get("pain")
        if isinstance(pain, bool) or not isinstance(pain, int) or not 0 <= pain <= 10:
            raise BadInput(f"follow_ups: pain {pain!r} is not allowed; pain is a whole "
                           "number 0-10")
        reported = item.get("reported_on")
        reported_on = parse_date(reported if isinstance(reported, str) else "",
                                 "follow_ups reported_on", relative=False)
        visits.check_follow_up(visit.visit_date, reported_on)
        visit.follow_ups.append((
            reported_on, pain,
            _text_of(item, "note", "follow_ups note", most=visits.MAX_TEXT),
            _text_of(item, "practitioner", "follow_ups practitioner", most=200,
                     one_line=True) or visit.practitioner,
            _follow_up_peg(item), _follow_up_pgic(item)))
    for item in _listed(row, _ADDENDA):
        text = _text_of(item, "text", "addenda text", most=visits.MAX_TEXT)
        if text is None:
            raise BadInput("addenda: an addendum has no text")
        written = item.get("created_at")
        try:
            created_at = dt.datetime.fromisoformat(written) if isinstance(written, str) \
                else None
        except ValueError:
            created_at = None
        if created_at is None:
            raise BadInput(f"addenda: created_at {written!r} is not a date and time "
                           "(2026-03-01T09:30:00+00:00)")
        if created_at.tzinfo is None:  # tplog writes UTC
            created_at = created_at.replace(tzinfo=dt.UTC)
        visit.addenda.append((
            created_at,
            _text_of(item, "created_by", "addenda created_by", most=100, one_line=True) or "",
            _text_of(item, "practitioner", "addenda practitioner", most=200, one_line=True)
            or visit.practitioner, text))
    for item in _listed(row, _WARNINGS):
        kind = item.get("kind")
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise BadInput(f"warnings: kind {kind!r} is not a finding's kind (dose, thorax, "
                           "...)")
        visit.warnings.append((
            kind, _text_of(item, "message", "warnings message", most=visits.MAX_TEXT) or "",
            _text_of(item, "confirmation", "warnings confirmation", most=100,
                     one_line=True)))


def _follow_up_peg(item: dict[str, Any]) -> Peg | None:
    """A follow-up's PEG (revision 0013): all three items, whole numbers 0-10, or none."""
    found = [item.get(key) for key in PEG_COLUMNS]
    if all(value is None for value in found):
        return None
    if any(isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10
           for value in found):
        raise BadInput(f"follow_ups: PEG {found!r} is not allowed; peg_pain, peg_enjoyment "
                       "and peg_activity go together, each a whole number 0-10")
    return found[0], found[1], found[2]  # type: ignore[return-value]


def _follow_up_pgic(item: dict[str, Any]) -> int | None:
    """A follow-up's PGIC (revision 0013): a whole number 1-7 (vocab.PGIC), or none."""
    value = item.get("pgic")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in vocab.PGIC:
        raise BadInput(f"follow_ups: pgic {value!r} is not allowed; PGIC is a whole number "
                       "1-7")
    return value


def _procedure(row: list[str]) -> procedure.Procedure:
    """The procedure's cells as `log` reads its options (an empty cell: not recorded)."""
    if not "".join(row[_PROCEDURE]).strip():  # none recorded, as in most files
        return NOT_RECORDED
    cells = dict(zip(procedure.NAMES, (cell.strip() for cell in row[_PROCEDURE]), strict=True))
    found: dict[str, Any] = {}
    for detail in procedure.FIELDS:
        text = cells[detail.name]
        if not text:
            continue
        if detail.yes_no:
            found[detail.name] = parse_yes_no(text, detail.name)
        elif detail.name == "consent":
            found[detail.name] = procedure.parse_consent(text, detail.name)
    if cells["needle_gauge"] or cells["needle_length_mm"]:
        length = f" {cells['needle_length_mm']}mm" if cells["needle_length_mm"] else ""
        if not cells["needle_gauge"]:
            raise BadInput("needle_length_mm is given without needle_gauge")
        found["needle_gauge"], found["needle_length_mm"] = procedure.parse_needle(
            f"{cells['needle_gauge']}G{length}", "needle_gauge and needle_length_mm")
    return procedure.Procedure(**found)


def read(path: Path, errors: list[str]) -> Iterator[ImportVisit]:
    """The file's good visits, one at a time; every bad row is added to `errors` by line (a
    visit with a bad row is not yielded, and its other rows are still checked)."""
    current: ImportVisit | None = None
    current_number: str | None = None
    broken = False
    seen: set[str] = set()
    patients_seen: dict[str, tuple[object, ...]] = {}
    reader = points.CellReader()
    head_memo: Memo = {column: {} for column in _READERS}

    def bad(line: int, message: str) -> None:
        nonlocal broken
        errors.append(f"line {line}: {message}")
        broken = True

    for line, row in rows(path):
        if len(row) != len(HEADER):
            errors.append(f"line {line}: {len(row)} cells, expected {len(HEADER)} (or "
                          "as many as an earlier tplog's header names)")
            continue
        number = row[_VISIT].strip()
        if not number.isdigit():
            errors.append(f"line {line}: visit {number!r} is not allowed; give a visit's rows "
                          "one whole number (its id, as exported, or 1, 2, ...)")
            continue
        if number != current_number:
            if current is not None and not broken:
                yield current
            current, current_number, broken = None, number, False
            if number in seen:
                bad(line, f"visit {number} appears again after other visits; keep a visit's "
                          "rows together")
            seen.add(number)
            try:
                current = _visit_head(line, row, head_memo)
            except BadInput as error:
                bad(line, error.message)
            else:
                own = (current.mrn, current.visit_date.isoformat())  # its other rows'
                head, head_line = row[:_POINT], line  # its cells, repeated on every row
                known = patients_seen.setdefault(current.mrn, current.patient)
                if known != current.patient:
                    bad(line, f"patient {current.mrn} has another name, birth date or sex "
                              "on an earlier line")
        elif current is not None and (row[_MRN].strip(), row[_VISIT_DATE].strip()) != own:
            bad(line, f"visit {number} has rows with another MRN or date")
        elif current is not None and row[:_POINT] != head:
            # A visit's columns are read from its first row: another value on a later row
            # (a hand-edited file) would be dropped without a word.
            column = next(HEADER[n] for n, (mine, first) in enumerate(zip(row[:_POINT], head,
                                                                          strict=True))
                          if mine != first)
            bad(line, f"visit {number}: {column} differs from the visit's first row (line "
                      f"{head_line}); a visit's columns repeat on each of its rows")
        try:
            point = _point(row, reader)
        except BadInput as error:
            bad(line, error.message)
            continue
        if current is not None:
            current.points.append(point)
    if current is not None and not broken:
        yield current

