"""`tplog import`: the CSV export format (csv_format.py) read back, for moving from a
spreadsheet or another tplog.

One pass over the file, inside the command's one transaction: every row is checked, each MRN
is compared with the database the first time it appears (the visits of the patients a batch
of the file's visits meets are read together), and the good visits are written in batches as
they come (through the same audit trail as `tplog log`, each patient and visit its
own event). Any bad row or clashing MRN fails the import when the pass ends, and the
transaction is rolled back, so nothing is written: the guarantee of checking everything first,
for one reading of the file instead of two. A visit that is already in the database (same
patient, date, practitioner, conditions, note and points) is skipped, so importing a file twice
adds nothing the second time; the follow-ups and addenda the file gives it that it lacks are
added to it.

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

Where: csv_rows.py reads the file (encoding, header, rows), csv_cells.py reads the rows into
visits (every cell checked, the record's JSON cells), this module compares them with the
database and writes them, and csv_bulk.py hands the rows to the driver (COPY on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from tplog import clinical, points, procedure
from tplog.errors import BadInput
from tplog.export import csv_bulk as bulk
from tplog.export import select as records
from tplog.export.csv_cells import ImportVisit, content_key, read
from tplog.export.csv_format import PEG_COLUMNS
from tplog.export.csv_rows import check_header, restored
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
from tplog.points import Point
from tplog.services import audit, patients, visit_views

# The file's reading and its cells have their own modules; these names are what callers use.
__all__ = ["MAX_REPORTED", "Report", "check_header", "restored", "run"]

MAX_REPORTED = 50  # bad rows named one by one; beyond that, only counted

@dataclass
class Report:
    patients_added: int = 0
    visits_added: int = 0
    points_added: int = 0
    visits_present: int = 0
    follow_ups_added: int = 0
    addenda_added: int = 0
    visits_amended: int = 0  # imported as logged: their amendment history stays behind
    visits_replaced: int = 0  # here, since corrected or voided: not imported again
    left_with_void: int = 0  # follow-ups and addenda of visits voided here: not added
    # Visits amended where the file came from, beside one here that day it does not hold.
    amended_elsewhere: list[str] = field(default_factory=list)
    # The file's weights that differ from one recorded here the same day: not recorded.
    weights_differing: list[str] = field(default_factory=list)
    bad_rows: list[str] = field(default_factory=list)  # the file's own mistakes, by line
    clashes: list[str] = field(default_factory=list)  # MRNs that are someone else here


def _digests(visit_date: dt.date, practitioner: str, conditions: Sequence[str],
             note: str | None, recorded: Sequence[Point], done: procedure.Procedure,
             motion: Sequence[procedure.Measurement], peg: Any, lots: Sequence[Any],
             pregnant: str | None) -> tuple[bytes, ...]:
    """The digests a file's visit has when it records this (ImportVisit.content)."""
    same = (visit_date, practitioner, conditions, note,
            [tuple(points.values(p).values()) for p in recorded], done, motion, peg, lots)
    if pregnant is None:
        return (content_key(*same, None),)
    # A file that does not say (an earlier tplog's, with no `pregnant` column, or the cell
    # left empty) holds this visit too: it is not another one.
    return (content_key(*same, pregnant), content_key(*same, None))


class _Held:
    """The visits a patient has in the database, by their digests, each matched by one visit
    of the file at most: two visits of a file that record the same are two visits (its visit
    numbers tell them apart; a number cannot come back), so the second is imported when the
    database holds only one (a hostile trial: it was taken for "already there", and the day's
    dose in the export halved). A file imported twice still adds nothing the second time."""

    def __init__(self) -> None:
        self._by_digest: dict[bytes, list[int]] = {}
        self._visits: list[_Here] = []
        self._matched: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self._visits)

    def add(self, digests: Iterable[bytes], visit: _Here) -> None:
        """A visit here, by each digest a file's visit of it may have."""
        for digest in digests:
            self._by_digest.setdefault(digest, []).append(len(self._visits))
        self._visits.append(visit)

    def unmatched_on(self, day: dt.date) -> bool:
        """Whether a visit here of that day has not been matched by one of the file's."""
        return any(visit.visit_date == day and number not in self._matched
                   for number, visit in enumerate(self._visits))

    def match(self, digest: bytes) -> _Here | None:
        """The visit here not matched yet that has this digest (matched now), if any."""
        for number in self._by_digest.get(digest, ()):
            if number not in self._matched:
                self._matched.add(number)
                return self._visits[number]
        return None


_NOTHING: frozenset[tuple[Any, ...]] = frozenset()


@dataclass(frozen=True, slots=True)  # one for each visit here a file's patients have
class _Here:
    """A visit in the database, with what was added to it (as ImportVisit holds them): a
    file's visit that matches it brings only the follow-ups and addenda it lacks."""

    visit_id: int
    visit_date: dt.date
    follow_ups: frozenset[tuple[Any, ...]]
    addenda: frozenset[tuple[Any, ...]]
    voided: bool = False

    def lacking(self, visit: ImportVisit) -> ImportVisit:
        """The file's visit with only the follow-ups and addenda this one lacks (an
        addendum's writer left out: the import may name itself for an unnamed one)."""
        return replace(visit, follow_ups=[f for f in visit.follow_ups
                                          if tuple(f) not in self.follow_ups],
                       addenda=[a for a in visit.addenda
                                if (a[0], a[2], a[3]) not in self.addenda])


def _existing_visits(session: Session, patients: dict[str, int]
                     ) -> tuple[dict[str, _Held], dict[str, dict[bytes, _Here]]]:
    """The digests of the visits each patient (MRN: id) has in the database, and of what
    they no longer hold live. The first: the visits `history` gives (latest revisions,
    voided ones left out, merged duplicates' included), read for many patients at once as
    the export reads them (a query a patient, and ORM objects for every point, made a
    re-import three times a fresh one). The second: the records since corrected (earlier
    revisions) or voided, which a file written before then still holds."""
    live: dict[str, _Held] = {mrn: _Held() for mrn in patients}
    replaced: dict[str, dict[bytes, _Here]] = {mrn: {} for mrn in patients}
    mrn_of = {patient_id: mrn for mrn, patient_id in patients.items()}
    ids = sorted(patients.values())
    # A slice at a time: each id is a variable of the statement (twice in the second), and
    # SQLite before 3.32 (Ubuntu 20.04, RHEL 8) allows 999 of them.
    for at in range(0, len(ids), 400):
        some = ids[at:at + 400]
        for visit in records.stream(session, records.Selection(patient_ids=frozenset(some))):
            live[visit.mrn].add(_digests(
                visit.visit_date, cast(str, visit.practitioner),  # None only de-identified
                visit.conditions, visit.note, visit.points, visit.procedure,
                visit.range_of_motion, visit.peg, visit.lots, visit.pregnant), _Here(
                visit.visit_id, visit.visit_date,
                # (Most visits have neither: one empty set for all, not two each.)
                frozenset((f.reported_on, f.pain, f.note, f.practitioner, f.peg, f.pgic)
                          for f in visit.follow_ups) if visit.follow_ups else _NOTHING,
                frozenset((a.created_at, a.practitioner, a.text) for a in visit.addenda)
                if visit.addenda else _NOTHING))
        for patient_id, gone in visit_views.replaced_contents(session, some).items():
            for visit_gone in gone:
                here = _Here(visit_gone.visit_id, dt.date.min,  # (its day: not asked)
                             visit_gone.follow_ups, visit_gone.addenda,
                             voided=visit_gone.voided)
                for content in visit_gone.contents:
                    replaced[mrn_of[patient_id]].update(dict.fromkeys(_digests(*content), here))
    return live, replaced


# Visits written per round of bulk inserts (and one pass over their digests for the trail).
BATCH_VISITS = 2000


@dataclass
class _Batch:
    patients: list[ImportVisit] = field(default_factory=list)  # the first visit of each new one
    visits: list[ImportVisit] = field(default_factory=list)
    # Visits here, by id, with the follow-ups and addenda of the file they lack.
    additions: list[tuple[int, ImportVisit]] = field(default_factory=list)


def run(session: Session, path: Path, actor: audit.Actor, *, dry_run: bool) -> Report:
    """Check every row and write the good visits. The caller must roll back (raise) when the
    report has bad rows or clashes: rows written before the first mistake are in the
    transaction."""
    report = Report()
    if session.connection().dialect.name == "sqlite" and not dry_run:
        # A larger page cache for this connection (32 MiB, not SQLite's 2 MiB): the indexes
        # of a file's worth of points stay in memory instead of being spilled and read back.
        # It changes no transaction or durability setting, so it is safe inside one.
        session.connection().exec_driver_sql(f"PRAGMA cache_size = {-32 * 1024}")
    # For each MRN met so far: the patient's id (None while a new patient awaits its batch)
    # and the visits it has in the database.
    patient_ids: dict[str, int | None] = {}
    present: dict[str, _Held] = {}
    # And of the records they no longer hold live (corrected or voided since).
    gone: dict[str, dict[bytes, _Here]] = {}
    # Patients this import creates, with the last weight recorded for them and its date: each
    # visit whose weight differs (or was measured on another date) is a measurement, on the
    # date weight_measured_on gives (files of earlier tplogs: on the visit's day).
    weighed: dict[str, tuple[float, dt.date] | None] = {}
    # Patients already here, with the weights on their record: a new visit's weight that the
    # record does not hold is a measurement too (a file from another record system).
    scales = _Scales()
    batch = _Batch()
    revision_digests = _revision_digests()
    # The database's patients, read once (set-based) rather than a query per MRN of the file.
    here: dict[str, Any] = {row.mrn: row for row in session.execute(
        select(Patient.mrn, Patient.id, Patient.name, Patient.date_of_birth,
               Patient.merged_into))}
    # Each batch's points, which PostgreSQL stores while the next rows of the file are read
    # (csv_bulk.Background: the database's next statement waits for them).
    with bulk.Background(session.connection()) as background:
        for chunk in _chunks(read(path, report.bad_rows), BATCH_VISITS):
            # The visits in the database of the patients the chunk meets first, read
            # together (a patient merged into another is a clash: its visits are not read).
            known = {visit.mrn: found.id for visit in chunk if visit.mrn not in patient_ids
                     and (found := here.get(visit.mrn)) is not None
                     and found.merged_into is None}
            if known:
                # The export's reading goes to the driver itself, past the event by which
                # the database's next statement waits for the points still on their way.
                background.wait()
            existing, replaced = _existing_visits(session, known)
            gone.update(replaced)
            if known:
                on_record = records.PatientWeights(session.connection()).of(
                    list(known.values()))
                scales.on_record.update({mrn: on_record.get(patient_id, [])
                                         for mrn, patient_id in known.items()})
            for visit in chunk:
                if visit.mrn not in patient_ids:
                    _meet_patient(session, here.get(visit.mrn), visit, report, patient_ids,
                                  present, batch, existing)
                    if patient_ids[visit.mrn] is None:
                        weighed[visit.mrn] = None
                held, replaced_here = present[visit.mrn], gone.get(visit.mrn)
                # (A new patient's visits need no digest: there is nothing to match.)
                key = visit.content() if held or replaced_here else b""
                if (here_already := held.match(key)) is not None:
                    report.visits_present += 1
                    # What was added to it since elsewhere (a file from another record
                    # system): the follow-ups and addenda it lacks are added to it.
                    if not _add_later(report, batch, here_already, visit, dry_run):
                        continue
                elif replaced_here and key in replaced_here:
                    # The visit as it read before it was corrected or voided here: imported,
                    # it would be the old record back beside the corrected one (a dose
                    # counted twice), or a visit entered in error live again. What was added
                    # to it since elsewhere goes to the corrected visit; a voided one's is
                    # counted, not added.
                    report.visits_replaced += 1
                    if not _add_later(report, batch, replaced_here[key], visit, dry_run):
                        continue
                elif visit.amended and held.unmatched_on(visit.visit_date):
                    # Amended where it came from, beside a visit here that day the file does
                    # not hold: most likely that visit, as it read before the amendment.
                    # Imported, the day would hold both (a dose counted twice).
                    report.amended_elsewhere.append(
                        f"line {visit.line}: the visit of {visit.visit_date} was amended "
                        f"where it came from, and {visit.mrn} has a visit here that day that "
                        "the file does not hold: not imported (amend that one with `tplog "
                        "visit amend` if it is the same visit)")
                    continue
                else:
                    report.visits_added += 1
                    report.points_added += len(visit.points)
                    report.follow_ups_added += len(visit.follow_ups)
                    report.addenda_added += len(visit.addenda)
                    report.visits_amended += visit.amended
                    if dry_run or report.bad_rows or report.clashes:
                        continue  # nothing more is written once the import is bound to fail
                    batch.visits.append(visit)
                if len(batch.visits) + len(batch.additions) >= BATCH_VISITS:
                    _insert(session, batch, patient_ids, actor, weighed, scales,
                            revision_digests, background)
                    batch = _Batch()
        if (batch.visits or batch.additions) and not (report.bad_rows or report.clashes):
            _insert(session, batch, patient_ids, actor, weighed, scales, revision_digests,
                    background)
    # The file is read a chunk ahead of the patients met: the mistakes, by line.
    report.bad_rows.sort(key=_line_of)
    report.weights_differing = scales.differing
    return report


@dataclass
class _Scales:
    """The weights on record of the patients already here, by MRN (a new visit's weight the
    record does not hold is a measurement too), and the file's weights that differ from one
    recorded here for the same day: not recorded, and named (which is right is for the
    clinic to say; recorded, the file's would have become the patient's weight unsaid)."""

    on_record: dict[str, list[clinical.Weight]] = field(default_factory=dict)
    differing: list[str] = field(default_factory=list)
    _said: set[tuple[str, dt.date, float | None]] = field(default_factory=set)

    def new_weight(self, visit: ImportVisit) -> bool:
        """Whether the visit's weight (the one its dose check used) is a measurement the
        patient's record does not hold: on the date the file gives, or, in an earlier
        tplog's file (no date), not the weight the record gives for the visit's day."""
        on_record, kg = self.on_record[visit.mrn], visit.weight_kg
        if visit.weighed_on is None:
            chosen = clinical.weight_on(on_record, visit.visit_date)
            return chosen is None or chosen.kg != kg
        that_day = [w.kg for w in on_record if w.measured_on == visit.weighed_on]
        if that_day and kg not in that_day and (
                said := (visit.mrn, visit.weighed_on, kg)) not in self._said:
            self._said.add(said)  # a weight is on each of its visits' rows: named once
            self.differing.append(
                f"line {visit.line}: {kg:g} kg on {visit.weighed_on}, where {visit.mrn}'s "
                f"record holds {that_day[-1]:g} kg that day: not recorded")
        return not that_day


def _add_later(report: Report, batch: _Batch, here: _Here, visit: ImportVisit,
               dry_run: bool) -> bool:
    """Count, and unless the import only counts, add to the batch the follow-ups and
    addenda the file's visit gives the visit here that it lacks; a voided visit's are
    counted as left with it. Whether there are any to write."""
    later = here.lacking(visit)
    found = len(later.follow_ups) + len(later.addenda)
    if not found:
        return False
    if here.voided:
        report.left_with_void += found
        return False
    report.follow_ups_added += len(later.follow_ups)
    report.addenda_added += len(later.addenda)
    if dry_run or report.bad_rows or report.clashes:
        return False  # nothing more is written once the import is bound to fail
    batch.additions.append((here.visit_id, later))
    return True


def _chunks(visits: Iterable[ImportVisit], size: int) -> Iterator[list[ImportVisit]]:
    """The visits, `size` at a time (itertools.batched: Python 3.12)."""
    remaining = iter(visits)
    while chunk := list(islice(remaining, size)):
        yield chunk


def _line_of(mistake: str) -> int:
    """The line a bad-row report names ("line 12: ...")."""
    return int(mistake.split(":", 1)[0].removeprefix("line "))


def _meet_patient(session: Session, found: Any, visit: ImportVisit, report: Report,
                  patient_ids: dict[str, int | None], present: dict[str, _Held],
                  batch: _Batch, existing: dict[str, _Held]) -> None:
    """The first visit of an MRN: the patient in the database must be the same person (by
    name and date of birth, where the file gives them); one who is not there yet is created
    with the next batch."""
    name, born, sex = visit.patient
    if found is not None:
        if found.merged_into is not None:
            # Its visits would be read as the other patient's, unseen under this MRN.
            into = session.get_one(Patient, found.merged_into)
            report.clashes.append(f"line {visit.line}: MRN {visit.mrn} was merged into "
                                  f"{into.mrn}; give {into.mrn}")
        elif name and name != found.name:
            report.clashes.append(f"line {visit.line}: MRN {visit.mrn} is {found.name!r} in "
                                  f"the database, not {name!r}")
        elif born is not None and found.date_of_birth not in (None, born):
            # The same name born on another day is another person (or a slip in one record):
            # their visits are not filed under this one's.
            report.clashes.append(f"line {visit.line}: MRN {visit.mrn} was born "
                                  f"{found.date_of_birth} in the database, not {born}")
        patient_ids[visit.mrn] = found.id
        present[visit.mrn] = existing.get(visit.mrn, _Held())
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
    present[visit.mrn] = _Held()  # a patient new to the database has no visits to compare with
    batch.patients.append(visit)


def _insert(session: Session, batch: _Batch, patient_ids: dict[str, int | None],
            actor: audit.Actor, weighed: dict[str, tuple[float, dt.date] | None],
            scales: _Scales,
            revision_digests: audit.RevisionDigests, background: bulk.Background) -> None:
    """The batch's new patients and visits as `tplog patient add` and `tplog log` would write
    them, in bulk, each audited; the points last, stored in the background."""
    background.wait()  # the batch before's points
    session.flush()
    connection = session.connection()
    now = dt.datetime.now(dt.UTC)
    who = actor.os_user
    events = []
    if batch.patients:
        added = bulk.write_numbered(connection, Patient, _PATIENT_COLUMNS, [
            (v.mrn, *v.patient, None, now, who) for v in batch.patients])
        for visit, patient_id in zip(batch.patients, added, strict=True):
            patient_ids[visit.mrn] = patient_id
            events.append(audit.NewEvent(actor, "patient.add", f"patient {visit.mrn}",
                                         patient_id, ("patient", patient_id)))
    weighed_visits = []  # the visits whose weight is a new measurement of their patient
    for v in batch.visits:
        if v.weight_kg is None:
            continue
        if v.mrn in weighed:  # a patient this import creates
            last = weighed[v.mrn]
            # A weight that differs, or the same one measured again on a date the file gives.
            if last is None or v.weight_kg != last[0] or (v.weighed_on not in (None, last[1])):
                weighed[v.mrn] = (v.weight_kg, v.weighed_on or v.visit_date)
                weighed_visits.append(v)
        elif v.mrn in scales.on_record and scales.new_weight(v):
            scales.on_record[v.mrn].append(
                clinical.Weight(v.weight_kg, v.weighed_on or v.visit_date))
            weighed_visits.append(v)
    if weighed_visits:
        weight_ids = bulk.write_numbered(connection, PatientWeight, _WEIGHT_COLUMNS, [
            (patient_ids[v.mrn], v.weighed_on or v.visit_date, v.weight_kg, now, who)
            for v in weighed_visits])
        events += [audit.NewEvent(actor, "patient.weight",
                                  f"patient {v.mrn}: {v.weight_kg:g} kg on "
                                  f"{v.weighed_on or v.visit_date}",
                                  patient_ids[v.mrn], ("patient_weight", weight_id))
                   for v, weight_id in zip(weighed_visits, weight_ids, strict=True)]
    # Every patient has an id now: the new ones were inserted just above.
    owners = [int(patient_ids[v.mrn]) for v in batch.visits]  # type: ignore[arg-type]
    visit_ids = bulk.write_numbered(connection, Visit, _VISIT_COLUMNS,
                                    [(owner, now, who) for owner in owners])
    revisions = [(visit_id, 1, v.visit_date, v.practitioner, v.note, None, now, who,
                  v.pregnant, *_procedure_row(v.procedure), *(v.peg or _NO_PEG))
                 for visit_id, v in zip(visit_ids, batch.visits, strict=True)]
    # In the background, as are the revisions' parts below: the server stores each while
    # the digests and the next part are worked out (the connection's next statement waits).
    revision_ids = bulk.write_numbered(connection, VisitRevision, _REVISION_COLUMNS,
                                       revisions, background=background)
    # The lots first: a revision's digest takes them in the order of their ids.
    lot_rows = [(revision_id, lot.drug, lot.lot, lot.expiry)
                for revision_id, v in zip(revision_ids, batch.visits, strict=True)
                for lot in v.lots]
    lot_ids = bulk.write_numbered(connection, InjectateLot, _LOT_COLUMNS, lot_rows) \
        if lot_rows else []
    lots_of: dict[int, list[tuple[Any, ...]]] = {}
    for lot_id, row in zip(lot_ids, lot_rows, strict=True):
        lots_of.setdefault(row[0], []).append((lot_id, *row))
    points, conditions, motions, digests = [], [], [], []
    digest = revision_digests.digest
    for revision_id, owner, revision, v in zip(revision_ids, owners, revisions, batch.visits,
                                               strict=True):
        own_conditions = [(revision_id, key, number)
                          for number, key in enumerate(dict.fromkeys(v.conditions), start=1)]
        own_points = [(revision_id, number, *point)
                      for number, point in enumerate(v.points, start=1)]
        own_motions = [(revision_id, *procedure.rom_values(m).values(), m.position)
                       for m in v.range_of_motion]
        conditions += own_conditions
        points += own_points
        motions += own_motions
        # The digest covers a revision with no findings; the trail reads back the digest of
        # one that has some (None).
        digests.append(None if v.warnings else digest(
            (revision_id, *revision), patient_id=owner, visit_created_at=now,
            visit_created_by=who, points=own_points, conditions=own_conditions,
            range_of_motion=own_motions, lots=lots_of.get(revision_id, ())))
    if conditions:
        background.send(VisitCondition, _CONDITION_COLUMNS, conditions)
    if motions:
        background.send(RangeOfMotion, _MOTION_COLUMNS, motions)
    if None in digests:
        # The trail reads these revisions back whole (append_events), their points too.
        background.send(InjectedPoint, _POINT_COLUMNS, points)
        points = []
    warnings = [(revision_id, kind, message, confirmation)
                for revision_id, v in zip(revision_ids, batch.visits, strict=True)
                for kind, message, confirmation in v.warnings]
    if warnings:
        background.send(VisitWarning, _WARNING_COLUMNS, warnings)
    acting = {name: audit.Actor(who, name) for name in {v.practitioner for v in batch.visits}}
    events += [audit.NewEvent(acting[v.practitioner], "visit.import",
                              f"visit {visit_id}", owner, ("visit_revision", revision_id),
                              digest)
               for visit_id, revision_id, owner, v, digest in zip(
                   visit_ids, revision_ids, owners, batch.visits, digests, strict=True)]
    events += _follow_ups_and_addenda(connection, batch.visits, visit_ids, owners, actor, now)
    if batch.additions:
        events += _follow_ups_and_addenda(
            connection, [v for _, v in batch.additions], [i for i, _ in batch.additions],
            [int(patient_ids[v.mrn]) for _, v in batch.additions],  # type: ignore[arg-type]
            actor, now)
    audit.append_events(connection, events, write=background.write_table)
    # Most of the server's work (each point's reference and indexes): sent last, so that it
    # is done while the next batch is read from the file.
    background.send(InjectedPoint, _POINT_COLUMNS, points)


def _follow_ups_and_addenda(connection: Connection, batch: list[ImportVisit],
                            visit_ids: list[int], owners: list[int], actor: audit.Actor,
                            now: dt.datetime) -> list[audit.NewEvent]:
    """The visits' follow-ups and addenda, each audited as `tplog visit followup` and
    `tplog visit addendum` audit theirs. An addendum keeps when and by whom it was written
    (the trail says who imported it, and when)."""
    owned = list(zip(batch, visit_ids, owners, strict=True))
    # (visit id, owner, practitioner, row) for each
    follow_ups = [(visit_id, owner, practitioner, (
        visit_id, pain, reported_on, note, now, actor.os_user, practitioner,
        *(peg or _NO_PEG), pgic))
        for v, visit_id, owner in owned
        for reported_on, pain, note, practitioner, peg, pgic in v.follow_ups]
    addenda = [(visit_id, owner, practitioner, (
        visit_id, text, created_at, created_by or actor.os_user, practitioner))
        for v, visit_id, owner in owned
        for created_at, created_by, practitioner, text in v.addenda]
    events = []
    if follow_ups:
        ids = bulk.write_numbered(connection, FollowUp, _FOLLOW_UP_COLUMNS,
                                  [row for *_, row in follow_ups])
        events += [audit.NewEvent(audit.Actor(actor.os_user, practitioner),
                                  "visit.followup", f"visit {visit_id} follow-up {new_id}",
                                  owner, ("follow_up", new_id))
                   for (visit_id, owner, practitioner, _), new_id
                   in zip(follow_ups, ids, strict=True)]
    if addenda:
        ids = bulk.write_numbered(connection, VisitAddendum, _ADDENDUM_COLUMNS,
                                  [row for *_, row in addenda])
        events += [audit.NewEvent(audit.Actor(actor.os_user, practitioner),
                                  "visit.addendum", f"visit {visit_id} addendum {new_id}",
                                  owner, ("visit_addendum", new_id))
                   for (visit_id, owner, practitioner, _), new_id
                   in zip(addenda, ids, strict=True)]
    return events


def _procedure_row(done: procedure.Procedure) -> tuple[Any, ...]:
    """The procedure's columns (procedure.NAMES), as stored: most visits record none."""
    return _NONE_RECORDED if done is procedure.NOT_RECORDED else _recorded_row(done)


@functools.lru_cache(maxsize=1024)
def _recorded_row(done: procedure.Procedure) -> tuple[Any, ...]:
    # A file repeats a few procedures.
    return tuple(procedure.values(done).values())


# The columns each table is written with (the id, where drawn, first: csv_bulk adds it).
_NO_PEG = (None, None, None)
_NONE_RECORDED = _recorded_row(procedure.NOT_RECORDED)
_PATIENT_COLUMNS = ("mrn", "name", "date_of_birth", "sex", "weight_kg", "created_at",
                    "created_by")
_WEIGHT_COLUMNS = ("patient_id", "measured_on", "weight_kg", "created_at", "created_by")
_VISIT_COLUMNS = ("patient_id", "created_at", "created_by")
_REVISION_COLUMNS = ("visit_id", "number", "visit_date", "practitioner", "note", "reason",
                     "created_at", "created_by", "pregnant", *procedure.NAMES, *PEG_COLUMNS)
_LOT_COLUMNS = ("revision_id", "drug", "lot", "expiry")
_CONDITION_COLUMNS = ("revision_id", "condition", "position")
_MOTION_COLUMNS = ("revision_id", *procedure.ROM_NAMES, "position")
_POINT_COLUMNS = ("revision_id", "position", *points.NAMES)
_WARNING_COLUMNS = ("revision_id", "kind", "message", "confirmation")
_FOLLOW_UP_COLUMNS = ("visit_id", "pain", "reported_on", "note", "created_at", "created_by",
                      "practitioner", *PEG_COLUMNS, "pgic")
_ADDENDUM_COLUMNS = ("visit_id", "text", "created_at", "created_by", "practitioner")


def _revision_digests() -> audit.RevisionDigests:
    """The digests of the revisions an import writes, for one import. Every column of each
    part of a revision is named (RevisionDigests checks): a column added to a table fails
    here, at import, rather than giving a digest `audit verify` disputes."""
    return audit.RevisionDigests(("id", *_REVISION_COLUMNS), _POINT_COLUMNS,
                                 _CONDITION_COLUMNS, _MOTION_COLUMNS, ("id", *_LOT_COLUMNS))
