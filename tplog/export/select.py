"""The visits an export covers, streamed in a stable order with flat memory (tplog.export.
deidentify de-identifies them on the way out when asked to).

One query joins each visit's latest revision to its points (voided visits are left out), is
read in batches (yield_per: a server-side cursor on PostgreSQL), and consecutive rows are
grouped into visits, so a million points never sit in memory at once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from itertools import chain, groupby
from operator import itemgetter
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Integer,
    ScalarSelect,
    Select,
    String,
    any_,
    bindparam,
    case,
    cast,
    column,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from tplog import clinical
from tplog import points as point_fields
from tplog import procedure as procedure_fields
from tplog.errors import BadInput, NotFound
from tplog.models import (
    AdverseEvent,
    AuditEvent,
    FollowUp,
    InjectateLot,
    InjectedPoint,
    Patient,
    PatientWeight,
    Practitioner,
    RangeOfMotion,
    Visit,
    VisitAddendum,
    VisitCondition,
    VisitRevision,
    VisitWarning,
)
from tplog.parse import Lot
from tplog.points import Point
from tplog.procedure import Measurement, Procedure
from tplog.services.patients import Merged
from tplog.services.queries import (
    MERGED_INTO,
    WRITTEN_FOR,
    latest_revision,
    not_voided,
)
from tplog.services.views import AddendumView, AdverseEventView, WarningView, as_utc
from tplog.services.visit_views import DaySite, day_sites


@dataclass(frozen=True)
class ExportFollowUp:
    """Pain reported after the visit, with the relief it shows against the visit's mean pain
    before injection (tplog.clinical.relief_at), worked out from the true dates before any
    de-identification."""

    reported_on: dt.date | None  # None: left out (Safe Harbor, tplog.export.deidentify)
    pain: int
    days_after: int
    percent_relief: float | None
    note: str | None
    practitioner: str | None
    # PEG and PGIC asked at the follow-up (revision 0013); None: not asked.
    peg: tuple[int, int, int] | None = None
    pgic: int | None = None

    @property
    def peg_score(self) -> float | None:
        score = None if self.peg is None else clinical.peg_score(*self.peg)
        return None if score is None else round(float(score), 1)


@dataclass(frozen=True)
class Amendment:
    """The latest revision of an amended visit: when, by whom (the practitioner the audit
    trail names; the OS user where it names none) and why."""

    revision: int  # 2 for the first amendment, ...
    amended_at: dt.datetime | None  # None when de-identified
    amended_by: str | None
    reason: str | None


# Not frozen: object.__setattr__ per field cost 8 microseconds a visit, a second or more of a
# million-point export. Nothing changes a visit once built (dataclasses.replace makes anew).
@dataclass
class ExportVisit:
    """One visit as exported: its patient's columns, its own, and its points."""

    number: int  # 1, 2, ... in the order of this export (shown only when de-identified)
    visit_id: int
    mrn: str
    patient_name: str | None
    date_of_birth: dt.date | None
    sex: str | None
    weight_kg: float | None  # the latest weight on or before the visit date
    visit_date: dt.date
    practitioner: str | None
    conditions: tuple[str, ...]
    note: str | None
    # The points as read, in POINT_COLUMNS order: the CSV writes them as they are, and the
    # richer formats ask for `points` (building a view per point costs more than the rest).
    point_rows: tuple[Sequence[object], ...]
    age_at_visit: str | None = None  # whole years; "90+" when de-identified and over 89
    year_only: bool = False  # de-identified (Safe Harbor): every date is shown as its year
    deidentified: bool = False  # the database's visit ids are not shown either
    weight_measured_on: dt.date | None = None
    adult: bool | None = None  # 18 or over at the visit; None without a date of birth
    # The patient's day: every visit of this export on the same date (this one included),
    # and the points of that day's visits the export leaves out (`--visit ID`). A dose limit
    # and a billing code are per patient per day.
    day: list[ExportVisit] = field(default_factory=list, compare=False, repr=False)
    day_elsewhere: tuple[DaySite, ...] = ()
    # The rest of the record (issue 15): what follows the visit (follow-ups, how long relief
    # of >= 30 % lasted, addenda), whether and how it was amended, and the safety checks'
    # findings recorded with its latest revision, with how each was confirmed.
    follow_ups: tuple[ExportFollowUp, ...] = ()
    relief_days: int | None = None  # tplog.clinical.relief_lasted
    addenda: tuple[AddendumView, ...] = ()
    amendment: Amendment | None = None  # None: the visit as logged
    warnings: tuple[WarningView, ...] = ()
    # The procedure as documented and the ranges of motion (revision 0010).
    procedure: Procedure = Procedure()
    range_of_motion: tuple[Measurement, ...] = ()
    lots: tuple[Lot, ...] = ()  # each drug's lot and expiry, as logged (revision 0011)
    peg: tuple[int, int, int] | None = None  # PEG asked at the visit (revision 0013)
    pregnant: str | None = None  # yes, no, unknown; None: not asked (revision 0012)
    # From the record of the practitioner named (linked by the name), for the letterhead.
    practitioner_credentials: str | None = None
    practitioner_npi: str | None = None

    @property
    def practitioner_signed(self) -> str | None:
        """"Name, credentials" (the name alone without credentials)."""
        if self.practitioner is None or not self.practitioner_credentials:
            return self.practitioner
        return f"{self.practitioner}, {self.practitioner_credentials}"

    @property
    def peg_score(self) -> float | None:
        score = None if self.peg is None else clinical.peg_score(*self.peg)
        return None if score is None else round(float(score), 1)
    adverse_events: tuple[AdverseEventView, ...] = ()  # by date (revision 0012)

    @property
    def shown_id(self) -> int:
        """The visit as the export names it: the database's id (`tplog visit show ID`), or,
        de-identified, its number within this export (database ids are not shown)."""
        return self.number if self.deidentified else self.visit_id

    @cached_property
    def points(self) -> tuple[Point, ...]:
        return tuple(point_fields.from_values(
            {f.name: _flag(value) if f.yes_no else value
             for f, value in zip(point_fields.FIELDS, findings, strict=True)},
            position=int(position))  # type: ignore[call-overload]
            for position, *findings in self.point_rows)

    @property
    def change(self) -> clinical.Change | None:
        return clinical.change_of_mean((p.pain_before, p.pain_after) for p in self.points)

    def day_sites(self) -> list[DaySite]:
        """The points of the patient's other visits that day."""
        return [(other.visit_id, p.muscle, p.side, drug, ml)
                for other in self.day if other.visit_id != self.visit_id
                for p in other.points for drug, ml in p.doses] + list(self.day_elsewhere)

    def _doses(self) -> list[tuple[str | None, float | None]]:
        """What the visit's points injected, drug by drug (Point.doses), read from the rows
        as they are: building a Point per point for this alone was most of a CSV export."""
        return ([part for row in self.point_rows
                 for part in clinical.injected(row[_DRUG], row[_VOLUME],  # type: ignore[arg-type]
                                               row[_INJECTATE])]  # type: ignore[arg-type]
                + [(drug, ml) for *_, drug, ml in self.day_sites()])

    @property
    def day_visits(self) -> tuple[int, ...]:
        if self.deidentified:  # the visits' numbers in this export, not the database's ids
            return tuple(sorted({self.number, *(other.number for other in self.day)}))
        return tuple(sorted({self.visit_id, *(site[0] for site in self.day_sites())}))

    def dose(self, rules: clinical.Rules) -> clinical.DoseCheck | None:
        """The day's local anaesthetics against the limits for the weight of that day."""
        weight = (None if self.weight_kg is None or self.weight_measured_on is None
                  else clinical.Weight(self.weight_kg, self.weight_measured_on,
                                       year_only=self.year_only))
        # The check needs only whether the patient was an adult (a de-identified export
        # keeps no date of birth): stand in a birth date that gives the same answer.
        born = (None if self.adult is None else
                dt.date(self.visit_date.year - (clinical.ADULT_AGE if self.adult else 0), 1, 1))
        check = clinical.check_dose(self._doses(), day=self.visit_date, weight=weight,
                                    date_of_birth=born, limits=rules.dose_limits)
        return check if check.drugs else None

    def dose_key(self) -> tuple[object, ...]:
        """All that dose(rules) depends on besides the rules: a caller checking many visits
        checks each distinct key once (a clinic gives the same few doses again and again).
        The visit's (drug, mL) as read, in order, where it has no mixture and no None to
        sort (most visits): equal keys give equal checks, which is all a cache needs."""
        weighed = self.weight_measured_on
        doses: Any = None
        if not any(map(_injectate_of, self.point_rows)):
            doses = list(map(_drug_and_volume, self.point_rows))
            try:
                doses.sort()
            except TypeError:  # None beside a value: what the check leaves out
                doses = None
        if doses is None:
            doses = clinical.doses_key(self._doses())
        others = (tuple(sorted((drug, ml) for *_, drug, ml in self.day_sites()))
                  if len(self.day) > 1 or self.day_elsewhere else ())
        return (tuple(doses), others, self.weight_kg, weighed, self.year_only, self.adult,
                weighed is not None and weighed > self.visit_date)

    def injects(self) -> bool:
        """Whether one of the visit's points names a drug or a mixture."""
        drugs = list(map(_drug_and_injectate, self.point_rows))
        return drugs.count((None, None)) < len(drugs)

    def cpt(self, rules: clinical.Rules) -> list[clinical.CptSuggestion]:
        """The day's codes: one per patient per day, over the day's muscles."""
        return clinical.cpt_suggestions(
            [(p.muscle, p.side, p.drug) for p in self.points]
            + [(muscle, side, drug) for _, muscle, side, drug, _ in self.day_sites()],
            sides_separately=rules.cpt_sides_count_separately, visits=self.day_visits)


# Where a point row (POINT_COLUMNS: the position, then points.FIELDS) holds what it injected,
# and its pain before.
_DRUG, _VOLUME, _INJECTATE, _PAIN_BEFORE = (
    1 + point_fields.NAMES.index(name)
    for name in ("drug", "volume_ml", "injectate", "pain_before"))
_drug_and_volume = itemgetter(_DRUG, _VOLUME)
_drug_and_injectate = itemgetter(_DRUG, _INJECTATE)
_injectate_of = itemgetter(_INJECTATE)


def _flag(value: object) -> bool | None:
    return None if value is None else value == "yes"  # read as yes/no (POINT_COLUMNS)


@dataclass(frozen=True)
class Selection:
    mrn: str | None = None
    all_patients: bool = False
    visit_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    # These patients (by id), for `tplog import` to compare a file's visits with theirs.
    patient_ids: frozenset[int] | None = None


def check_selection(selection: Selection) -> None:
    if selection.mrn is None and not selection.all_patients and selection.visit_id is None:
        raise BadInput("say what to export: an MRN, --all, or --visit ID")
    if selection.mrn is not None and selection.all_patients:
        raise BadInput("give an MRN or --all, not both")


def _conditions(dialect: str) -> ScalarSelect[Any]:
    """The revision's conditions joined by ';' (one value per visit), each as POSITION:KEY so
    that their order (the first is the primary diagnosis) survives the aggregate."""
    ordered = (cast(func.coalesce(VisitCondition.position, 0), String).concat(":")
               .concat(VisitCondition.condition))
    joined = (func.string_agg(ordered, ";") if dialect == "postgresql"
              else func.group_concat(ordered, ";"))
    return (select(joined).where(VisitCondition.revision_id == VisitRevision.id)
            .scalar_subquery())


# The position, then points.FIELDS in order. The yes/no findings are read as the CSV writes
# them, yes or no (NULL: not recorded), worked out by the database: SQLAlchemy's conversion to
# bool cost a fifth of a CSV export, and making text of it in Python per point nearly as much;
# ExportVisit.points makes them bools again. The side and soreness are read as their text (the
# StrEnum's value, equal to it and written the same): enums cost a second a million points.
POINT_COLUMNS = (InjectedPoint.position, *(
    case((column.is_(True), "yes"), (column.is_(False), "no")).label(f.name) if f.yes_no
    else type_coerce(column, String) if f.name in ("side", "soreness") else column
    for f in point_fields.FIELDS for column in (getattr(InjectedPoint, f.name),)))
# The export's order; the visits and their points are read in it, side by side.
VISIT_ORDER = (Patient.mrn, VisitRevision.visit_date, Visit.id)


def _selected(query: Select[Any], selection: Selection) -> Select[Any]:
    """Visits' latest revisions, voided ones left out, narrowed to the selection. A visit of
    a duplicate merged into another patient is exported as that patient's."""
    origin = WRITTEN_FOR
    query = (query.join(Visit, Visit.id == VisitRevision.visit_id)
             .join(origin, origin.id == Visit.patient_id)
             .join(Patient, Patient.id == func.coalesce(origin.merged_into, origin.id))
             .where(latest_revision(), not_voided()))
    if selection.mrn is not None:
        query = query.where(Patient.mrn == selection.mrn)
    if selection.visit_id is not None:
        query = query.where(Visit.id == selection.visit_id)
    if selection.patient_ids is not None:
        query = query.where(Patient.id.in_(sorted(selection.patient_ids)))
    if selection.since is not None:
        query = query.where(VisitRevision.visit_date >= selection.since)
    if selection.until is not None:
        query = query.where(VisitRevision.visit_date <= selection.until)
    return query


def _weights_of_patients(dialect: Dialect) -> Select[Any]:
    """Every weight of a batch of patients (the parameter `patients`: their ids) and of the
    duplicates merged into them (revision 0009), by patient, then by date and id: read per
    batch of visits, not searched four times per visit by subqueries (which were nearly half
    of the visits' query on SQLite)."""
    merged = MERGED_INTO
    chosen: Any = (bindparam("patients", None, type_=postgresql.ARRAY(Integer))
                   if dialect.name == "postgresql" else
                   select(column("value")).select_from(func.json_each(bindparam("patients"))))

    def among(owner: Any) -> Any:
        return owner == any_(chosen) if dialect.name == "postgresql" else owner.in_(chosen)

    own = (select(PatientWeight.patient_id.label("owner"), PatientWeight.measured_on,
                  PatientWeight.id, PatientWeight.weight_kg)
           .where(among(PatientWeight.patient_id)))
    duplicates = (select(merged.merged_into, PatientWeight.measured_on, PatientWeight.id,
                         PatientWeight.weight_kg)
                  .join(merged, merged.id == PatientWeight.patient_id)
                  .where(among(merged.merged_into)))
    both = own.union_all(duplicates)
    return both.order_by(*list(both.selected_columns)[:3])  # type: ignore[return-value]


class PatientWeights:
    """The weights of batches of visits' patients, by patient id, each patient's by date and
    as recorded (what clinical.weight_on chooses from)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgresql = connection.dialect.name == "postgresql"
        self._query = _weights_of_patients(connection.dialect)
        # A clinic that records no weight at all is not asked per batch.
        self._none = connection.scalar(select(PatientWeight.id).limit(1)) is None

    def of(self, patient_ids: list[int]) -> dict[int, list[clinical.Weight]]:
        if self._none:
            return {}
        ids = sorted(set(patient_ids))
        rows = self._connection.execute(self._query, {
            "patients": ids if self._postgresql else json.dumps(ids)})
        return {owner: [clinical.Weight(kg, measured_on) for _, measured_on, _, kg in weights]
                for owner, weights in groupby(rows, key=itemgetter(0))}


def _visits_query(session: Session, selection: Selection) -> Select[Any]:
    conditions = _conditions(session.get_bind().dialect.name)
    read: tuple[Any, ...] = (
        VisitRevision.id, Patient.mrn, Patient.name, Patient.date_of_birth, Patient.sex,
        Patient.id, Visit.id,
        VisitRevision.visit_date, VisitRevision.practitioner, VisitRevision.note, conditions,
        VisitRevision.number, VisitRevision.created_at, _amended_by(), VisitRevision.reason,
        VisitRevision.peg_pain, VisitRevision.peg_enjoyment, VisitRevision.peg_activity,
        Practitioner.credentials, Practitioner.npi, VisitRevision.pregnant, *PROCEDURE_COLUMNS)
    columns = select(*read)
    # The practitioner's record by the name the revision holds (revision 0013): the name is
    # unique, so the outer join keeps one row per visit.
    return (_selected(columns.select_from(VisitRevision), selection)
            .outerjoin(Practitioner, Practitioner.name == VisitRevision.practitioner)
            .order_by(*VISIT_ORDER))


def _amended_by() -> ColumnElement[Any]:
    """Who amended the visit: the practitioner of the audit event that wrote its latest
    revision (indexed by record), else the OS user the revision names. None for a visit as
    logged (revision 1, most visits), whose audit trail is not searched: nothing is shown."""
    signed = (select(AuditEvent.practitioner)
              .where(AuditEvent.record_table == "visit_revision",
                     AuditEvent.record_id == VisitRevision.id,
                     AuditEvent.action == "visit.amend")
              .limit(1).scalar_subquery())
    return case((VisitRevision.number == 1, None),
                else_=func.coalesce(signed, VisitRevision.created_by))


def _beside(*columns: Any) -> Select[Any]:
    """The visit's id, then the columns: rows read beside the visits (_Beside)."""
    return select(Visit.id, *columns)


def _follow_ups_query(selection: Selection) -> Select[Any]:
    return _selected(_beside(FollowUp.reported_on, FollowUp.pain, FollowUp.note,
                             FollowUp.practitioner, FollowUp.peg_pain, FollowUp.peg_enjoyment,
                             FollowUp.peg_activity, FollowUp.pgic).select_from(FollowUp)
                     .join(VisitRevision, VisitRevision.visit_id == FollowUp.visit_id),
                     selection).order_by(*VISIT_ORDER, FollowUp.reported_on, FollowUp.id)


def _addenda_query(selection: Selection) -> Select[Any]:
    return _selected(_beside(VisitAddendum.id, VisitAddendum.text, VisitAddendum.created_at,
                             VisitAddendum.created_by, VisitAddendum.practitioner)
                     .select_from(VisitAddendum)
                     .join(VisitRevision, VisitRevision.visit_id == VisitAddendum.visit_id),
                     selection).order_by(*VISIT_ORDER, VisitAddendum.id)


def _warnings_query(selection: Selection) -> Select[Any]:
    return _selected(_beside(VisitWarning.kind, VisitWarning.message,
                             VisitWarning.confirmation).select_from(VisitWarning)
                     .join(VisitRevision, VisitRevision.id == VisitWarning.revision_id),
                     selection).order_by(*VISIT_ORDER, VisitWarning.id)


def _adverse_events_query(selection: Selection) -> Select[Any]:
    """The adverse events of the selected visits (revision 0012), by date."""
    return _selected(_beside(AdverseEvent.id, AdverseEvent.kind, AdverseEvent.severity,
                             AdverseEvent.occurred_on, AdverseEvent.outcome, AdverseEvent.note,
                             AdverseEvent.practitioner).select_from(AdverseEvent)
                     .join(VisitRevision, VisitRevision.visit_id == AdverseEvent.visit_id),
                     selection).order_by(*VISIT_ORDER, AdverseEvent.occurred_on,
                                         AdverseEvent.id)


PROCEDURE_COLUMNS = tuple(getattr(VisitRevision, name) for name in procedure_fields.NAMES)


def _motion_query(selection: Selection) -> Select[Any]:
    """The ranges of motion of the selected visits, in the export's order."""
    return _selected(_beside(RangeOfMotion.movement, RangeOfMotion.side,
                             RangeOfMotion.value_before, RangeOfMotion.value_after,
                             RangeOfMotion.position).select_from(RangeOfMotion)
                     .join(VisitRevision, VisitRevision.id == RangeOfMotion.revision_id),
                     selection).order_by(*VISIT_ORDER, RangeOfMotion.position)


def _lots_query(selection: Selection) -> Select[Any]:
    """The lots of the selected visits (revision 0011), in the export's order, each visit's
    in the order written."""
    return _selected(_beside(InjectateLot.drug, InjectateLot.lot, InjectateLot.expiry)
                     .select_from(InjectateLot)
                     .join(VisitRevision, VisitRevision.id == InjectateLot.revision_id),
                     selection).order_by(*VISIT_ORDER, InjectateLot.id)


def ordered_conditions(joined: str | None) -> tuple[str, ...]:
    """POSITION:KEY;... back to the keys in order (older visits, position 0: by name)."""
    if not joined:
        return ()
    parts = [part.split(":", 1) for part in joined.split(";")]
    return tuple(key for _, key in sorted(parts, key=lambda part: (int(part[0]), part[1])))


def _points_of_revisions(dialect: Dialect) -> SQLCompiler:
    """The points of a batch of revisions (the parameter `revisions`: their ids), by revision
    and position, compiled for the driver itself: SQLite takes the ids as a JSON array,
    PostgreSQL as an array."""
    if dialect.name == "postgresql":
        chosen = InjectedPoint.revision_id == any_(
            bindparam("revisions", None, type_=postgresql.ARRAY(Integer)))
    else:
        chosen = InjectedPoint.revision_id.in_(
            select(column("value")).select_from(func.json_each(bindparam("revisions", None))))
    query = (select(InjectedPoint.revision_id, *POINT_COLUMNS).where(chosen)
             .order_by(InjectedPoint.revision_id, InjectedPoint.position))
    return cast_type(SQLCompiler, query.compile(dialect=dialect))


def _points_query(selection: Selection) -> Select[Any]:
    return _selected(select(Visit.id, *POINT_COLUMNS).select_from(InjectedPoint)
                     .join(VisitRevision, VisitRevision.id == InjectedPoint.revision_id),
                     selection).order_by(*VISIT_ORDER, InjectedPoint.position)


def count_points(session: Session, selection: Selection) -> int:
    """How many points the export will write (for the progress bar), before streaming."""
    subquery = _points_query(selection).order_by(None).subquery()
    without_jit(session.connection())
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def check_exists(session: Session, selection: Selection) -> None:
    if selection.mrn is not None:
        patient = session.scalar(select(Patient).where(Patient.mrn == selection.mrn))
        if patient is None:
            raise NotFound(f"no patient with MRN {selection.mrn!r} (see `tplog patient list`)")
        if patient.merged_into is not None:
            raise Merged(patient, session.get_one(Patient, patient.merged_into))
    if selection.visit_id is not None and session.get(Visit, selection.visit_id) is None:
        raise NotFound(f"no visit with id {selection.visit_id}")


def _age(born: dt.date | None, on: dt.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def stream(session: Session, selection: Selection) -> Iterator[ExportVisit]:
    """The selected visits in export order, each knowing its patient's day (visits come
    ordered by patient and date, so one day's visits are neighbours)."""
    for _, same_day in groupby(_stream(session, selection),
                               key=lambda v: (v.mrn, v.visit_date)):
        day = list(same_day)
        for visit in day:
            visit.day.extend(day)
            if selection.visit_id is not None:  # the rest of its day is not in the export
                patient_id = session.scalar(
                    select(func.coalesce(Patient.merged_into, Patient.id))
                    .join(Visit, Visit.patient_id == Patient.id)
                    .where(Visit.id == visit.visit_id))
                visit = replace(visit, day_elsewhere=tuple(day_sites(
                    session, int(patient_id or 0), [visit.visit_date],
                    excluding=visit.visit_id).get(visit.visit_date, [])))
            yield visit


def _stream(session: Session, selection: Selection) -> Iterator[ExportVisit]:
    """The visits in export order (one row each: patient, visit, conditions), read in
    batches, and each batch's points read by their revisions' ids through the driver itself
    (tuples, not SQLAlchemy rows: a million of them cost seconds). Looking the points up by
    revision spares the database sorting a million rows into the visits' order and joining
    each to its visit again; fetchmany batches (a server-side cursor on PostgreSQL) keep
    memory flat."""
    connection = session.connection()
    without_jit(connection)
    visits = connection.execute(_visits_query(session, selection),
                                execution_options={"yield_per": VISIT_BATCH})
    points = _Points(connection)
    weights = PatientWeights(connection)
    # The rest of the record, read side by side the same way (a visit has few of each). A
    # table with no row at all is not joined to every visit to find none (a clinic that
    # records no ranges of motion, say).
    follow_ups, addenda, warnings, motions, lots, events = (
        _Beside(connection.execute(query(selection), execution_options={"yield_per": 2000})
                if connection.scalar(select(table.id).limit(1)) is not None else None)
        for query, table in ((_follow_ups_query, FollowUp), (_addenda_query, VisitAddendum),
                             (_warnings_query, VisitWarning), (_motion_query, RangeOfMotion),
                             (_lots_query, InjectateLot), (_adverse_events_query, AdverseEvent)))
    conditions: dict[str | None, tuple[str, ...]] = {}  # a clinic's lists are few
    number = 0
    for batch in visits.partitions():
        points_of = points.of([row[0] for row in batch])
        weights_of = weights.of([row[5] for row in batch])
        for row in batch:
            number += 1
            (revision_id, mrn, name, born, sex, patient_id, visit_id, visit_date,
             practitioner, note, keys, revision, revised_at, revised_by, reason, peg_pain,
             peg_enjoyment, peg_activity, credentials, npi, pregnant, *procedure) = row
            point_rows = points_of.get(revision_id, ())
            # The weight the dose check uses (and `visit show` with it).
            weighed = clinical.weight_on(weights_of.get(patient_id, ()), visit_date)
            age = _age(born, visit_date)
            record = _record(point_rows, visit_date, follow_ups.of(visit_id),
                             addenda.of(visit_id), warnings.of(visit_id),
                             None if revision == 1 else Amendment(
                                 revision, as_utc(revised_at), revised_by, reason))
            if keys not in conditions:
                if len(conditions) > 10_000:
                    conditions.clear()
                conditions[keys] = ordered_conditions(keys)
            motion, lot_rows, event_rows = (
                motions.of(visit_id), lots.of(visit_id), events.of(visit_id))
            yield ExportVisit(
                number=number, visit_id=visit_id, mrn=mrn, patient_name=name, date_of_birth=born,
                sex=sex, weight_kg=None if weighed is None else weighed.kg,
                visit_date=visit_date, practitioner=practitioner,
                conditions=conditions[keys], note=note,
                age_at_visit=None if age is None else str(age), point_rows=point_rows,
                weight_measured_on=None if weighed is None else weighed.measured_on,
                adult=None if age is None else age >= clinical.ADULT_AGE,
                peg=_peg(peg_pain, peg_enjoyment, peg_activity),
                pregnant=getattr(pregnant, "value", pregnant),
                practitioner_credentials=credentials, practitioner_npi=npi,
                procedure=procedure_fields.NOT_RECORDED
                if procedure.count(None) == len(procedure)  # most visits: none documented
                else Procedure(**dict(zip(procedure_fields.NAMES, (
                    getattr(value, "value", value) for value in procedure), strict=True))),
                range_of_motion=tuple(procedure_fields.Measurement(
                    movement, getattr(side, "value", side), before, after, position=position)
                    for movement, side, before, after, position in motion) if motion else (),
                lots=tuple(Lot(drug, lot, expiry) for drug, lot, expiry in lot_rows)
                if lot_rows else (),
                adverse_events=tuple(AdverseEventView(
                    id=event_id, kind=kind, severity=getattr(severity, "value", severity),
                    occurred_on=occurred_on, outcome=getattr(outcome, "value", outcome),
                    note=event_note, practitioner=recorded_by)
                    for event_id, kind, severity, occurred_on, outcome, event_note, recorded_by
                    in event_rows) if event_rows else (),
                **record)


def _peg(pain: int | None, enjoyment: int | None,
         activity: int | None) -> tuple[int, int, int] | None:
    """PEG's three items, or None where it was not asked (the three are set together)."""
    if pain is None or enjoyment is None or activity is None:
        return None
    return (pain, enjoyment, activity)


# Visits read at a time, and their points with them (about five each).
VISIT_BATCH = 1000


def without_jit(connection: Connection) -> None:
    """PostgreSQL compiles a query it expects to be costly (JIT): for the export's, a second
    or more spent compiling each, more than running it. Off for this transaction only."""
    dialect = connection.dialect
    if dialect.name == "postgresql" and (dialect.server_version_info or ()) >= (11,):
        connection.exec_driver_sql("SET LOCAL jit = off")  # PostgreSQL 11 brought JIT


class _Points:
    """The points of batches of revisions, by revision id, each point as a tuple in
    POINT_COLUMNS order (the DBAPI's own rows: what SQLAlchemy would give for these columns,
    which need no conversion)."""

    def __init__(self, connection: Connection) -> None:
        compiled = _points_of_revisions(connection.dialect)
        self._sql = compiled.string
        self._parameters = dict(compiled.construct_params())  # the yes/no texts, then the ids
        self._order = compiled.positiontup  # None: named parameters (PostgreSQL)
        self._postgresql = connection.dialect.name == "postgresql"
        self._cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def of(self, revision_ids: list[int]) -> dict[int, tuple[tuple[object, ...], ...]]:
        parameters = self._parameters
        parameters["revisions"] = (revision_ids if self._postgresql
                                   else json.dumps(revision_ids))
        self._cursor.execute(self._sql, parameters if self._order is None
                             else [parameters[name] for name in self._order])
        return {revision_id: tuple(map(_without_revision_id, rows))
                for revision_id, rows in groupby(self._cursor.fetchall(), key=_revision_id)}


_revision_id = itemgetter(0)
_without_revision_id = itemgetter(slice(1, None))


class _Beside:
    """Rows of one of the record's tables (visit id first, in the export's order), handed
    out visit by visit as the visits stream past."""

    def __init__(self, result: Any) -> None:
        """`result`: the rows, or None where the table has none."""
        self._groups = groupby(chain.from_iterable(() if result is None else
                                                   result.partitions()), key=itemgetter(0))
        self._pending = next(self._groups, None)

    def of(self, visit_id: int) -> list[Sequence[Any]]:
        if self._pending is None or self._pending[0] != visit_id:
            return []
        found = [row[1:] for row in self._pending[1]]
        self._pending = next(self._groups, None)
        return found


def _record(point_rows: tuple[Sequence[object], ...], visit_date: dt.date,
            follow_ups: list[Sequence[Any]], addenda: list[Sequence[Any]],
            warnings: list[Sequence[Any]], amendment: Amendment | None) -> dict[str, Any]:
    """The rest of a visit's record as ExportVisit's fields."""
    if not (follow_ups or addenda or warnings):  # most visits: nothing to work out
        return {"follow_ups": (), "relief_days": None, "addenda": (), "warnings": (),
                "amendment": amendment}
    # Relief against the mean pain before of the visit's points (as `tplog visit show`).
    befores = ([int(row[_PAIN_BEFORE]) for row in point_rows]  # type: ignore[call-overload]
               if follow_ups else [])  # needed only against follow-ups
    mean_before = Fraction(sum(befores), len(befores)) if befores else Fraction(0)
    reports = [(reported_on, pain) for reported_on, pain, *_ in follow_ups]
    return {
        "follow_ups": tuple(ExportFollowUp(
            reported_on=reported_on, pain=pain, days_after=(reported_on - visit_date).days,
            percent_relief=clinical.relief_at(mean_before, pain) if befores else None,
            note=note, practitioner=practitioner, peg=_peg(peg_pain, peg_enjoyment, peg_activity),
            pgic=pgic)
            for (reported_on, pain, note, practitioner, peg_pain, peg_enjoyment, peg_activity,
                 pgic) in follow_ups),
        "relief_days": (clinical.relief_lasted(mean_before, visit_date, reports)
                        if befores else None),
        "addenda": tuple(AddendumView(id=addendum_id, text=text, created_at=as_utc(written_at),
                                      created_by=user, practitioner=practitioner)
                         for addendum_id, text, written_at, user, practitioner in addenda),
        "warnings": tuple(WarningView(kind=kind, message=message, confirmation=confirmation)
                          for kind, message, confirmation in warnings),
        "amendment": amendment,
    }
