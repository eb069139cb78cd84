"""`tplog import`: the CSV export format (csv_format.py) read back, for moving from a
spreadsheet or another tplog.

One pass over the file, inside the command's one transaction: every row is checked, each MRN
is compared with the database the first time it appears, and the good visits are written in
batches as they come (through the same audit trail as `tplog log`, each patient and visit its
own event). Any bad row or clashing MRN fails the import when the pass ends, and the
transaction is rolled back, so nothing is written: the guarantee of checking everything first,
for one reading of the file instead of two. A visit that is already in the database (same
patient, date, practitioner, conditions, note and points) is skipped, so importing a file twice
adds nothing the second time.

The visit's record columns (csv_format.RECORD_COLUMNS): follow-ups, addenda and the recorded
safety findings are recreated with the visit (each follow-up and addendum its own audited
record, the findings part of the revision); relief, days after and the dose check are worked
out again, not read. An amendment is history the import cannot recreate faithfully (the
earlier revisions are not in the file, and the audit trail would claim edits made here): the
visit is imported with its content as it is now, as logged, and the report counts the visits
that had been amended. A file with the header of earlier tplogs (no record columns) imports
as before.

A cell the export neutralised (a `'` before what a spreadsheet would run as a formula) is read
back without that `'` (restored). A file that cannot be read as UTF-8 CSV (another encoding,
UTF-16, a binary file, a NUL byte, a cell over the csv module's limit) is refused at once, in
one line naming the file and, where there is one, the line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from tplog import points, procedure, vocab
from tplog.errors import BadInput, NotFound
from tplog.export.csv_format import FIRST_HEADER, HEADER, PEG_COLUMNS, QUOTED
from tplog.models import (
    FollowUp,
    InjectateLot,
    InjectedPoint,
    Patient,
    PatientWeight,
    RangeOfMotion,
    Visit,
    VisitAddendum,
    VisitCondition,
    VisitRevision,
    VisitWarning,
)
from tplog.parse import (
    Lot,
    Sex,
    Soreness,
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
from tplog.services import audit, patients, visits
from tplog.services.views import Peg

MAX_REPORTED = 50  # bad rows named one by one; beyond that, only counted

# Where each column is in a row (the header is checked before any row is read).
# (adverse_events, before the point, is read past: an event is recorded with `tplog event`, and
# an import brings visits, not what happened after them.)
(_MRN, _NAME, _BORN, _SEX, _WEIGHT, _VISIT, _VISIT_DATE, _AGE, _PRACTITIONER, _CONDITIONS,
 _NOTE) = range(HEADER.index("visit_note") + 1)
_WEIGHED_ON, _REVISION, _FOLLOW_UPS, _ADDENDA, _WARNINGS, _PEG_PAIN, _LOTS, _POINT = (
    HEADER.index(column) for column in ("weight_measured_on", "revision", "follow_ups",
                                        "addenda", "warnings", PEG_COLUMNS[0], "lots",
                                        "point"))
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

    def content(self) -> bytes:
        return content_key(self.visit_date, self.practitioner, self.conditions, self.note,
                           self.points, self.procedure, self.range_of_motion, self.peg,
                           self.lots)


def content_key(visit_date: dt.date, practitioner: str, conditions: Sequence[str],
                note: str | None, points: Sequence[Sequence[Any]],
                done: procedure.Procedure = procedure.NOT_RECORDED,
                motion: Sequence[procedure.Measurement] = (),
                peg: Peg | None = None, lots: Sequence[Lot] = ()) -> bytes:
    """What makes two visits the same, as a 16-byte digest: a file's visits are remembered
    for the whole import, and a million points' worth of tuples would not fit the memory
    target (issue 6), where their digests do."""
    key = (visit_date.isoformat(), practitioner, tuple(conditions), note or None,
           tuple(points), *((done, tuple(motion)) if done.recorded or motion else ()),
           *(() if peg is None else (("peg", peg),)),
           *((tuple(lot.text for lot in lots),) if lots else ()))
    return hashlib.blake2b(repr(key).encode(), digest_size=16).digest()


@dataclass
class Report:
    patients_added: int = 0
    visits_added: int = 0
    points_added: int = 0
    visits_present: int = 0
    follow_ups_added: int = 0
    addenda_added: int = 0
    visits_amended: int = 0  # imported as logged: their amendment history stays behind
    bad_rows: list[str] = field(default_factory=list)  # the file's own mistakes, by line
    clashes: list[str] = field(default_factory=list)  # MRNs that are someone else here


def _optional(text: str) -> str | None:
    return text if text.strip() else None


def restored(text: str) -> str:
    """A cell as it was stored: the one `'` that csv_format.neutralised put before what would
    start a formula is taken off; any other cell is read as it is (`'tis` stays `'tis`)."""
    return text[1:] if text[:1] == "'" and QUOTED.match(text) else text


def check_header(path: Path) -> None:
    """Refuse a file that is not tplog's CSV before the database is opened."""
    with _open(path) as handle:
        _header(csv.reader(handle), path)


def _header(reader: Any, path: Path) -> tuple[int, ...] | None:
    """Where each of the file's columns goes in HEADER: None for today's header, else the
    positions of an earlier tplog's columns (csv_format.FIRST_HEADER and some later ones, in
    HEADER's order); a header that is neither is refused."""
    header = _next_row(reader, path)
    found = None if header is None else tuple(h.strip() for h in header)
    if found == HEADER:
        return None
    earlier = found is not None and set(FIRST_HEADER) <= set(found) <= set(HEADER) \
        and len(set(found)) == len(found)
    places = tuple(HEADER.index(column) for column in found) if earlier and found else ()
    if not earlier or list(places) != sorted(places):
        raise BadInput(f"{path} does not start with tplog's CSV header "
                       "(see `tplog import --template`)")
    return places


def _open(path: Path) -> TextIO:
    """The file as text: UTF-8, with or without the byte order mark Excel writes."""
    from tplog import files

    try:
        files.check_source(path, "CSV file")
    except NotFound:
        raise BadInput(f"no file {path}") from None
    try:
        with path.open("rb") as raw:
            start = raw.read(_SNIFFED)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise BadInput(f"{path} is UTF-16 text; save it as CSV in UTF-8 (Excel: "
                           "\"CSV UTF-8\")")
        if b"\0" in start:  # UTF-16 without its mark, or not text at all
            raise BadInput(f"{path} has NUL bytes: it is a binary file or UTF-16 text, not a "
                           "CSV in UTF-8")
        return path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"no file {path}") from None
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from None


_SNIFFED = 64 * 1024  # bytes looked at for the encoding before the file is read as text


def _not_utf8(path: Path) -> BadInput:
    """The refusal of a file that is not UTF-8, naming the first line that is not (read again
    in bytes: the text reader decodes ahead in blocks, so it cannot say which line)."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return BadInput(f"{path}, line {number}: byte 0x{line[error.start]:02X} is not "
                                "UTF-8 (Latin-1 or another encoding?); save the file as CSV in "
                                "UTF-8 (Excel: \"CSV UTF-8\")")
    return BadInput(f"{path} is not UTF-8 text; save it as CSV in UTF-8")


def _next_row(reader: Any, path: Path) -> list[str] | None:
    """The reader's next row (None at the end), or BadInput if the file cannot be read on."""
    try:
        return next(reader, None)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise BadInput(f"{path}, line {reader.line_num}: a cell is over "
                           f"{csv.field_size_limit()} characters; no cell of tplog's CSV is "
                           "that long") from None
        raise BadInput(f"{path}, line {reader.line_num}: not readable as CSV ({error})") \
            from None


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The file's rows with their line numbers (header checked, blank rows skipped, cells
    restored), or BadInput at the first thing that makes the file unreadable."""
    with _open(path) as handle:
        reader = csv.reader(handle)
        places = _header(reader, path)
        while (row := _next_row(reader, path)) is not None:
            if places is not None and len(row) == len(places):
                # An earlier tplog's file: the columns it does not have are empty.
                spread = [""] * len(HEADER)
                for place, text in zip(places, row, strict=True):
                    spread[place] = text
                row = spread
            joined = "".join(row)
            if "\0" in joined:  # no text holds one, and PostgreSQL cannot store it
                raise BadInput(f"{path}, line {reader.line_num}: a cell holds a NUL character "
                               "(byte 0); a CSV in UTF-8 has none")
            if not joined.strip():  # a blank line, or one of empty cells
                continue
            if "'" in joined:  # only then can a cell have been neutralised
                row = [restored(cell) for cell in row]
            yield reader.line_num, row


_SIDES = {"L": "L", "R": "R"}
_SORENESS = {s.value: s.value for s in Soreness}


def _point(row: list[str]) -> PointRow:
    # The checks of `tplog log --point`, by the same code (points.check).
    return tuple(points.read_cells(row[_FINDINGS]).values())


def _visit_head(line: int, row: list[str]) -> ImportVisit:
    mrn = patients.check_mrn(row[_MRN].strip())
    born = (parse_date(row[_BORN], "date_of_birth", relative=False) if _optional(row[_BORN])
            else None)
    sex = parse_choice(row[_SEX], Sex, "sex").value if _optional(row[_SEX]) else None
    weight = parse_weight(row[_WEIGHT]) if _optional(row[_WEIGHT]) else None
    # Text as `tplog log` stores it: NFC, stripped, no control characters.
    practitioner = clean_text(row[_PRACTITIONER], "practitioner", one_line=True)
    note = clean_text(row[_NOTE], "visit_note") or None
    name = clean_text(row[_NAME], "patient_name", one_line=True)
    if not practitioner:
        raise BadInput("practitioner is empty; each visit needs one")
    if len(practitioner) > 200 or len(row[_NOTE]) > visits.MAX_TEXT:
        raise BadInput("practitioner (at most 200 characters) or visit_note (at most "
                       f"{visits.MAX_TEXT}) is too long")
    visit_date = parse_date(row[_VISIT_DATE], "visit_date", relative=False)
    if visit_date > dt.date.today():
        raise BadInput(f"visit_date {visit_date} is in the future")
    # In the order written (the first is the primary diagnosis); a key that only older
    # visits hold (`migraine`) is a record being moved, not a new entry, so it is accepted.
    conditions = tuple(key.strip().lower() if key.strip().lower() in vocab.CONDITION_BY_KEY
                       else check_condition(key)
                       for key in row[_CONDITIONS].split(";") if key.strip())
    # A lot that had expired by the visit is refused here as `tplog log --lot` refuses it.
    lots = tuple(parse_lot(text, "lots") for text in row[_LOTS].split(";") if text.strip())
    for lot in lots:
        if lot.expires_on < visit_date:
            raise BadInput(f"lots {lot.text}: expired on {lot.expires_on}, before the visit "
                           f"({visit_date})")
    visit = ImportVisit(line=line, mrn=mrn, patient=(name, born, sex),
                        weight_kg=weight, visit_date=visit_date, practitioner=practitioner,
                        conditions=conditions, note=note, lots=lots, procedure=_procedure(row),
                        range_of_motion=tuple(procedure.read_roms_cell(row[_MOTION])),
                        peg=_peg(row))
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
    if not text:
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
        if visit.weighed_on > visit.visit_date or visit.weight_kg is None:
            raise BadInput(f"weight_measured_on {visit.weighed_on} is not allowed; it is the "
                           "date of weight_kg, on or before visit_date")
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

    def bad(line: int, message: str) -> None:
        nonlocal broken
        errors.append(f"line {line}: {message}")
        broken = True

    for line, row in _rows(path):
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
                current = _visit_head(line, row)
            except BadInput as error:
                bad(line, error.message)
            else:
                known = patients_seen.setdefault(current.mrn, current.patient)
                if known != current.patient:
                    bad(line, f"patient {current.mrn} has another name, birth date or sex "
                              "on an earlier line")
        elif current is not None and (row[_MRN].strip(), row[_VISIT_DATE].strip()) != (
                current.mrn, current.visit_date.isoformat()):
            bad(line, f"visit {number} has rows with another MRN or date")
        try:
            point = _point(row)
        except BadInput as error:
            bad(line, error.message)
            continue
        if current is not None:
            current.points.append(point)
    if current is not None and not broken:
        yield current


def _existing_visits(session: Session, patient_id: int) -> set[bytes]:
    found = set()
    for visit in visits.history(session, session.get_one(Patient, patient_id)):
        found.add(content_key(visit.visit_date, visit.practitioner, visit.conditions,
                              visit.note,
                              [tuple(points.values(p).values()) for p in visit.points],
                              visit.procedure, visit.range_of_motion, visit.peg,
                              visit.lots))
    return found


# Visits written per round of bulk inserts (and one pass over their digests for the trail).
BATCH_VISITS = 2000


@dataclass
class _Batch:
    patients: list[ImportVisit] = field(default_factory=list)  # the first visit of each new one
    visits: list[ImportVisit] = field(default_factory=list)


def run(session: Session, path: Path, actor: audit.Actor, *, dry_run: bool) -> Report:
    """Check every row and write the good visits. The caller must roll back (raise) when the
    report has bad rows or clashes: rows written before the first mistake are in the
    transaction."""
    report = Report()
    # For each MRN met so far: the patient's id (None while a new patient awaits its batch)
    # and the digests of the visits it has, in the database or earlier in this file.
    patient_ids: dict[str, int | None] = {}
    present: dict[str, set[bytes]] = {}
    # Patients this import creates, with the last weight recorded for them and its date: each
    # visit whose weight differs (or was measured on another date) is a measurement, on the
    # date weight_measured_on gives (files of earlier tplogs: on the visit's day).
    weighed: dict[str, tuple[float, dt.date] | None] = {}
    batch = _Batch()
    for visit in read(path, report.bad_rows):
        if visit.mrn not in patient_ids:
            _meet_patient(session, visit, report, patient_ids, present, batch)
            if patient_ids[visit.mrn] is None:
                weighed[visit.mrn] = None
        key = visit.content()
        if key in present[visit.mrn]:
            report.visits_present += 1
            continue
        present[visit.mrn].add(key)
        report.visits_added += 1
        report.points_added += len(visit.points)
        report.follow_ups_added += len(visit.follow_ups)
        report.addenda_added += len(visit.addenda)
        report.visits_amended += visit.amended
        if dry_run or report.bad_rows or report.clashes:
            continue  # nothing more is written once the import is bound to fail
        batch.visits.append(visit)
        if len(batch.visits) >= BATCH_VISITS:
            _insert(session, batch, patient_ids, actor, weighed)
            batch = _Batch()
    if batch.visits and not (report.bad_rows or report.clashes):
        _insert(session, batch, patient_ids, actor, weighed)
    return report


def _meet_patient(session: Session, visit: ImportVisit, report: Report,
                  patient_ids: dict[str, int | None], present: dict[str, set[bytes]],
                  batch: _Batch) -> None:
    """The first visit of an MRN: the patient in the database must be the same person (by
    name); one who is not there yet is created with the next batch."""
    name, born, sex = visit.patient
    found = session.execute(select(Patient.id, Patient.name, Patient.merged_into)
                            .where(Patient.mrn == visit.mrn)).first()
    if found is not None:
        if found.merged_into is not None:
            # Its visits would be read as the other patient's, unseen under this MRN.
            into = session.get_one(Patient, found.merged_into)
            report.clashes.append(f"line {visit.line}: MRN {visit.mrn} was merged into "
                                  f"{into.mrn}; give {into.mrn}")
        elif name and name != found.name:
            report.clashes.append(f"line {visit.line}: MRN {visit.mrn} is {found.name!r} in "
                                  f"the database, not {name!r}")
        patient_ids[visit.mrn] = found.id
        present[visit.mrn] = _existing_visits(session, found.id)
        return
    if not name:
        report.bad_rows.append(f"line {visit.line}: patient_name is empty; a new patient "
                               f"({visit.mrn}) needs a name")
    else:
        try:
            patients.check_new_patient(name, born)
        except BadInput as error:
            report.bad_rows.append(f"line {visit.line}: {error.message}")
    report.patients_added += 1
    patient_ids[visit.mrn] = None
    present[visit.mrn] = set()  # a patient new to the database has no visits to compare with
    batch.patients.append(visit)


def _insert(session: Session, batch: _Batch, patient_ids: dict[str, int | None],
            actor: audit.Actor, weighed: dict[str, tuple[float, dt.date] | None]) -> None:
    """The batch's new patients and visits as `tplog patient add` and `tplog log` would write
    them, in bulk, each audited."""
    session.flush()
    connection = session.connection()
    now = dt.datetime.now(dt.UTC)
    events = []
    if batch.patients:
        added = _insert_numbered(connection, Patient, [
            {"mrn": v.mrn, "name": v.patient[0], "date_of_birth": v.patient[1],
             "sex": v.patient[2], "weight_kg": None, "created_at": now,
             "created_by": actor.os_user} for v in batch.patients])
        for visit, patient_id in zip(batch.patients, added, strict=True):
            patient_ids[visit.mrn] = patient_id
            events.append(audit.NewEvent(actor, "patient.add", f"patient {visit.mrn}",
                                         patient_id, ("patient", patient_id)))
    weighed_visits = []  # the visits whose weight is a new measurement of their patient
    for v in batch.visits:
        if v.mrn not in weighed or v.weight_kg is None:
            continue
        last = weighed[v.mrn]
        # A weight that differs, or the same one measured again on a date the file gives.
        if last is None or v.weight_kg != last[0] or (v.weighed_on not in (None, last[1])):
            weighed[v.mrn] = (v.weight_kg, v.weighed_on or v.visit_date)
            weighed_visits.append(v)
    if weighed_visits:
        weight_ids = _insert_numbered(connection, PatientWeight, [
            {"patient_id": patient_ids[v.mrn], "measured_on": v.weighed_on or v.visit_date,
             "weight_kg": v.weight_kg, "created_at": now, "created_by": actor.os_user}
            for v in weighed_visits])
        events += [audit.NewEvent(actor, "patient.weight",
                                  f"patient {v.mrn}: {v.weight_kg:g} kg on "
                                  f"{v.weighed_on or v.visit_date}",
                                  patient_ids[v.mrn], ("patient_weight", weight_id))
                   for v, weight_id in zip(weighed_visits, weight_ids, strict=True)]
    # Every patient has an id now: the new ones were inserted just above.
    owners = [int(patient_ids[v.mrn]) for v in batch.visits]  # type: ignore[arg-type]
    visit_ids = _insert_numbered(connection, Visit, [
        {"patient_id": owner, "created_at": now, "created_by": actor.os_user}
        for owner in owners])
    revisions: list[dict[str, object]] = [
        {"visit_id": visit_id, "number": 1, "visit_date": v.visit_date,
         "practitioner": v.practitioner, "note": v.note, "reason": None, "created_at": now,
            "created_by": actor.os_user, "pregnant": None, **procedure.values(v.procedure),
            **dict(zip(PEG_COLUMNS, v.peg or (None, None, None), strict=True))}
        for visit_id, v in zip(visit_ids, batch.visits, strict=True)]
    revision_ids = _insert_numbered(connection, VisitRevision, revisions)
    # The lots first: a revision's digest takes them in the order of their ids.
    lot_rows = [{"revision_id": revision_id, "drug": lot.drug, "lot": lot.lot,
                 "expiry": lot.expiry}
                for revision_id, v in zip(revision_ids, batch.visits, strict=True)
                for lot in v.lots]
    lot_ids = _insert_numbered(connection, InjectateLot, lot_rows) if lot_rows else []
    lots_of: dict[int, list[dict[str, object]]] = {}
    for lot_id, row in zip(lot_ids, lot_rows, strict=True):
        lots_of.setdefault(int(row["revision_id"]), []).append(  # type: ignore[call-overload]
            {**row, "id": lot_id})
    points, conditions, motions, digests = [], [], [], []
    for revision_id, owner, revision, v in zip(revision_ids, owners, revisions, batch.visits,
                                               strict=True):
        own_conditions = [{"revision_id": revision_id, "condition": key, "position": number}
                          for number, key in enumerate(dict.fromkeys(v.conditions), start=1)]
        own_points = [dict(zip(_POINT_FIELDS, (revision_id, number, *point), strict=True))
                      for number, point in enumerate(v.points, start=1)]
        own_motions = [{"revision_id": revision_id, **procedure.rom_values(m),
                        "position": m.position} for m in v.range_of_motion]
        conditions += own_conditions
        points += own_points
        motions += own_motions
        # revision_digest covers a revision with no findings; the trail reads back the
        # digest of one that has some (None).
        digests.append(None if v.warnings else audit.revision_digest(
            {**revision, "id": revision_id}, patient_id=owner, visit_created_at=now,
            visit_created_by=actor.os_user, points=own_points, conditions=own_conditions,
            range_of_motion=own_motions, lots=lots_of.get(revision_id, [])))
    if conditions:
        connection.execute(insert(VisitCondition), conditions)
    if motions:
        connection.execute(insert(RangeOfMotion), motions)
    connection.execute(insert(InjectedPoint), points)
    warnings = [{"revision_id": revision_id, "kind": kind, "message": message,
                 "confirmation": confirmation}
                for revision_id, v in zip(revision_ids, batch.visits, strict=True)
                for kind, message, confirmation in v.warnings]
    if warnings:
        connection.execute(insert(VisitWarning), warnings)
    events += [audit.NewEvent(audit.Actor(actor.os_user, v.practitioner), "visit.import",
                              f"visit {visit_id}", owner, ("visit_revision", revision_id),
                              digest)
               for visit_id, revision_id, owner, v, digest in zip(
                   visit_ids, revision_ids, owners, batch.visits, digests, strict=True)]
    events += _follow_ups_and_addenda(connection, batch.visits, visit_ids, owners, actor, now)
    audit.append_events(connection, events)


def _follow_ups_and_addenda(connection: Connection, batch: list[ImportVisit],
                            visit_ids: list[int], owners: list[int], actor: audit.Actor,
                            now: dt.datetime) -> list[audit.NewEvent]:
    """The visits' follow-ups and addenda, each audited as `tplog visit followup` and
    `tplog visit addendum` audit theirs. An addendum keeps when and by whom it was written
    (the trail says who imported it, and when)."""
    owned = list(zip(batch, visit_ids, owners, strict=True))
    follow_ups: list[tuple[ImportVisit, int, int, dict[str, object]]] = [(v, visit_id, owner, {
        "visit_id": visit_id, "pain": pain, "reported_on": reported_on, "note": note,
        "created_at": now, "created_by": actor.os_user, "practitioner": practitioner,
        **dict(zip(PEG_COLUMNS, peg or (None, None, None), strict=True)), "pgic": pgic})
        for v, visit_id, owner in owned
        for reported_on, pain, note, practitioner, peg, pgic in v.follow_ups]
    addenda = [(v, visit_id, owner, {
        "visit_id": visit_id, "text": text, "created_at": created_at,
        "created_by": created_by or actor.os_user, "practitioner": practitioner})
        for v, visit_id, owner in owned
        for created_at, created_by, practitioner, text in v.addenda]
    events = []
    if follow_ups:
        ids = _insert_numbered(connection, FollowUp, [row for *_, row in follow_ups])
        events += [audit.NewEvent(audit.Actor(actor.os_user, str(row["practitioner"])),
                                  "visit.followup", f"visit {visit_id} follow-up {new_id}",
                                  owner, ("follow_up", new_id))
                   for (_, visit_id, owner, row), new_id in zip(follow_ups, ids, strict=True)]
    if addenda:
        ids = _insert_numbered(connection, VisitAddendum, [row for *_, row in addenda])
        events += [audit.NewEvent(audit.Actor(actor.os_user, str(row["practitioner"])),
                                  "visit.addendum", f"visit {visit_id} addendum {new_id}",
                                  owner, ("visit_addendum", new_id))
                   for (_, visit_id, owner, row), new_id in zip(addenda, ids, strict=True)]
    return events


def _insert_numbered(connection: Connection,
                     model: type[Patient | PatientWeight | Visit | VisitRevision | FollowUp
                                 | VisitAddendum | InjectateLot],
                     rows: list[dict[str, object]]) -> list[int]:
    """Insert the rows; their new ids, in the rows' order."""
    if connection.dialect.name == "sqlite":
        # SQLite cannot return new ids in the order of the rows from one statement, so
        # SQLAlchemy would insert row by row (a statement per visit). tplog holds SQLite's
        # write lock for the whole command (BEGIN IMMEDIATE), so the import numbers the rows.
        first = (connection.scalar(select(func.max(model.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        connection.execute(insert(model), [{"id": new_id, **row}
                                           for new_id, row in zip(ids, rows, strict=True)])
        return ids
    return list(connection.execute(insert(model).returning(model.id,
                                                           sort_by_parameter_order=True),
                                   rows).scalars())


_POINT_FIELDS = ("revision_id", "position", *points.NAMES)
