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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from tplog import points, vocab
from tplog.errors import BadInput, NotFound
from tplog.export.csv_format import HEADER, QUOTED
from tplog.models import (
    InjectedPoint,
    Patient,
    PatientWeight,
    Visit,
    VisitCondition,
    VisitRevision,
)
from tplog.parse import (
    Sex,
    Soreness,
    check_condition,
    clean_text,
    parse_choice,
    parse_date,
    parse_weight,
)
from tplog.services import audit, patients, visits

MAX_REPORTED = 50  # bad rows named one by one; beyond that, only counted

# Where each column is in a row (the header is checked before any row is read).
# (adverse_events, after the note, is read past: an event is recorded with `tplog event`, and
# an import brings visits, not what happened after them.)
(_MRN, _NAME, _BORN, _SEX, _WEIGHT, _VISIT, _VISIT_DATE, _AGE, _PRACTITIONER, _CONDITIONS,
 _NOTE, _EVENTS, _POINT, *_) = range(len(HEADER))
_FINDINGS = slice(_POINT + 1, None)  # points.FIELDS, in order
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
    points: list[PointRow] = field(default_factory=list)

    def content(self) -> bytes:
        return content_key(self.visit_date, self.practitioner, self.conditions, self.note,
                           self.points)


def content_key(visit_date: dt.date, practitioner: str, conditions: Sequence[str],
                note: str | None, points: Sequence[Sequence[Any]]) -> bytes:
    """What makes two visits the same, as a 16-byte digest: a file's visits are remembered
    for the whole import, and a million points' worth of tuples would not fit the memory
    target (issue 6), where their digests do."""
    key = (visit_date.isoformat(), practitioner, tuple(conditions), note or None,
           tuple(points))
    return hashlib.blake2b(repr(key).encode(), digest_size=16).digest()


@dataclass
class Report:
    patients_added: int = 0
    visits_added: int = 0
    points_added: int = 0
    visits_present: int = 0
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


# The header before revision 0012 added adverse_events: such a file (an older export, a
# spreadsheet made from the old template) still imports.
HEADER_WITHOUT_EVENTS = tuple(column for column in HEADER if column != "adverse_events")


def _header(reader: Any, path: Path) -> bool:
    """Check the header; True when it is the one without adverse_events."""
    header = _next_row(reader, path)
    found = None if header is None else tuple(h.strip() for h in header)
    if found not in (HEADER, HEADER_WITHOUT_EVENTS):
        raise BadInput(f"{path} does not start with tplog's CSV header "
                       "(see `tplog import --template`)")
    return found == HEADER_WITHOUT_EVENTS


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
        without_events = _header(reader, path)
        while (row := _next_row(reader, path)) is not None:
            if without_events:  # read as if the column were there, empty
                row.insert(_EVENTS, "")
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
    return ImportVisit(line=line, mrn=mrn, patient=(name, born, sex),
                       weight_kg=weight, visit_date=visit_date, practitioner=practitioner,
                       conditions=conditions, note=note)


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
            errors.append(f"line {line}: {len(row)} cells, expected {len(HEADER)}")
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
                              [tuple(points.values(p).values()) for p in visit.points]))
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
    # Patients this import creates, with the last weight recorded for them: each visit whose
    # weight differs is a measurement on its day (the CSV gives the weight of the visit's day).
    weighed: dict[str, float | None] = {}
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
            actor: audit.Actor, weighed: dict[str, float | None]) -> None:
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
        if v.mrn in weighed and v.weight_kg is not None and v.weight_kg != weighed[v.mrn]:
            weighed[v.mrn] = v.weight_kg
            weighed_visits.append(v)
    if weighed_visits:
        weight_ids = _insert_numbered(connection, PatientWeight, [
            {"patient_id": patient_ids[v.mrn], "measured_on": v.visit_date,
             "weight_kg": v.weight_kg, "created_at": now, "created_by": actor.os_user}
            for v in weighed_visits])
        events += [audit.NewEvent(actor, "patient.weight",
                                  f"patient {v.mrn}: {v.weight_kg:g} kg on {v.visit_date}",
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
         "created_by": actor.os_user, "pregnant": None}
        for visit_id, v in zip(visit_ids, batch.visits, strict=True)]
    revision_ids = _insert_numbered(connection, VisitRevision, revisions)
    points, conditions, digests = [], [], []
    for revision_id, owner, revision, v in zip(revision_ids, owners, revisions, batch.visits,
                                               strict=True):
        own_conditions = [{"revision_id": revision_id, "condition": key, "position": number}
                          for number, key in enumerate(dict.fromkeys(v.conditions), start=1)]
        own_points = [dict(zip(_POINT_FIELDS, (revision_id, number, *point), strict=True))
                      for number, point in enumerate(v.points, start=1)]
        conditions += own_conditions
        points += own_points
        digests.append(audit.revision_digest({**revision, "id": revision_id}, patient_id=owner,
                                             visit_created_at=now,
                                             visit_created_by=actor.os_user,
                                             points=own_points, conditions=own_conditions))
    if conditions:
        connection.execute(insert(VisitCondition), conditions)
    connection.execute(insert(InjectedPoint), points)
    events += [audit.NewEvent(audit.Actor(actor.os_user, v.practitioner), "visit.import",
                              f"visit {visit_id}", owner, ("visit_revision", revision_id),
                              digest)
               for visit_id, revision_id, owner, v, digest in zip(
                   visit_ids, revision_ids, owners, batch.visits, digests, strict=True)]
    audit.append_events(connection, events)


def _insert_numbered(connection: Connection,
                     model: type[Patient | PatientWeight | Visit | VisitRevision],
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
