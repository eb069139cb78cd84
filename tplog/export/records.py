"""The visits an export covers, streamed in a stable order with flat memory, and the HIPAA
Safe Harbor transformation applied on the way out when asked for.

One query joins each visit's latest revision to its points (voided visits are left out), is
read in batches (yield_per: a server-side cursor on PostgreSQL), and consecutive rows are
grouped into visits, so a million points never sit in memory at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import chain, groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tplog.errors import BadInput, NotFound
from tplog.models import InjectedPoint, Patient, Visit, VisitCondition, VisitRevision
from tplog.services.views import PointView
from tplog.services.visits import latest_revision, not_voided


@dataclass(frozen=True)
class ExportVisit:
    """One visit as exported: its patient's columns, its own, and its points."""

    number: int  # 1, 2, ... in the order of this export (not the database id)
    visit_id: int
    mrn: str
    patient_name: str | None
    date_of_birth: dt.date | None
    sex: str | None
    weight_kg: float | None
    visit_date: dt.date
    practitioner: str | None
    conditions: tuple[str, ...]
    note: str | None
    points: tuple[PointView, ...]
    age_at_visit: str | None = None  # whole years; "90+" when de-identified and over 89
    birth_year_only: bool = False  # de-identified with --year-only

    @property
    def mean_percent_reduction(self) -> float | None:
        defined = [p.percent_reduction for p in self.points if p.percent_reduction is not None]
        return sum(defined) / len(defined) if defined else None


@dataclass(frozen=True)
class Selection:
    mrn: str | None = None
    all_patients: bool = False
    visit_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def check_selection(selection: Selection) -> None:
    if selection.mrn is None and not selection.all_patients and selection.visit_id is None:
        raise BadInput("say what to export: an MRN, --all, or --visit ID")
    if selection.mrn is not None and selection.all_patients:
        raise BadInput("give an MRN or --all, not both")


def _conditions(dialect: str):  # type: ignore[no-untyped-def]
    joined = (func.string_agg(VisitCondition.condition, ";") if dialect == "postgresql"
              else func.group_concat(VisitCondition.condition, ";"))
    return (select(VisitCondition.revision_id, joined.label("condition_keys"))
            .group_by(VisitCondition.revision_id).subquery())


def _query(session: Session, selection: Selection):  # type: ignore[no-untyped-def]
    conditions = _conditions(session.get_bind().dialect.name)
    point = InjectedPoint
    query = (select(Patient.mrn, Patient.name, Patient.date_of_birth, Patient.sex,
                    Patient.weight_kg, Visit.id, VisitRevision.visit_date,
                    VisitRevision.practitioner, VisitRevision.note, conditions.c.condition_keys,
                    point.position, point.muscle, point.side, point.pain_before,
                    point.pain_after, point.twitch_response, point.soreness, point.numbness,
                    point.drug, point.volume_ml)
             .select_from(point)
             .join(VisitRevision, VisitRevision.id == point.revision_id)
             .join(Visit, Visit.id == VisitRevision.visit_id)
             .join(Patient, Patient.id == Visit.patient_id)
             .outerjoin(conditions, conditions.c.revision_id == VisitRevision.id)
             .where(latest_revision(), not_voided()))
    if selection.mrn is not None:
        query = query.where(Patient.mrn == selection.mrn)
    if selection.visit_id is not None:
        query = query.where(Visit.id == selection.visit_id)
    if selection.since is not None:
        query = query.where(VisitRevision.visit_date >= selection.since)
    if selection.until is not None:
        query = query.where(VisitRevision.visit_date <= selection.until)
    return query.order_by(Patient.mrn, VisitRevision.visit_date, Visit.id, point.position)


def count_points(session: Session, selection: Selection) -> int:
    """How many points the export will write (for the progress bar), before streaming."""
    subquery = _query(session, selection).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def check_exists(session: Session, selection: Selection) -> None:
    if selection.mrn is not None and session.scalar(
            select(Patient.id).where(Patient.mrn == selection.mrn)) is None:
        raise NotFound(f"no patient with MRN {selection.mrn!r} (see `tplog patient list`)")
    if selection.visit_id is not None and session.get(Visit, selection.visit_id) is None:
        raise NotFound(f"no visit with id {selection.visit_id}")


def _age(born: dt.date | None, on: dt.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def stream(session: Session, selection: Selection) -> Iterator[ExportVisit]:
    # Core rows, not ORM ones: the ORM's row processing would double the cost per point.
    result = session.connection().execute(_query(session, selection),
                                          execution_options={"yield_per": 5000})
    rows = chain.from_iterable(result.partitions())  # fetchmany batches, not row by row
    for number, (_, visit_rows) in enumerate(groupby(rows, key=lambda row: row[5]), start=1):
        points = list(visit_rows)
        first = points[0]
        age = _age(first.date_of_birth, first.visit_date)
        yield ExportVisit(
            number=number, visit_id=first.id, mrn=first.mrn, patient_name=first.name,
            date_of_birth=first.date_of_birth, sex=first.sex, weight_kg=first.weight_kg,
            visit_date=first.visit_date, practitioner=first.practitioner,
            conditions=tuple(sorted((first.condition_keys or "").split(";") if first.condition_keys
                                    else ())),
            note=first.note, age_at_visit=None if age is None else str(age),
            points=tuple(PointView(position=r.position, muscle=r.muscle, side=r.side,
                                   pain_before=r.pain_before, pain_after=r.pain_after,
                                   twitch_response=r.twitch_response, soreness=r.soreness,
                                   numbness=r.numbness, drug=r.drug, volume_ml=r.volume_ml)
                         for r in points))


# --- HIPAA Safe Harbor ----------------------------------------------------------------------

# Safe Harbor (45 CFR 164.514(b)(2)): ages over 89 are aggregated into one category.
OLDEST_AGE_SHOWN = 89


class Deidentifier:
    """Per export: a random research id and a random date shift for each patient, kept for
    the whole export so that one patient's visits stay in order and their spacing holds."""

    def __init__(self, *, year_only: bool) -> None:
        self.year_only = year_only
        self._ids: dict[str, str] = {}
        self._shifts: dict[str, dt.timedelta] = {}

    def _research_id(self, mrn: str) -> str:
        if mrn not in self._ids:
            taken = set(self._ids.values())
            while (candidate := f"R{secrets.token_hex(4).upper()}") in taken:
                pass
            self._ids[mrn] = candidate
        return self._ids[mrn]

    def _date(self, mrn: str, value: dt.date) -> dt.date:
        if self.year_only:
            return dt.date(value.year, 1, 1)
        if mrn not in self._shifts:
            # Back by 1-365 days: never the true date, never into the future.
            self._shifts[mrn] = dt.timedelta(days=-(1 + secrets.randbelow(365)))
        return value + self._shifts[mrn]

    def visit(self, visit: ExportVisit) -> ExportVisit:
        age = _age(visit.date_of_birth, visit.visit_date)
        return replace(
            visit, mrn=self._research_id(visit.mrn), patient_name=None, date_of_birth=None,
            visit_date=self._date(visit.mrn, visit.visit_date), practitioner=None, note=None,
            age_at_visit=None if age is None else ("90+" if age > OLDEST_AGE_SHOWN
                                                   else str(age)),
            birth_year_only=self.year_only)
