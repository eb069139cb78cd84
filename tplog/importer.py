"""`tplog import`: the CSV export format read back, for moving from a spreadsheet or another
tplog.

Every row is checked before anything is written (first pass, file only; then the MRNs against
the database); any bad row stops the import with every bad row named by its line. Writing is
one transaction through the same services as `tplog log`, each visit audited. A visit that is
already in the database (same patient, date, practitioner, conditions, note and points) is
skipped, so importing a file twice adds nothing the second time.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tplog.entry import (
    PointEntry,
    Sex,
    Side,
    Soreness,
    check_condition,
    check_drug,
    check_muscle,
    parse_choice,
    parse_date,
    parse_pain,
    parse_volume,
    parse_weight,
    parse_yes_no,
)
from tplog.errors import BadInput
from tplog.export.csv_format import HEADER
from tplog.models import InjectedPoint, Patient, Visit, VisitCondition, VisitRevision
from tplog.services import audit, patients, visits

MAX_REPORTED = 50  # bad rows named one by one; beyond that, only counted


@dataclass
class ImportVisit:
    line: int  # of its first row
    mrn: str
    patient: tuple[str, dt.date | None, str | None, float | None]  # name, born, sex, kg
    visit_date: dt.date
    practitioner: str
    conditions: tuple[str, ...]
    note: str | None
    points: list[PointEntry] = field(default_factory=list)

    def content(self) -> tuple[object, ...]:
        return content_key(self.visit_date, self.practitioner, self.conditions, self.note,
                           [(p.muscle, p.side.value, p.pain_before, p.pain_after,
                             p.twitch_response, None if p.soreness is None else p.soreness.value,
                             p.numbness, p.drug, p.volume_ml) for p in self.points])


def content_key(visit_date, practitioner, conditions, note, points) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    return (visit_date, practitioner, tuple(sorted(conditions)), note or None, tuple(points))


@dataclass
class Report:
    patients_added: int = 0
    visits_added: int = 0
    points_added: int = 0
    visits_present: int = 0


def _optional(text: str) -> str | None:
    return text if text.strip() else None


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"no file {path}") from None
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise BadInput(f"{path} does not start with tplog's CSV header "
                           "(see `tplog import --template`)")
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(HEADER):
                yield reader.line_num, {"__width__": str(len(row))}
                continue
            yield reader.line_num, dict(zip(HEADER, row, strict=True))


def _point(row: dict[str, str]) -> PointEntry:
    muscle = check_muscle(row["muscle"].strip().lower())
    side = row["side"].strip().upper()
    if side not in ("L", "R"):
        raise BadInput(f"side {row['side']!r} is not allowed; use L or R")
    drug = check_drug(row["drug"].strip().lower()) if _optional(row["drug"]) else None
    volume = parse_volume(row["volume_ml"], "volume_ml") if _optional(row["volume_ml"]) else None
    soreness = _optional(row["soreness"])
    return PointEntry(
        muscle=muscle, side=Side(side), pain_before=parse_pain(row["pain_before"], "pain_before"),
        pain_after=parse_pain(row["pain_after"], "pain_after")
        if _optional(row["pain_after"]) else None,
        twitch_response=parse_yes_no(row["twitch_response"], "twitch_response")
        if _optional(row["twitch_response"]) else None,
        soreness=parse_choice(soreness, Soreness, "soreness") if soreness else None,
        numbness=parse_yes_no(row["numbness"], "numbness")
        if _optional(row["numbness"]) else None,
        drug=drug, volume_ml=volume)


def _visit_head(line: int, row: dict[str, str]) -> ImportVisit:
    mrn = patients.check_mrn(row["mrn"].strip())
    born = parse_date(row["date_of_birth"], "date_of_birth") \
        if _optional(row["date_of_birth"]) else None
    sex = parse_choice(row["sex"], Sex, "sex").value if _optional(row["sex"]) else None
    weight = parse_weight(row["weight_kg"]) if _optional(row["weight_kg"]) else None
    practitioner = row["practitioner"].strip()
    if not practitioner:
        raise BadInput("practitioner is empty; each visit needs one")
    if len(practitioner) > 200 or len(row["visit_note"]) > visits.MAX_TEXT:
        raise BadInput("practitioner (at most 200 characters) or visit_note (at most "
                       f"{visits.MAX_TEXT}) is too long")
    visit_date = parse_date(row["visit_date"], "visit_date")
    if visit_date > dt.date.today():
        raise BadInput(f"visit_date {visit_date} is in the future")
    conditions = tuple(check_condition(key.strip().lower())
                       for key in row["conditions"].split(";") if key.strip())
    return ImportVisit(line=line, mrn=mrn, patient=(row["patient_name"].strip(), born, sex,
                                                    weight),
                       visit_date=visit_date, practitioner=practitioner, conditions=conditions,
                       note=_optional(row["visit_note"]))


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
        if "__width__" in row:
            errors.append(f"line {line}: {row['__width__']} cells, expected {len(HEADER)}")
            continue
        number = row["visit"].strip()
        if not number.isdigit():
            errors.append(f"line {line}: visit {number!r} is not allowed; number the visits "
                          "1, 2, ...")
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
                    bad(line, f"patient {current.mrn} has another name, birth date, sex or "
                              "weight on an earlier line")
        elif current is not None and (row["mrn"].strip(), row["visit_date"].strip()) != (
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


def validate(path: Path) -> tuple[list[str], dict[str, tuple[int, str]]]:
    """Every bad row, and each MRN the file uses with its first line and name (first pass:
    the file only)."""
    errors: list[str] = []
    mrns: dict[str, tuple[int, str]] = {}
    for visit in read(path, errors):
        mrns.setdefault(visit.mrn, (visit.line, visit.patient[0]))
    return errors, mrns


def check_against_database(session: Session, mrns: dict[str, tuple[int, str]]) -> list[str]:
    """An MRN already in the database must be the same patient (by name)."""
    problems = []
    for mrn, name in session.execute(select(Patient.mrn, Patient.name)
                                     .where(Patient.mrn.in_(list(mrns)))):
        line, named = mrns[mrn]
        if named and named != name:
            problems.append(f"line {line}: MRN {mrn} is {name!r} in the database, not "
                            f"{named!r}")
    return sorted(problems, key=lambda problem: int(problem.split()[1].rstrip(":")))


def _existing_visits(session: Session, patient: Patient) -> set[tuple[object, ...]]:
    found = set()
    for visit in visits.history(session, patient):
        found.add(content_key(visit.visit_date, visit.practitioner, visit.conditions,
                              visit.note,
                              [(p.muscle, p.side, p.pain_before, p.pain_after,
                                p.twitch_response, p.soreness, p.numbness, p.drug, p.volume_ml)
                               for p in visit.points]))
    return found


# Visits written per round of bulk inserts (and one pass over their digests for the trail).
BATCH_VISITS = 2000


def write(session: Session, path: Path, actor: audit.Actor, *, dry_run: bool) -> Report:
    """Second pass: create missing patients, add the visits not already there."""
    report = Report()
    known: dict[str, tuple[Patient | None, set[tuple[object, ...]]]] = {}
    created: set[str] = set()
    batch: list[tuple[Patient, ImportVisit]] = []
    for visit in read(path, []):
        if visit.mrn not in known:
            patient = session.scalar(select(Patient).where(Patient.mrn == visit.mrn))
            if patient is None:
                name, born, sex, weight = visit.patient
                if not name:
                    raise BadInput(f"line {visit.line}: patient_name is empty; a new patient "
                                   f"({visit.mrn}) needs a name")
                report.patients_added += 1
                created.add(visit.mrn)
                if not dry_run:
                    patient = patients.add_patient(session, name=name, mrn=visit.mrn,
                                                   date_of_birth=born, sex=sex,
                                                   weight_kg=weight, actor=actor)
            # A patient created by this import has no earlier visits to compare with.
            present = (set() if patient is None or visit.mrn in created
                       else _existing_visits(session, patient))
            known[visit.mrn] = (patient, present)
        patient, present = known[visit.mrn]
        key = visit.content()
        if key in present:
            report.visits_present += 1
            continue
        present.add(key)
        report.visits_added += 1
        report.points_added += len(visit.points)
        if dry_run or patient is None:
            continue
        batch.append((patient, visit))
        if len(batch) >= BATCH_VISITS:
            _insert(session, batch, actor)
            batch.clear()
    if batch:
        _insert(session, batch, actor)
    return report


def _insert(session: Session, batch: list[tuple[Patient, ImportVisit]],
            actor: audit.Actor) -> None:
    """The batch's visits as `tplog log` would write them, in bulk, each audited."""
    session.flush()
    connection = session.connection()
    now = dt.datetime.now(dt.UTC)
    visit_ids = connection.execute(
        insert(Visit).returning(Visit.id, sort_by_parameter_order=True),
        [{"patient_id": patient.id, "created_at": now, "created_by": actor.os_user}
         for patient, _ in batch]).scalars().all()
    revision_ids = connection.execute(
        insert(VisitRevision).returning(VisitRevision.id, sort_by_parameter_order=True),
        [{"visit_id": visit_id, "number": 1, "visit_date": v.visit_date,
          "practitioner": v.practitioner, "note": v.note, "reason": None, "created_at": now,
          "created_by": actor.os_user}
         for visit_id, (_, v) in zip(visit_ids, batch, strict=True)]).scalars().all()
    points, conditions = [], []
    for revision_id, (_, v) in zip(revision_ids, batch, strict=True):
        conditions += [{"revision_id": revision_id, "condition": key}
                       for key in dict.fromkeys(v.conditions)]
        points += [{"revision_id": revision_id, "position": number, "muscle": p.muscle,
                    "side": p.side.value, "twitch_response": p.twitch_response,
                    "pain_before": p.pain_before, "pain_after": p.pain_after,
                    "soreness": None if p.soreness is None else p.soreness.value,
                    "numbness": p.numbness, "drug": p.drug, "volume_ml": p.volume_ml}
                   for number, p in enumerate(v.points, start=1)]
    if conditions:
        connection.execute(insert(VisitCondition), conditions)
    connection.execute(insert(InjectedPoint), points)
    audit.append_events(connection, [
        audit.NewEvent(audit.Actor(actor.os_user, v.practitioner), "visit.import",
                       f"visit {visit_id}", patient.id, ("visit_revision", revision_id))
        for visit_id, revision_id, (patient, v) in zip(visit_ids, revision_ids, batch,
                                                      strict=True)])
