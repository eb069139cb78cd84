"""Visits: log, amend, void, add to (shown through tplog.services.visit_views).

A logged visit is never changed in place: an amendment is a new revision, a void is a mark,
an addendum is a new note. History and summaries read each visit's latest revision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tplog import clinical
from tplog import points as point_fields
from tplog import procedure as procedure_fields
from tplog.errors import BadInput, Conflict, shown
from tplog.models import (
    FollowUp,
    InjectateLot,
    InjectedPoint,
    Patient,
    RangeOfMotion,
    Visit,
    VisitAddendum,
    VisitCondition,
    VisitRevision,
    VisitVoid,
    VisitWarning,
)
from tplog.parse import Encounter, Lot, Pregnancy, clean_text
from tplog.points import Point
from tplog.procedure import Measurement, Procedure
from tplog.services import audit, loading
from tplog.services.queries import latest_revision, not_voided, owned_by
from tplog.services.views import (
    Peg,
    VisitView,
    as_utc,
)
from tplog.services.visit_views import find_visit, lots_of, peg_of, view_of

MAX_TEXT = 10_000  # a note, reason or addendum: generous, but not a pasted file


# Findings saved only when the practitioner confirmed them (tplog.services.safety.Finding):
# their warning keeps how (`--yes`, or at the prompt).
# An allergy to a drug being injected is confirmed as a dose over the limit is (issue 16).
CONFIRMED_KINDS = ("dose", "duplicate", "long_ago", "steroid", "allergy")


def _check_date(visit_date: dt.date) -> None:
    if visit_date > dt.date.today():
        raise BadInput(f"date {visit_date} is in the future; log a visit after it happens")


def _check_text(text: str | None, what: str, *, required: bool = False) -> str | None:
    text = clean_text(text or "", what)
    if required and not text:
        raise BadInput(f"{what} is empty; say why in a few words")
    if len(text) > MAX_TEXT:
        raise BadInput(f"{what} has {len(text)} characters; at most {MAX_TEXT} are allowed")
    return text or None


def _check_practitioner(practitioner: str) -> str:
    practitioner = clean_text(practitioner, "practitioner", one_line=True)
    if not practitioner or len(practitioner) > 200:
        raise BadInput(f"practitioner {shown(practitioner)} is not allowed; give 1-200 characters")
    return practitioner


def check_details(*, visit_date: dt.date | None, practitioner: str | None,
                  note: str | None, reason: str | None = None) -> None:
    """What `log` and `amend` check of a visit's own details before the safety checks run:
    a refusal then comes alone, not after a screen of warnings."""
    if visit_date is not None:
        _check_date(visit_date)
    if practitioner is not None:
        _check_practitioner(practitioner)
    _check_text(note, "note")
    if reason is not None:
        _check_text(reason, "reason", required=True)


def check_lots(lots: Sequence[Lot], points: Sequence[Point], visit_date: dt.date) -> None:
    """A visit's lots: each of a drug the visit injected, none expired on the visit's date,
    none given twice; else BadInput (checked before the safety checks, and again when
    written)."""
    injected = {drug for p in points for drug, _ in p.doses if drug is not None}
    seen = set()
    for lot in lots:
        if lot.drug not in injected:
            raise BadInput(f"--lot {lot.text}: no point of the visit injects {lot.drug} "
                           f"(it injects {', '.join(sorted(injected)) or 'nothing'})")
        if lot.expires_on < visit_date:
            raise BadInput(f"--lot {lot.text}: lot {lot.lot} of {lot.drug} expired on "
                           f"{lot.expires_on}, before the visit ({visit_date}); an expired "
                           "lot is not recorded as given")
        if (lot.drug, lot.lot) in seen:
            raise BadInput(f"--lot {lot.text}: lot {lot.lot} of {lot.drug} is given twice")
        seen.add((lot.drug, lot.lot))


def _new_revision(*, number: int, visit_date: dt.date, practitioner: str,
                  conditions: Sequence[str], note: str | None, reason: str | None,
                  points: Sequence[Point], created_by: str,
                  procedure: Procedure = procedure_fields.NOT_RECORDED,
                  range_of_motion: Sequence[Measurement] = (),
                  peg: Peg | None = None, lots: Sequence[Lot] = (),
                  pregnant: Pregnancy | None = None) -> VisitRevision:
    if not points:
        raise BadInput("a visit needs at least one injected point")
    check_lots(lots, points, visit_date)
    revision = VisitRevision(number=number, visit_date=visit_date, practitioner=practitioner,
                             note=note, reason=reason, created_at=dt.datetime.now(dt.UTC),
                             created_by=created_by, pregnant=pregnant,
                             **procedure_fields.values(procedure), **_peg_columns(peg))
    revision.range_of_motion = [
        RangeOfMotion(position=number, **procedure_fields.rom_values(measured))
        for number, measured in enumerate(range_of_motion, start=1)]
    revision.conditions = [VisitCondition(condition=key, position=number) for number, key
                           in enumerate(dict.fromkeys(conditions), start=1)]
    revision.points = [InjectedPoint(position=number, **point_fields.values(p))
                       for number, p in enumerate(points, start=1)]
    revision.lots = [InjectateLot(drug=lot.drug, lot=lot.lot, expiry=lot.expiry)
                     for lot in lots]
    return revision


def _peg_columns(peg: Peg | None) -> dict[str, int | None]:
    """PEG's three items as the columns hold them (NULL when not asked)."""
    pain, enjoyment, activity = peg if peg is not None else (None, None, None)
    return {"peg_pain": pain, "peg_enjoyment": enjoyment, "peg_activity": activity}


def log_visit(session: Session, *, patient: Patient, visit_date: dt.date, practitioner: str,
              conditions: Sequence[str], note: str | None, points: Sequence[Point],
              actor: audit.Actor, warnings: Sequence[tuple[str, str]] = (),
              confirmation: str | None = None, action: str = "visit.log",
              rules: clinical.Rules | None = None,
              procedure: Procedure = procedure_fields.NOT_RECORDED,
              range_of_motion: Sequence[Measurement] = (),
              peg: Peg | None = None, lots: Sequence[Lot] = (),
              pregnant: Pregnancy | None = None) -> VisitView:
    """Save a visit and all its points, or (on any bad value) nothing.

    warnings: (kind, message) from the safety checks, saved with the visit; a dose warning
    carries the practitioner's confirmation.
    """
    _check_date(visit_date)
    practitioner = _check_practitioner(practitioner)
    revision = _new_revision(number=1, visit_date=visit_date, practitioner=practitioner,
                             conditions=conditions, note=_check_text(note, "note"), reason=None,
                             points=points, created_by=actor.os_user, procedure=procedure,
                             range_of_motion=range_of_motion, peg=peg, lots=lots,
                             pregnant=pregnant)
    revision.warnings = [VisitWarning(kind=kind, message=message,
                                      confirmation=(confirmation if kind in CONFIRMED_KINDS
                                                    else None))
                         for kind, message in warnings]
    visit = Visit(patient=patient, created_at=revision.created_at, created_by=actor.os_user,
                  revisions=[revision])
    session.add(visit)
    session.flush()
    # A visit just written has no void, addendum, follow-up or adverse event: known, so not
    # asked for when it is shown (four statements fewer, issue 17).
    loading.set_empty([visit], loading.JUST_WRITTEN)
    audit.record(session, audit.Actor(actor.os_user, practitioner), action,
                 f"visit {visit.id}", patient_id=patient.id,
                 written=("visit_revision", revision.id))
    return view_of(session, visit, rules)


def changed_points(current: Sequence[Point], *, changes: Sequence[tuple[int, str]],
                   removed: Sequence[int], added: Sequence[Point],
                   mixtures: dict[str, str] | None = None) -> list[Point] | None:
    """The visit's points after `--set N KEY=VALUE`, `--remove-point N` and `--add-point`
    (N as `visit show` numbers them); None when none is given (the points stay)."""
    if not (changes or removed or added):
        return None
    points = list(current)
    for number in [n for n, _ in changes] + list(removed):
        if not 1 <= number <= len(points):
            raise BadInput(f"point {number} is not allowed; visit has points 1-{len(points)}")
    for number, text in changes:
        try:
            points[number - 1] = point_fields.changed(points[number - 1], text, mixtures)
        except BadInput as error:
            raise BadInput(f"point {number}: {error.message}") from None
    if len(set(removed)) != len(removed):
        raise BadInput("a point is removed twice; give each --remove-point once")
    kept = [p for number, p in enumerate(points, start=1) if number not in removed]
    if not kept and not added:
        raise BadInput("that removes every point; a visit needs one (void the visit if it "
                       "was entered in error)")
    return kept + list(added)


def amend_visit(session: Session, visit_id: int, *, reason: str, actor: audit.Actor,
                visit_date: dt.date | None = None, practitioner: str | None = None,
                conditions: Sequence[str] | None = None, note: str | None = None,
                points: Sequence[Point] | None = None,
                pregnant: Pregnancy | None = None,
                warnings: Sequence[tuple[str, str]] | None = None,
                confirmation: str | None = None,
                rules: clinical.Rules | None = None,
                procedure: dict[str, Any] | None = None,
                range_of_motion: Sequence[Measurement] | None = None,
                peg: Peg | None = None,
                lots: Sequence[Lot] | None = None) -> VisitView:
    """A new revision: what is given replaces the latest revision's; the rest is carried over.
    Points, conditions, ranges of motion and lots, when given, replace the whole list;
    `procedure` holds only the procedure's fields that change. `warnings`: the findings of the
    safety checks run again (new points or a new date); None keeps the old revision's."""
    reason_text = _check_text(reason, "reason", required=True)
    visit = find_visit(session, visit_id)
    if visit.void is not None:
        raise Conflict(f"visit {visit_id} was voided; a voided visit is not amended")
    if visit_date is not None:
        _check_date(visit_date)
        check_moved_date(visit_date, [f.reported_on for f in visit.follow_ups],
                         [e.occurred_on for e in visit.adverse_events])
    latest = visit.revisions[-1]
    carried = [point_fields.from_record(p) for p in latest.points]
    revision = _new_revision(
        number=latest.number + 1,
        visit_date=visit_date or latest.visit_date,
        practitioner=_check_practitioner(practitioner) if practitioner else latest.practitioner,
        conditions=conditions if conditions is not None
        else [c.condition for c in latest.conditions],
        note=_check_text(note, "note") if note is not None else latest.note,
        reason=reason_text, points=points if points is not None else carried,
        created_by=actor.os_user,
        procedure=Procedure(**{**procedure_fields.values(latest), **(procedure or {})}),
        range_of_motion=range_of_motion if range_of_motion is not None
        else [procedure_fields.rom_from_record(m) for m in latest.range_of_motion],
        peg=peg if peg is not None else peg_of(latest),
        lots=lots if lots is not None else lots_of(latest),
        pregnant=pregnant if pregnant is not None else latest.pregnant)
    if _same_content(revision, latest):
        raise BadInput("the amendment changes nothing; give --point, --date, --condition, "
                       "--practitioner, --note, --pregnant, --rom, --peg, --lot or a "
                       "procedure detail")
    if warnings is None:
        # The same points on the same day: what was found when they were checked holds.
        revision.warnings = [VisitWarning(kind=w.kind, message=w.message,
                                          confirmation=w.confirmation)
                             for w in latest.warnings]
    else:
        revision.warnings = [VisitWarning(kind=kind, message=message,
                                          confirmation=(confirmation if kind in CONFIRMED_KINDS
                                                        else None))
                             for kind, message in warnings]
    visit.revisions.append(revision)
    session.flush()
    audit.record(session, actor, "visit.amend", f"visit {visit.id} revision {revision.number}",
                 patient_id=visit.patient_id, written=("visit_revision", revision.id))
    return view_of(session, visit, rules)


def _content(revision: VisitRevision) -> tuple[object, ...]:
    return (revision.visit_date, revision.practitioner, revision.note, peg_of(revision),
            revision.pregnant,
            tuple(c.condition for c in revision.conditions),
            tuple(tuple(point_fields.values(p).values())
                  for p in revision.points),
            tuple(procedure_fields.values(revision).values()),
            tuple(procedure_fields.rom_from_record(m) for m in revision.range_of_motion),
            tuple(lots_of(revision)))


def _same_content(new: VisitRevision, old: VisitRevision) -> bool:
    return _content(new) == _content(old)


def void_visit(session: Session, visit_id: int, *, reason: str, actor: audit.Actor,
               rules: clinical.Rules | None = None) -> VisitView:
    reason_text = _check_text(reason, "reason", required=True)
    visit = find_visit(session, visit_id)
    if visit.void is not None:
        raise Conflict(f"visit {visit_id} was already voided on "
                       f"{as_utc(visit.void.voided_at):%Y-%m-%d}")
    visit.void = VisitVoid(reason=reason_text, voided_at=dt.datetime.now(dt.UTC),
                           voided_by=actor.os_user, practitioner=actor.practitioner)
    session.flush()
    audit.record(session, actor, "visit.void", f"visit {visit.id}",
                 patient_id=visit.patient_id, written=("visit_void", visit.id))
    return view_of(session, visit, rules)


def add_addendum(session: Session, visit_id: int, *, text: str, actor: audit.Actor,
                 rules: clinical.Rules | None = None) -> VisitView:
    body = _check_text(text, "addendum", required=True)
    visit = find_visit(session, visit_id)
    addendum = VisitAddendum(text=body, created_at=dt.datetime.now(dt.UTC),
                             created_by=actor.os_user, practitioner=actor.practitioner)
    visit.addenda.append(addendum)
    session.flush()
    audit.record(session, actor, "visit.addendum", f"visit {visit.id} addendum {addendum.id}",
                 patient_id=visit.patient_id, written=("visit_addendum", addendum.id))
    return view_of(session, visit, rules)


def check_moved_date(visit_date: dt.date, follow_ups: Sequence[dt.date],
                     events: Sequence[dt.date]) -> None:
    """A visit's corrected date: not after its own follow-ups or adverse events, which come
    on or after their visit (as `followup` and `event` check when they are recorded); moved
    past them, a follow-up would read as relief before the injection."""
    first = min([*follow_ups, *events], default=None)
    if first is not None and visit_date > first:
        raise BadInput(f"date {visit_date} is after this visit's follow-up or adverse event "
                       f"of {first}; give a date on or before {first}")


def check_follow_up(visit_date: dt.date, reported_on: dt.date) -> None:
    """A follow-up's date: after the visit, not in the future (checked before anyone is asked
    to confirm it, and again when it is written)."""
    if reported_on > dt.date.today():
        raise BadInput(f"date {reported_on} is in the future; record a follow-up after it")
    if reported_on < visit_date:
        raise BadInput(f"date {reported_on} is before the visit ({visit_date}); a follow-up "
                       "comes after it")


def record_follow_up(session: Session, visit_id: int, *, pain: int, reported_on: dt.date,
                     note: str | None, actor: audit.Actor,
                     rules: clinical.Rules | None = None, peg: Peg | None = None,
                     pgic: int | None = None) -> VisitView:
    """Pain reported after the visit, with its date: how long the relief lasted."""
    visit = find_visit(session, visit_id)
    check_follow_up(visit.revisions[-1].visit_date, reported_on)
    follow_up = FollowUp(pain=pain, reported_on=reported_on, note=_check_text(note, "note"),
                         created_at=dt.datetime.now(dt.UTC), created_by=actor.os_user,
                         practitioner=actor.practitioner, pgic=pgic, **_peg_columns(peg))
    visit.follow_ups.append(follow_up)
    session.flush()
    audit.record(session, actor, "visit.followup", f"visit {visit.id} follow-up {follow_up.id}",
                 patient_id=visit.patient_id, written=("follow_up", follow_up.id))
    return view_of(session, visit, rules)


def resolve_conditions(session: Session, patient_id: int, keys: Sequence[str], *,
                       points: Sequence[Point], encounter: Encounter | None,
                       day: dt.date, amending: int | None = None) -> list[str]:
    """The conditions as stored, in the order given: myofascial pain by the injected
    regions, whiplash with its encounter (default: initial unless an earlier visit of the
    patient had whiplash). Reference, "Diagnosis codes (ICD-10-CM)"."""
    if encounter is not None and "whiplash" not in keys:
        raise BadInput(f"--encounter {encounter.value} goes with --condition whiplash")
    if encounter is None and "whiplash" in keys:
        earlier = latest_condition_before(session, patient_id, "whiplash-", day,
                                          excluding=amending)
        # After a sequela visit the next is the sequela too; after any other, subsequent.
        encounter = (Encounter.INITIAL if earlier is None
                     else Encounter.SEQUELA if earlier == "whiplash-sequela"
                     else Encounter.SUBSEQUENT)
    return clinical.resolve_conditions(keys, muscle_keys=[p.muscle for p in points],
                                       whiplash_encounter=(encounter or Encounter.INITIAL).value)


def latest_condition_before(session: Session, patient_id: int, prefix: str, day: dt.date,
                            *, excluding: int | None = None) -> str | None:
    """The key, starting with `prefix`, of the patient's latest visit before `day` (not
    voided, latest revision) that had one (whiplash: which encounter it was)."""
    query = (
        select(VisitCondition.condition).select_from(Visit)
        .join(VisitRevision, VisitRevision.visit_id == Visit.id)
        .join(VisitCondition, VisitCondition.revision_id == VisitRevision.id)
        .where(owned_by(Visit.patient_id, patient_id), latest_revision(), not_voided(),
               VisitRevision.visit_date < day, VisitCondition.condition.like(f"{prefix}%"))
        .order_by(VisitRevision.visit_date.desc(), Visit.id.desc()).limit(1))
    if excluding is not None:
        query = query.where(Visit.id != excluding)
    return session.scalar(query)


