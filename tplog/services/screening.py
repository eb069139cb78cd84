"""The pre-procedure screen (allergies, anticoagulant or antiplatelet use, a bleeding
disorder) and adverse events after a visit.

Reference, "What a trigger point injection visit records": a physician expects the
pre-procedure screen (anticoagulant or antiplatelet use, bleeding disorder, local anaesthetic
allergy, pregnancy) and adverse events (vasovagal, haematoma, signs of anaesthetic toxicity,
pneumothorax, infection, allergy) in the note.

Every record is appended, never changed (revision 0012's guards): an allergy that resolved or
was entered in error gets a new record that closes it; a newer anticoagulant or bleeding
record supersedes the older ones. Each write is one audit event vouching for its record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tplog import clinical, vocab
from tplog.errors import BadInput, Conflict, NotFound, shown
from tplog.models import AdverseEvent, Patient, PatientScreening
from tplog.parse import (
    AllergyEnd,
    EventOutcome,
    OnOff,
    ScreeningKind,
    Severity,
    YesNo,
    clean_text,
)
from tplog.services import audit, visit_views, visits
from tplog.services.queries import owned_by
from tplog.services.views import (
    AdverseEventView,
    AllergyView,
    AnticoagulantView,
    ScreenView,
    VisitView,
)

MAX_SUBSTANCE = 200


def _text(text: str | None, what: str, *, one_line: bool = False,
          most: int | None = None) -> str | None:
    most = most or visits.MAX_TEXT
    cleaned = clean_text(text or "", what, one_line=one_line)
    if len(cleaned) > most:
        raise BadInput(f"{what} has {len(cleaned)} characters; at most {most} are allowed")
    return cleaned or None


def _check_day(day: dt.date | None, what: str, patient: Patient) -> None:
    if day is None:
        return
    if day > dt.date.today():
        raise BadInput(f"{what} {day} is in the future; record what is known today")
    if patient.date_of_birth is not None and day < patient.date_of_birth:
        raise BadInput(f"{what} {day} is before {patient.mrn} was born "
                       f"({patient.date_of_birth})")


def _add(session: Session, patient: Patient, actor: audit.Actor, target: str,
         **fields: object) -> PatientScreening:
    record = PatientScreening(patient_id=patient.id, created_at=dt.datetime.now(dt.UTC),
                              created_by=actor.os_user, practitioner=actor.practitioner,
                              **fields)
    session.add(record)
    session.flush()
    audit.record(session, actor, f"patient.{record.kind.value}",
                 f"patient {patient.mrn}: {target}", patient_id=patient.id,
                 written=("patient_screening", record.id))
    return record


def check_substance(substance: str) -> str:
    """The allergen as written: one line, 1-200 characters."""
    cleaned = _text(substance, "allergy", one_line=True, most=MAX_SUBSTANCE)
    if cleaned is None:
        raise BadInput("the allergy is empty; name the drug or substance (lidocaine, latex)")
    return cleaned


def record_allergy(session: Session, patient: Patient, *, substance: str,
                   reaction: str | None, since: dt.date | None,
                   actor: audit.Actor) -> AllergyView:
    """An allergy, free text; when the text names a drug tplog injects (a key such as
    lidocaine-1, its name, or the anaesthetic itself: lidocaine), `tplog log` asks for
    confirmation before injecting it."""
    substance = check_substance(substance)
    reaction = _text(reaction, "reaction")
    _check_day(since, "date", patient)
    record = _add(session, patient, actor, f"allergy to {substance}",
                  kind=ScreeningKind.ALLERGY, status="active", substance=substance,
                  reaction=reaction, effective_on=since)
    return _allergy_view(record)


def end_allergy(session: Session, patient: Patient, *, allergy_id: int, how: AllergyEnd,
                note: str | None, on: dt.date | None, actor: audit.Actor) -> AllergyView:
    """Mark a current allergy resolved or entered in error: a new record closing it."""
    note = _text(note, "note")
    _check_day(on, "date", patient)
    allergy = session.scalar(select(PatientScreening).where(
        PatientScreening.id == allergy_id, PatientScreening.kind == ScreeningKind.ALLERGY,
        PatientScreening.status == "active",
        owned_by(PatientScreening.patient_id, patient.id)))
    if allergy is None:
        raise NotFound(f"{patient.mrn} has no allergy {allergy_id} (see `tplog patient show "
                       f"{patient.mrn}`)")
    closed = session.scalar(select(PatientScreening.status)
                            .where(PatientScreening.closes == allergy_id))
    if closed is not None:
        raise Conflict(f"allergy {allergy_id} of {patient.mrn} was already marked {closed}; "
                       "nothing was saved")
    _add(session, patient, actor, f"allergy {allergy_id} {how.value}",
         kind=ScreeningKind.ALLERGY, status=how.value, substance=allergy.substance,
         effective_on=on, note=note, closes=allergy_id)
    return _allergy_view(allergy)


def record_anticoagulant(session: Session, patient: Patient, *, status: OnOff,
                         drug: str | None, on: dt.date | None, note: str | None,
                         actor: audit.Actor) -> None:
    """Anticoagulant or antiplatelet use started (on) or stopped (off); off without a drug
    stops every one on record."""
    drug = _text(drug, "drug", one_line=True, most=MAX_SUBSTANCE)
    note = _text(note, "note")
    _check_day(on, "date", patient)
    target = f"anticoagulant {status.value}" + (f" ({drug})" if drug else "")
    _add(session, patient, actor, target, kind=ScreeningKind.ANTICOAGULANT,
         status=status.value, substance=drug, effective_on=on or dt.date.today(), note=note)


def record_bleeding_disorder(session: Session, patient: Patient, *, answer: YesNo,
                             note: str | None, actor: audit.Actor) -> None:
    note = _text(note, "note")
    _add(session, patient, actor, f"bleeding disorder {answer.value}",
         kind=ScreeningKind.BLEEDING_DISORDER, status=answer.value,
         effective_on=dt.date.today(), note=note)


def _allergy_view(record: PatientScreening) -> AllergyView:
    substance = record.substance or ""
    return AllergyView(id=record.id, substance=substance, reaction=record.reaction,
                       since=record.effective_on, drugs=vocab.allergy_drugs(substance))


def screen(session: Session, patient: Patient) -> ScreenView:
    """The screen as it stands (the records of duplicates merged into the patient too)."""
    records = session.scalars(select(PatientScreening)
                              .where(owned_by(PatientScreening.patient_id, patient.id))
                              .order_by(PatientScreening.id)).all()
    allergies = [r for r in records if r.kind == ScreeningKind.ALLERGY]
    ended = {r.closes for r in allergies if r.closes is not None}
    # Taken in the order they happened (their dates, then as written).
    taking: dict[str | None, dt.date | None] = {}
    anticoagulant_records = sorted(
        (r for r in records if r.kind == ScreeningKind.ANTICOAGULANT),
        key=lambda r: (r.effective_on or dt.date.min, r.id))
    off_since = None
    for record in anticoagulant_records:
        key = record.substance.casefold() if record.substance else None
        if record.status == "on":
            taking.setdefault(key, record.effective_on)
        elif key is None:
            taking.clear()
            off_since = record.effective_on
        else:
            taking.pop(key, None)
            off_since = record.effective_on
    spelled = {r.substance.casefold() if r.substance else None: r.substance
               for r in anticoagulant_records}
    bleeding = [r for r in records if r.kind == ScreeningKind.BLEEDING_DISORDER]
    latest_bleeding = bleeding[-1] if bleeding else None
    return ScreenView(
        mrn=patient.mrn,
        allergies=tuple(_allergy_view(r) for r in allergies
                        if r.status == "active" and r.id not in ended),
        allergies_recorded=bool(allergies),
        anticoagulants=None if not anticoagulant_records else tuple(
            AnticoagulantView(drug=spelled[key], since=since) for key, since in taking.items()),
        anticoagulants_off_since=off_since,
        bleeding_disorder=None if latest_bleeding is None else latest_bleeding.status == "yes",
        bleeding_note=None if latest_bleeding is None else latest_bleeding.note)


def screen_warnings(found: ScreenView, drugs: Sequence[str | None],
                    pregnant: str | None) -> list[tuple[str, str]]:
    """(kind, message) for a visit about to inject `drugs`: an allergy to one of them
    ("allergy", which needs confirmation), anticoagulant use, a bleeding disorder and a
    pregnancy (warnings)."""
    injected = {d for d in drugs if d is not None}
    found_warnings = []
    for allergy in found.allergies:
        hit = sorted(injected & set(allergy.drugs))
        if hit:
            found_warnings.append(("allergy", (
                f"{found.mrn} has an allergy to {allergy.substance}"
                + (f" ({allergy.reaction})" if allergy.reaction else "")
                + f" and this visit injects {', '.join(hit)}")))
    if found.anticoagulants:
        names = ", ".join(a.drug or "a drug not named" for a in found.anticoagulants)
        # Reference: 25G needles when there is a bleeding risk.
        found_warnings.append(("anticoagulant", (
            f"{found.mrn} is on an anticoagulant/antiplatelet ({names}): bleeding risk "
            "(the reference suggests a 25G needle)")))
    if found.bleeding_disorder:
        found_warnings.append(("bleeding", (
            f"{found.mrn} has a bleeding disorder"
            + (f" ({found.bleeding_note})" if found.bleeding_note else "")
            + ": bleeding risk")))
    if pregnant == "yes":
        found_warnings.append(("pregnancy", f"{found.mrn} is pregnant"))
    return found_warnings


# --- adverse events ---------------------------------------------------------------------------

def check_event_date(visit_date: dt.date, occurred_on: dt.date) -> None:
    """An adverse event comes on or after the visit, and not in the future."""
    if occurred_on > dt.date.today():
        raise BadInput(f"date {occurred_on} is in the future; record an event after it")
    if occurred_on < visit_date:
        raise BadInput(f"date {occurred_on} is before the visit ({visit_date}); an adverse "
                       "event comes on or after it")


def check_event(kind: str, note: str | None) -> str | None:
    """`other` needs words saying what happened."""
    note = _text(note, "note")
    if kind == "other" and note is None:
        raise BadInput("an event of kind 'other' needs --note saying what happened")
    return note


def record_adverse_event(session: Session, visit_id: int, *, kind: str,
                         severity: Severity | None, occurred_on: dt.date,
                         outcome: EventOutcome | None, note: str | None,
                         actor: audit.Actor,
                         rules: clinical.Rules | None = None
                         ) -> tuple[VisitView, AdverseEventView]:
    """An adverse event after a visit (voided ones too: what happened, happened)."""
    if kind not in vocab.ADVERSE_EVENT_BY_KEY:
        raise BadInput(f"adverse event {shown(kind)} is not allowed; use "
                       f"{'|'.join(vocab.ADVERSE_EVENT_BY_KEY)}")
    note = check_event(kind, note)
    visit = visit_views.find_visit(session, visit_id)
    check_event_date(visit.revisions[-1].visit_date, occurred_on)
    event = AdverseEvent(kind=kind, severity=severity, occurred_on=occurred_on,
                         outcome=outcome, note=note, created_at=dt.datetime.now(dt.UTC),
                         created_by=actor.os_user, practitioner=actor.practitioner)
    visit.adverse_events.append(event)
    session.flush()
    audit.record(session, actor, "visit.event", f"visit {visit.id} adverse event {event.id}: "
                 f"{kind}", patient_id=visit.patient_id, written=("adverse_event", event.id))
    shown_visit = visit_views.show_visit(session, visit.id, rules=rules)
    written = next(e for e in shown_visit.adverse_events if e.id == event.id)
    return shown_visit, written
