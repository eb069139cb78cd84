"""Patients: add, find, list; merge a duplicate into the right patient."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from tplog.errors import BadInput, Conflict, NotConfirmed, NotFound, shown
from tplog.models import Patient, PatientMerge, PatientWeight, Visit, VisitRevision
from tplog.parse import clean_text
from tplog.services.audit import Actor, record
from tplog.services.queries import (
    MERGED_INTO,
    WRITTEN_FOR,
    latest_revision,
    not_voided,
    owned_by,
)
from tplog.services.views import PatientView

MAX_NAME = 200
MRN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
_ASSIGNED_MRN = re.compile(r"P(\d+)")


def check_mrn(mrn: str) -> str:
    if not MRN_PATTERN.fullmatch(mrn):
        raise BadInput(f"MRN {shown(mrn)} is not allowed; use 1-40 letters, digits, '.', '_', '/' "
                       "or '-', starting with a letter or digit")
    return mrn


def next_mrn(session: Session) -> str:
    """P0001, P0002, ...: one more than the highest MRN tplog assigned so far."""
    assigned = session.scalars(select(Patient.mrn).where(Patient.mrn.like("P%")))
    numbers = [int(m.group(1)) for mrn in assigned if (m := _ASSIGNED_MRN.fullmatch(mrn))]
    return f"P{max(numbers, default=0) + 1:04d}"


def _check_name(name: str) -> str:
    name = clean_text(name, "name", one_line=True)
    if not name or len(name) > MAX_NAME:
        raise BadInput(f"name {shown(name)} is not allowed; give 1-{MAX_NAME} characters")
    return name


def _check_birth(date_of_birth: dt.date | None) -> dt.date | None:
    if date_of_birth is not None and date_of_birth > dt.date.today():
        raise BadInput(f"date of birth {date_of_birth} is in the future")
    return date_of_birth


def check_new_patient(name: str, date_of_birth: dt.date | None) -> None:
    """What `add_patient` checks of a new patient's own details (for bulk imports)."""
    _check_name(name)
    _check_birth(date_of_birth)


def _same_name(name: str) -> str:
    """A name as compared for a duplicate: NFC, case folded, runs of spaces as one."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def already_added(session: Session, name: str, date_of_birth: dt.date | None) -> list[Patient]:
    """Patients (not merged away) with this name and date of birth: most likely the same
    person. Without a date of birth nothing is compared: two people may share a name, and a
    date not recorded is no match."""
    if date_of_birth is None:
        return []
    wanted = _same_name(_check_name(name))
    same_day = session.scalars(select(Patient).where(Patient.date_of_birth == date_of_birth,
                                                     Patient.merged_into.is_(None))
                               .order_by(Patient.mrn))
    return [p for p in same_day if _same_name(p.name) == wanted]


def duplicate_question(name: str, date_of_birth: dt.date | None,
                       existing: list[Patient]) -> str:
    mrns = " and ".join(p.mrn for p in existing)
    return f"{name}, born {date_of_birth}, is already {mrns}."


def add_patient(session: Session, *, name: str, mrn: str | None, date_of_birth: dt.date | None,
                sex: str | None, weight_kg: float | None, actor: Actor,
                duplicate_confirmed: bool = False) -> Patient:
    """A new patient; one with the name and date of birth of a patient already there is
    refused (NotConfirmed) unless the duplicate was confirmed."""
    name = _check_name(name)
    _check_birth(date_of_birth)
    existing = already_added(session, name, date_of_birth)
    if existing and not duplicate_confirmed:
        raise NotConfirmed(f"{duplicate_question(name, date_of_birth, existing)} Nothing was "
                           "saved; give --yes to add another patient anyway")
    if mrn is None:
        mrn = next_mrn(session)
    else:
        check_mrn(mrn)
        if session.scalar(select(Patient.id).where(Patient.mrn == mrn)) is not None:
            raise Conflict(f"MRN {mrn} is already taken; nothing was saved")
    # The weight is a dated measurement (patient_weight), not a column of the patient: the
    # dose check needs the weight of the visit's day.
    patient = Patient(mrn=mrn, name=name, date_of_birth=date_of_birth, sex=sex,
                      created_at=dt.datetime.now(dt.UTC), created_by=actor.os_user)
    session.add(patient)
    session.flush()
    record(session, actor, "patient.add", f"patient {patient.mrn}", patient_id=patient.id,
           written=("patient", patient.id))
    if weight_kg is not None:
        record_weight(session, patient, weight_kg=weight_kg, measured_on=dt.date.today(),
                      actor=actor)
    return patient


def record_weight(session: Session, patient: Patient, *, weight_kg: float,
                  measured_on: dt.date, actor: Actor) -> PatientWeight:
    """A dated weight, audited; the dose check uses the latest on or before a visit."""
    if measured_on > dt.date.today():
        raise BadInput(f"date {measured_on} is in the future; record a weight once measured")
    if patient.date_of_birth is not None and measured_on < patient.date_of_birth:
        raise BadInput(f"date {measured_on} is before {patient.mrn} was born "
                       f"({patient.date_of_birth})")
    weight = PatientWeight(patient_id=patient.id, measured_on=measured_on, weight_kg=weight_kg,
                           created_at=dt.datetime.now(dt.UTC), created_by=actor.os_user)
    session.add(weight)
    session.flush()
    record(session, actor, "patient.weight",
           f"patient {patient.mrn}: {weight_kg:g} kg on {measured_on}", patient_id=patient.id,
           written=("patient_weight", weight.id))
    return weight


# Demographics a clinician may correct; each edit is one audit event naming what changed.
# (A new weight is a dated measurement: record_weight.)
EDITABLE = ("name", "date_of_birth", "sex")


def edit_patient(session: Session, mrn: str, *, changes: dict[str, object],
                 actor: Actor) -> tuple[Patient, list[str]]:
    """Change the demographics given; returns the patient and the fields that changed."""
    patient = find_patient(session, mrn)
    if "name" in changes:
        changes["name"] = _check_name(str(changes["name"]))
    if "date_of_birth" in changes:
        _check_birth(changes["date_of_birth"])  # type: ignore[arg-type]
    changed = [field for field in EDITABLE
               if field in changes and getattr(patient, field) != changes[field]]
    weight = changes.get("weight_kg")
    if weight is not None and weight != _latest_weight(patient):
        changed.append("weight_kg")
    if not changed:
        raise BadInput("the edit changes nothing; give --name, --dob, --sex or --weight-kg "
                       "with a new value")
    demographics = [field for field in changed if field != "weight_kg"]
    for field in demographics:
        setattr(patient, field, changes[field])
    if demographics:
        session.flush()
        record(session, actor, "patient.edit",
               f"patient {patient.mrn}: {', '.join(demographics)}",
               patient_id=patient.id, written=("patient", patient.id))
    if "weight_kg" in changed:
        record_weight(session, patient, weight_kg=float(weight),  # type: ignore[arg-type]
                      measured_on=dt.date.today(), actor=actor)
    return patient, changed


def _latest_weight(patient: Patient) -> float | None:
    return patient.weights[-1].weight_kg if patient.weights else None


class Merged(NotFound):
    """An MRN of a duplicate merged into another patient: its records are that patient's."""

    def __init__(self, patient: Patient, into: Patient) -> None:
        super().__init__(f"patient {patient.mrn} was merged into {into.mrn} ({into.name}); "
                         f"its visits are {into.mrn}'s now: use {into.mrn}")
        self.into = into


class Ambiguous(NotFound):
    """A name that matches several patients; the CLI may ask which one was meant."""

    def __init__(self, text: str, candidates: list[tuple[str, str]]) -> None:
        listed = ", ".join(f"{name} ({mrn})" for mrn, name in candidates)
        super().__init__(f"{shown(text)} matches {len(candidates)} patients: {listed}; "
                         "give the MRN")
        self.candidates = candidates


def _not_merged(patient: Patient, session: Session, merged: bool) -> Patient:
    if patient.merged_into is None or merged:
        return patient
    raise Merged(patient, session.get_one(Patient, patient.merged_into))


def by_mrn(session: Session, text: str) -> Patient | None:
    """The patient with this MRN, as typed in any case (p0001), merged or not."""
    if len(text) > MAX_NAME:
        return None
    patient = session.scalar(select(Patient).where(Patient.mrn == text))
    if patient is not None:
        return patient
    # The exact one first, so the index serves the usual lookup; two MRNs that differ only
    # in case are both offered.
    same = session.scalars(select(Patient).where(func.lower(Patient.mrn) == text.lower())
                           .limit(MAX_CANDIDATES)).all()
    if len(same) > 1:
        raise Ambiguous(text, [(p.mrn, p.name) for p in same])
    return same[0] if same else None


def find_patient(session: Session, text: str, *, merged: bool = False) -> Patient:
    """By MRN, else by a name (or part of one) that matches exactly one patient. A duplicate
    merged into another is found by its MRN only, and then refused naming the other (Merged)
    unless `merged` asks for it as it is."""
    if len(text) > MAX_NAME:  # longer than any name or MRN: no search (SQLite's LIKE balks)
        raise NotFound(f"no patient with MRN or name {shown(text)} (see `tplog patient list`)")
    patient = by_mrn(session, text)
    if patient is not None:
        return _not_merged(patient, session, merged)
    wanted = unicodedata.normalize("NFC", text).strip().lower()
    if wanted:
        for condition in (func.lower(Patient.name) == wanted,
                          func.lower(Patient.name).like(f"%{_escape_like(wanted)}%",
                                                        escape="\\")):
            found = session.scalars(select(Patient)
                                    .where(condition, Patient.merged_into.is_(None))
                                    .order_by(Patient.mrn).limit(MAX_CANDIDATES + 1)).all()
            if len(found) == 1:
                return found[0]
            if found:
                raise Ambiguous(text, [(p.mrn, p.name) for p in found[:MAX_CANDIDATES]])
    near = [f"{p.name} ({p.mrn})" for p in find_patients(session, text)[:3]]
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise NotFound(f"no patient with MRN {shown(text)}{hint} (see `tplog patient list`)")


MAX_CANDIDATES = 10


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_patients(session: Session, text: str) -> list[PatientView]:
    """Fuzzy search by name or MRN, best match first: parts of names, then near spellings."""
    import difflib

    wanted = unicodedata.normalize("NFC", text).strip().lower()
    if not wanted or len(wanted) > MAX_NAME:
        return []
    scored: list[tuple[float, str]] = []
    for mrn, name in session.execute(select(Patient.mrn, Patient.name)
                                     .where(Patient.merged_into.is_(None))):
        lowered = name.lower()
        words = lowered.split()
        score = max(difflib.SequenceMatcher(None, wanted, candidate).ratio()
                    for candidate in (lowered, mrn.lower(), *words))
        if wanted in lowered or wanted in mrn.lower():
            score += 1  # a true part of the name or MRN beats any near spelling
        if score >= 0.6:
            scored.append((score, mrn))
    scored.sort(key=lambda item: (-item[0], item[1]))
    order = {mrn: rank for rank, (_, mrn) in enumerate(scored[:MAX_CANDIDATES])}
    views = _views(session, Patient.mrn.in_(order))
    return sorted(views, key=lambda v: order[v.mrn])


def _views(session: Session, where: ColumnElement[bool]) -> list[PatientView]:
    # Voided visits are out of the counts; a visit's date is its latest revision's. A visit
    # of a duplicate counts for the patient it was merged into (a merged one has none).
    # Counted for the patients asked about only: one patient's figures must not cost a scan
    # of every visit in the clinic.
    origin = WRITTEN_FOR
    owner = func.coalesce(origin.merged_into, origin.id)
    visits = (select(owner.label("patient_id"), func.count(Visit.id).label("visit_count"),
                     func.max(VisitRevision.visit_date).label("last_visit_date"))
              .select_from(Visit).join(origin, origin.id == Visit.patient_id)
              .join(VisitRevision, VisitRevision.visit_id == Visit.id)
              .where(latest_revision(), not_voided(),
                     owner.in_(select(Patient.id).where(where)))
              .group_by(owner).subquery())
    # The latest weight measured (by date, then by when it was written).
    latest_weight = (select(PatientWeight.weight_kg)
                     .where(owned_by(PatientWeight.patient_id, Patient.id))
                     .order_by(PatientWeight.measured_on.desc(), PatientWeight.id.desc())
                     .limit(1).correlate(Patient).scalar_subquery())
    into = MERGED_INTO
    query = (select(Patient, visits.c.visit_count, visits.c.last_visit_date, latest_weight,
                    into.mrn)
             .outerjoin(visits, visits.c.patient_id == Patient.id)
             .outerjoin(into, into.id == Patient.merged_into)
             .where(where).order_by(Patient.mrn))
    return [PatientView(mrn=p.mrn, name=p.name, date_of_birth=p.date_of_birth, sex=p.sex,
                        weight_kg=kg, visit_count=count or 0, last_visit_date=last,
                        merged_into=into_mrn)
            for p, count, last, kg, into_mrn in session.execute(query)]


def list_patients(session: Session, search: str | None = None, *,
                  include_merged: bool = False) -> list[PatientView]:
    """Patients, with duplicates merged into another only when asked."""
    current = true() if include_merged else Patient.merged_into.is_(None)
    if not search:
        return _views(session, current)
    pattern = f"%{_escape_like(search.lower())}%"
    return _views(session, and_(current, or_(
        func.lower(Patient.name).like(pattern, escape="\\"),
        func.lower(Patient.mrn).like(pattern, escape="\\"))))


def show_patient(session: Session, mrn: str) -> PatientView:
    patient = find_patient(session, mrn)
    return _views(session, Patient.id == patient.id)[0]


# --- merging a duplicate ----------------------------------------------------------------------

@dataclass(frozen=True)
class MergePlan:
    """What a merge would do, for the practitioner to confirm: both patients as they are."""

    source: PatientView  # the duplicate
    target: PatientView  # the patient it becomes part of
    reason: str


def plan_merge(session: Session, from_mrn: str, into_mrn: str, *, reason: str) -> MergePlan:
    """Check a merge (refusing one that cannot be done) and say what it would do."""
    source, target, reason = _merge_pair(session, from_mrn, into_mrn, reason)
    return MergePlan(_views(session, Patient.id == source.id)[0],
                     _views(session, Patient.id == target.id)[0], reason)


def _merge_pair(session: Session, from_mrn: str, into_mrn: str,
                reason: str) -> tuple[Patient, Patient, str]:
    from tplog.services.visits import MAX_TEXT

    reason = clean_text(reason, "reason")
    if not reason:
        raise BadInput("--reason is empty; say why in a few words (the same patient added "
                       "twice, say)")
    if len(reason) > MAX_TEXT:
        raise BadInput(f"--reason has {len(reason)} characters; at most {MAX_TEXT} are allowed")
    found = []
    for text in (from_mrn, into_mrn):
        patient = by_mrn(session, text)
        if patient is None:
            raise NotFound(f"no patient with MRN {shown(text)} (a merge takes MRNs; see "
                           "`tplog patient list`)")
        found.append(patient)
    source, target = found
    if source.id == target.id:
        raise BadInput(f"{source.mrn} is merged into itself; give the duplicate, then the "
                       "patient it is a duplicate of")
    if source.merged_into is not None:
        into = session.get_one(Patient, source.merged_into)
        raise Conflict(f"{source.mrn} was already merged into {into.mrn}; nothing was saved")
    if target.merged_into is not None:
        into = session.get_one(Patient, target.merged_into)
        raise Conflict(f"{target.mrn} was itself merged into {into.mrn}; merge {source.mrn} "
                       f"into {into.mrn}; nothing was saved")
    return source, target, reason


def merge_patients(session: Session, from_mrn: str, into_mrn: str, *, reason: str,
                   actor: Actor) -> MergePlan:
    """Merge a duplicate into the right patient: its visits (with their follow-ups, voids
    and addenda) and weights become that patient's, and it stays as a marked record.

    Nothing is moved: the visits and the trail are append-only, and a revision's digest
    covers its visit's patient. A `patient_merge` record says who merged what, when and why;
    `patient.merged_into` on the duplicate (and on any patient merged into it before, so
    the mark always names the final patient) makes every read take its records. Each
    record written is vouched for by an event."""
    source, target, reason = _merge_pair(session, from_mrn, into_mrn, reason)
    plan = MergePlan(_views(session, Patient.id == source.id)[0],
                     _views(session, Patient.id == target.id)[0], reason)
    merge = PatientMerge(from_patient_id=source.id, into_patient_id=target.id, reason=reason,
                         merged_at=dt.datetime.now(dt.UTC), merged_by=actor.os_user,
                         practitioner=actor.practitioner)
    session.add(merge)
    session.flush()
    record(session, actor, "patient.merge", f"patient {source.mrn} into {target.mrn}",
           patient_id=target.id, written=("patient_merge", source.id))
    earlier = session.scalars(select(Patient).where(Patient.merged_into == source.id)
                              .order_by(Patient.id)).all()
    for patient in [source, *earlier]:
        patient.merged_into = target.id
        session.flush()
        record(session, actor, "patient.merged",
               f"patient {patient.mrn}: merged into {target.mrn}", patient_id=patient.id,
               written=("patient", patient.id))
    return plan
