"""Visits: log, amend, void, add to; show one; a patient's history.

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
from tplog.errors import BadInput, Conflict, NotFound, shown
from tplog.models import (
    AdverseEvent,
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
    VisitVoid,
    VisitWarning,
)
from tplog.parse import Encounter, Lot, Pregnancy, clean_text
from tplog.points import Point
from tplog.procedure import Measurement, Procedure
from tplog.services import audit, loading, practitioners
from tplog.services.queries import in_scope, latest_revision, not_voided, owned_by
from tplog.services.views import (
    AddendumView,
    AdverseEventView,
    FollowUpView,
    Peg,
    RevisionView,
    VisitView,
    VoidView,
    WarningView,
    as_utc,
)

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


def _peg_of(record: VisitRevision | FollowUp) -> Peg | None:
    items = (record.peg_pain, record.peg_enjoyment, record.peg_activity)
    return None if None in items else items  # type: ignore[return-value]


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
    return _view(session, visit, rules)


def find_visit(session: Session, visit_id: int, *, reading: bool = False) -> Visit:
    """The visit with its revisions and what was added to it, or NotFound. `reading`: for
    showing only; what the visit has none of is not asked for (loading.present)."""
    present = loading.present(session, Visit.id == visit_id) if reading else None
    visit = session.scalar(loading.with_details(select(Visit).where(Visit.id == visit_id),
                                                present))
    if visit is None:
        raise NotFound(f"no visit with id {visit_id}")
    if present is not None:
        loading.set_empty([visit], present)
    return visit


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
        peg=peg if peg is not None else _peg_of(latest),
        lots=lots if lots is not None else _lots(latest),
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
    return _view(session, visit, rules)


def _content(revision: VisitRevision) -> tuple[object, ...]:
    return (revision.visit_date, revision.practitioner, revision.note, _peg_of(revision),
            revision.pregnant,
            tuple(c.condition for c in revision.conditions),
            tuple(tuple(point_fields.values(p).values())
                  for p in revision.points),
            tuple(procedure_fields.values(revision).values()),
            tuple(procedure_fields.rom_from_record(m) for m in revision.range_of_motion),
            tuple(_lots(revision)))


def _lots(revision: VisitRevision) -> list[Lot]:
    return [Lot(lot.drug, lot.lot, lot.expiry) for lot in revision.lots]


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
    return _view(session, visit, rules)


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
    return _view(session, visit, rules)


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
    return _view(session, visit, rules)


def _points(revision: VisitRevision, muscle: str | None = None) -> tuple[Point, ...]:
    return tuple(point_fields.from_record(p) for p in revision.points
                 if muscle is None or p.muscle == muscle)


# A point of another visit the same day: (visit id, muscle, side, drug, volume mL).
DaySite = tuple[int, str, str, str | None, float | None]


def day_sites(session: Session, patient_id: int, dates: Sequence[dt.date], *,
              excluding: int | None = None) -> dict[dt.date, list[DaySite]]:
    """Every point of the patient's non-voided visits (latest revisions) on these dates: a
    dose limit and a billing code are per patient per day (reference: CMS LCD L34211, "a
    session ... includes all procedures performed during one day"; MAC article A57751)."""
    query = (select(VisitRevision.visit_date, Visit.id, InjectedPoint.muscle,
                    InjectedPoint.side, InjectedPoint.drug, InjectedPoint.volume_ml,
                    InjectedPoint.injectate)
             .join(VisitRevision, VisitRevision.visit_id == Visit.id)
             .join(InjectedPoint, InjectedPoint.revision_id == VisitRevision.id)
             .where(owned_by(Visit.patient_id, patient_id), latest_revision(), not_voided(),
                    VisitRevision.visit_date.in_(sorted(set(dates))))
             .order_by(Visit.id, InjectedPoint.position))
    if excluding is not None:
        query = query.where(Visit.id != excluding)
    found: dict[dt.date, list[DaySite]] = {}
    for day, visit_id, muscle, side, drug, volume, injectate in session.execute(query):
        # A mixture is one site per drug in it: each counts toward the day's dose.
        found.setdefault(day, []).extend(
            (visit_id, muscle, side, part, ml)
            for part, ml in clinical.injected(drug, volume, injectate))
    return found


def _steroid_year(session: Session, patient_id: int, day: dt.date, *,
                  excluding: int | None) -> list[tuple[str | None, float | None]]:
    """The drugs of the patient's other visits (not voided, latest revisions) in the 12
    months to `day`: the cumulative steroid total counts them."""
    start = day - dt.timedelta(days=clinical.STEROID_WINDOW_DAYS)
    query = (select(InjectedPoint.drug, InjectedPoint.volume_ml, InjectedPoint.injectate)
             .join(VisitRevision, InjectedPoint.revision_id == VisitRevision.id)
             .join(Visit, VisitRevision.visit_id == Visit.id)
             .where(owned_by(Visit.patient_id, patient_id), latest_revision(), not_voided(),
                    VisitRevision.visit_date > start, VisitRevision.visit_date <= day))
    if excluding is not None:
        query = query.where(Visit.id != excluding)
    return [part for drug, volume, injectate in session.execute(query)
            for part in clinical.injected(drug, volume, injectate)]


def steroid_doses(session: Session, patient_id: int, day: dt.date, points: Sequence[Point],
                  rules: clinical.Rules, *, excluding: int | None = None
                  ) -> tuple[clinical.SteroidDose, ...]:
    """Each steroid the points give, with the patient's total in the 12 months to `day`."""
    own = [part for p in points for part in p.doses]
    if not clinical.steroid_totals(own):
        return ()
    return clinical.steroid_doses(own, _steroid_year(session, patient_id, day,
                                                     excluding=excluding),
                                  rules.steroid_limits)


def weights(session: Session, patient: Patient) -> list[clinical.Weight]:
    """The patient's dated weights, those of duplicates merged into it too, oldest first."""
    found = session.execute(select(PatientWeight.weight_kg, PatientWeight.measured_on)
                            .where(owned_by(PatientWeight.patient_id, patient.id))
                            .order_by(PatientWeight.measured_on, PatientWeight.id))
    return [clinical.Weight(kg, day) for kg, day in found]


def owner(session: Session, patient: Patient) -> Patient:
    """The patient whose record this is: itself, or the one it was merged into."""
    if patient.merged_into is None:
        return patient
    return session.get_one(Patient, patient.merged_into)


def visit_view(visit: Visit, muscle: str | None = None, *, patient: Patient,
               weighed: Sequence[clinical.Weight], with_revisions: bool = False,
               day: Sequence[DaySite] = (), rules: clinical.Rules | None = None,
               steroids: Sequence[clinical.SteroidDose] = ()) -> VisitView:
    """The visit as its latest revision says; `patient`: whose visit it is (the one its
    patient was merged into, if it was), with `weighed`, that patient's weights; `day`: the
    points of the patient's other visits on its date, for the day's dose and billing code."""
    rules = rules or clinical.Rules()
    latest = visit.revisions[-1]
    void = visit.void
    others = [site for site in day if site[0] != visit.id]
    own = [(visit.id, p.muscle, p.side, drug, ml) for p in latest.points
           for drug, ml in clinical.injected(p.drug, p.volume_ml, p.injectate)]
    everything = own + others
    day_visits = tuple(sorted({site[0] for site in everything}))
    dose = clinical.check_dose([(drug, ml) for *_, drug, ml in everything],
                               day=latest.visit_date,
                               weight=clinical.weight_on(weighed, latest.visit_date),
                               date_of_birth=patient.date_of_birth,
                               limits=rules.dose_limits)
    return VisitView(
        id=visit.id, mrn=patient.mrn, patient_name=patient.name,
        visit_date=latest.visit_date, practitioner=latest.practitioner,
        conditions=tuple(c.condition for c in latest.conditions), note=latest.note,
        created_at=as_utc(visit.created_at), created_by=visit.created_by,
        points=_points(latest, muscle), revision=latest.number,
        void=None if void is None else VoidView(
            reason=void.reason, voided_at=as_utc(void.voided_at), voided_by=void.voided_by,
            practitioner=void.practitioner),
        addenda=tuple(AddendumView(id=a.id, text=a.text, created_at=as_utc(a.created_at),
                                   created_by=a.created_by, practitioner=a.practitioner)
                      for a in visit.addenda),
        revisions=_revision_views(visit.revisions) if with_revisions else (),
        # Each revision carries the findings for its own points.
        warnings=tuple(WarningView(kind=w.kind, message=w.message, confirmation=w.confirmation)
                       for w in latest.warnings),
        follow_ups=tuple(FollowUpView(id=f.id, pain=f.pain, reported_on=f.reported_on,
                                      note=f.note, practitioner=f.practitioner,
                                      peg=_peg_of(f), pgic=f.pgic)
                         for f in sorted(visit.follow_ups,
                                         key=lambda f: (f.reported_on, f.id or 0))),
        day_visits=day_visits,
        peg=_peg_of(latest),
        practitioner_record=(None if latest.practitioner_record is None
                             else practitioners.view(latest.practitioner_record)),
        pregnant=None if latest.pregnant is None else Pregnancy(latest.pregnant).value,
        adverse_events=tuple(_event_view(e) for e in sorted(
            visit.adverse_events, key=lambda e: (e.occurred_on, e.id or 0))),
        dose=dose if dose.drugs else None,
        cpt=tuple(clinical.cpt_suggestions(
            [(m, side, drug) for _, m, side, drug, _ in everything],
            sides_separately=rules.cpt_sides_count_separately, visits=day_visits)),
        procedure=procedure_fields.from_record(latest),
        range_of_motion=_motion(latest),
        lots=tuple(_lots(latest)),
        steroids=tuple(steroids),
    )


def _event_view(event: AdverseEvent) -> AdverseEventView:
    return AdverseEventView(
        id=event.id, kind=event.kind,
        severity=None if event.severity is None else str(getattr(event.severity, "value",
                                                                   event.severity)),
        occurred_on=event.occurred_on,
        outcome=None if event.outcome is None else str(getattr(event.outcome, "value",
                                                                 event.outcome)),
        note=event.note, practitioner=event.practitioner)


def _motion(revision: VisitRevision) -> tuple[Measurement, ...]:
    return tuple(procedure_fields.rom_from_record(m) for m in revision.range_of_motion)


def _revision_views(revisions: Sequence[VisitRevision]) -> tuple[RevisionView, ...]:
    views = []
    previous: VisitRevision | None = None
    for r in revisions:
        views.append(RevisionView(
            number=r.number, visit_date=r.visit_date, practitioner=r.practitioner,
            conditions=tuple(c.condition for c in r.conditions), note=r.note, reason=r.reason,
            created_at=as_utc(r.created_at), created_by=r.created_by, points=_points(r),
            peg=_peg_of(r),
            changes=_changes(previous, r) if previous is not None else ("logged",),
            procedure=procedure_fields.from_record(r), range_of_motion=_motion(r)))
        previous = r
    return tuple(views)


def _changes(old: VisitRevision, new: VisitRevision) -> tuple[str, ...]:
    """What a clinician reading the record needs: each field that differs, old → new."""
    changes = []
    for label, before, after in (("date", old.visit_date, new.visit_date),
                                 ("practitioner", old.practitioner, new.practitioner),
                                 ("note", old.note, new.note),
                                 ("PEG", _peg_text(old), _peg_text(new)),
                                 ("pregnant", old.pregnant, new.pregnant)):
        if before != after:
            changes.append(f"{label}: {_shown(before)} → {_shown(after)}")
    old_conditions = {c.condition for c in old.conditions}
    new_conditions = {c.condition for c in new.conditions}
    changes += [f"condition added: {c}" for c in sorted(new_conditions - old_conditions)]
    changes += [f"condition removed: {c}" for c in sorted(old_conditions - new_conditions)]
    changes += [f"{field.label}: {_shown(getattr(old, field.name))} → "
                f"{_shown(getattr(new, field.name))}"
                for field in procedure_fields.FIELDS
                if getattr(old, field.name) != getattr(new, field.name)]
    old_motion, new_motion = _motion(old), _motion(new)
    if old_motion != new_motion:
        changes.append("range of motion: "
                       + ("; ".join(map(procedure_fields.rom_spec, old_motion)) or "none")
                       + " → "
                       + ("; ".join(map(procedure_fields.rom_spec, new_motion)) or "none"))
    changes += _point_changes(list(old.points), list(new.points))
    old_lots, new_lots = [lot.text for lot in _lots(old)], [lot.text for lot in _lots(new)]
    changes += [f"lot added: {lot}" for lot in new_lots if lot not in old_lots]
    changes += [f"lot removed: {lot}" for lot in old_lots if lot not in new_lots]
    return tuple(changes)


def _peg_text(revision: VisitRevision) -> str | None:
    peg = _peg_of(revision)
    return None if peg is None else ",".join(str(item) for item in peg)


def _point_changes(old: list[Any], new: list[Any]) -> list[str]:
    """Points named by their site, not their place in the list: each old point is paired
    with the first unpaired new point at the same muscle and side; the rest were removed or
    added ("upper-trapezius L: pain after 3 → 2")."""
    unpaired = list(new)
    changes, removed = [], []
    for before in old:
        after = next((p for p in unpaired
                      if (p.muscle, p.side) == (before.muscle, before.side)), None)
        if after is None:
            removed.append(before)
            continue
        unpaired.remove(after)
        differing = [f"{field.label} {_shown(getattr(before, field.name))} → "
                     f"{_shown(getattr(after, field.name))}"
                     for field in point_fields.FIELDS
                     if getattr(before, field.name) != getattr(after, field.name)]
        if differing:
            changes.append(f"{_site(before)}: " + ", ".join(differing))
    changes += [f"{_site(p)} removed" for p in removed]
    changes += [f"{_site(p)} added" for p in unpaired]
    return changes


def _site(point: Any) -> str:
    return f"{point.muscle} {getattr(point.side, 'value', point.side)}"


def _shown(value: object) -> str:
    return point_fields.as_text(value, "not recorded")


def _view(session: Session, visit: Visit, rules: clinical.Rules | None,
          with_revisions: bool = False) -> VisitView:
    date = visit.revisions[-1].visit_date
    patient = owner(session, visit.patient)
    day = day_sites(session, patient.id, [date], excluding=visit.id).get(date, [])
    steroids = steroid_doses(session, patient.id, date, _points(visit.revisions[-1]),
                             rules or clinical.Rules(), excluding=visit.id)
    return visit_view(visit, patient=patient, weighed=weights(session, patient),
                      with_revisions=with_revisions, day=day, rules=rules, steroids=steroids)


def show_visit(session: Session, visit_id: int, *, with_revisions: bool = False,
               rules: clinical.Rules | None = None) -> VisitView:
    return _view(session, find_visit(session, visit_id, reading=True), rules, with_revisions)


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


def history(session: Session, patient: Patient, *, since: dt.date | None = None,
            until: dt.date | None = None, muscle: str | None = None,
            condition: str | None = None, include_void: bool = False,
            rules: clinical.Rules | None = None) -> list[VisitView]:
    """The patient's visits (those of duplicates merged into it too) by their latest
    revision, newest first; voided ones only when asked; with a muscle, only its points and
    the visits that have it; with a condition (a checked key), the visits that record it
    (queries.treats)."""
    query = select(Visit).join(VisitRevision, VisitRevision.visit_id == Visit.id)
    if muscle is not None:
        query = query.where(VisitRevision.points.any(InjectedPoint.muscle == muscle))
    query = in_scope(query, include_void=include_void, since=since, until=until,
                     patient_id=patient.id, condition=condition)
    # Everything the patient's visits have is asked about, whatever the filters: a kind
    # none has is then not loaded.
    present = loading.present(session, owned_by(Visit.patient_id, patient.id),
                              void=include_void)
    query = loading.with_details(
        query.order_by(VisitRevision.visit_date.desc(), Visit.id.desc()), present,
        patient=False)
    found = list(session.scalars(query))
    loading.set_empty(found, present)
    days = day_sites(session, patient.id, [v.revisions[-1].visit_date for v in found])
    weighed = weights(session, patient)
    return [visit_view(v, muscle, patient=patient, weighed=weighed,
                       day=days.get(v.revisions[-1].visit_date, []), rules=rules)
            for v in found]
