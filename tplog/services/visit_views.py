"""Visits as they are shown: one visit with what was added to it, a patient's history, and
what the views read beside a visit (the day's other sites, the year's steroid, the weights).
Read only: tplog.services.visits writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from tplog import clinical
from tplog import points as point_fields
from tplog import procedure as procedure_fields
from tplog.errors import NotFound
from tplog.models import (
    AdverseEvent,
    FollowUp,
    InjectedPoint,
    Patient,
    PatientWeight,
    Visit,
    VisitRevision,
    VisitVoid,
)
from tplog.parse import Lot, Pregnancy
from tplog.points import Point
from tplog.procedure import Measurement
from tplog.services import loading, practitioners
from tplog.services.queries import (
    WRITTEN_FOR,
    in_scope,
    latest_revision,
    not_voided,
    owned_by,
)
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


def peg_of(record: VisitRevision | FollowUp) -> Peg | None:
    items = (record.peg_pain, record.peg_enjoyment, record.peg_activity)
    return None if None in items else items  # type: ignore[return-value]


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


def lots_of(revision: VisitRevision) -> list[Lot]:
    return [Lot(lot.drug, lot.lot, lot.expiry) for lot in revision.lots]


def points_of(revision: VisitRevision, muscle: str | None = None) -> tuple[Point, ...]:
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
    (visit_date, practitioner, conditions, note, points, procedure, motion, peg, lots,
     pregnant) = _content(latest, muscle)
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
        visit_date=visit_date, practitioner=practitioner, conditions=conditions, note=note,
        created_at=as_utc(visit.created_at), created_by=visit.created_by,
        points=points, revision=latest.number,
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
                                      peg=peg_of(f), pgic=f.pgic)
                         for f in sorted(visit.follow_ups,
                                         key=lambda f: (f.reported_on, f.id or 0))),
        day_visits=day_visits,
        peg=peg,
        practitioner_record=(None if latest.practitioner_record is None
                             else practitioners.view(latest.practitioner_record)),
        pregnant=pregnant,
        adverse_events=tuple(_event_view(e) for e in sorted(
            visit.adverse_events, key=lambda e: (e.occurred_on, e.id or 0))),
        dose=dose if dose.drugs else None,
        cpt=tuple(clinical.cpt_suggestions(
            [(m, side, drug) for _, m, side, drug, _ in everything],
            sides_separately=rules.cpt_sides_count_separately, visits=day_visits)),
        procedure=procedure, range_of_motion=motion, lots=lots,
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


def _content(latest: VisitRevision, muscle: str | None = None) -> tuple[Any, ...]:
    """What the visit's latest revision records: (date, practitioner, conditions, note,
    points (only the muscle's, given one), procedure, range of motion, PEG, lots, pregnant),
    as a visit's view shows them and an import compares them."""
    return (latest.visit_date, latest.practitioner,
            tuple(c.condition for c in latest.conditions), latest.note,
            points_of(latest, muscle), procedure_fields.from_record(latest), _motion(latest),
            peg_of(latest), tuple(lots_of(latest)),
            None if latest.pregnant is None else Pregnancy(latest.pregnant).value)


def _motion(revision: VisitRevision) -> tuple[Measurement, ...]:
    return tuple(procedure_fields.rom_from_record(m) for m in revision.range_of_motion)


def _revision_views(revisions: Sequence[VisitRevision]) -> tuple[RevisionView, ...]:
    views = []
    previous: VisitRevision | None = None
    for r in revisions:
        views.append(RevisionView(
            number=r.number, visit_date=r.visit_date, practitioner=r.practitioner,
            conditions=tuple(c.condition for c in r.conditions), note=r.note, reason=r.reason,
            created_at=as_utc(r.created_at), created_by=r.created_by, points=points_of(r),
            peg=peg_of(r),
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
    old_lots, new_lots = [lot.text for lot in lots_of(old)], [lot.text for lot in lots_of(new)]
    changes += [f"lot added: {lot}" for lot in new_lots if lot not in old_lots]
    changes += [f"lot removed: {lot}" for lot in old_lots if lot not in new_lots]
    return tuple(changes)


def _peg_text(revision: VisitRevision) -> str | None:
    peg = peg_of(revision)
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


def view_of(session: Session, visit: Visit, rules: clinical.Rules | None,
          with_revisions: bool = False) -> VisitView:
    date = visit.revisions[-1].visit_date
    patient = owner(session, visit.patient)
    day = day_sites(session, patient.id, [date], excluding=visit.id).get(date, [])
    steroids = steroid_doses(session, patient.id, date, points_of(visit.revisions[-1]),
                             rules or clinical.Rules(), excluding=visit.id)
    return visit_view(visit, patient=patient, weighed=weights(session, patient),
                      with_revisions=with_revisions, day=day, rules=rules, steroids=steroids)


def show_visit(session: Session, visit_id: int, *, with_revisions: bool = False,
               rules: clinical.Rules | None = None) -> VisitView:
    return view_of(session, find_visit(session, visit_id, reading=True), rules, with_revisions)


def history(session: Session, patient: Patient, *, since: dt.date | None = None,
            until: dt.date | None = None, muscle: str | None = None,
            condition: str | None = None, include_void: bool = False,
            rules: clinical.Rules | None = None) -> list[VisitView]:
    """The patient's visits (those of duplicates merged into it too) by their latest
    revision, newest first; voided ones only when asked; with a muscle, only its points and
    the visits that have it; with a condition (a checked key), the visits that record it
    (queries.treats)."""
    found = _visits(session, patient, since=since, until=until, muscle=muscle,
                    condition=condition, include_void=include_void)
    days = day_sites(session, patient.id, [v.revisions[-1].visit_date for v in found])
    weighed = weights(session, patient)
    rules = rules or clinical.Rules()
    return [visit_view(v, muscle, patient=patient, weighed=weighed,
                       day=days.get(v.revisions[-1].visit_date, []), rules=rules,
                       steroids=_steroids_of(session, patient, v, rules))
            for v in found]


def replaced_contents(session: Session, patient_ids: Sequence[int]
                      ) -> dict[int, list[Replaced]]:
    """What each record the patients (by id; their merged duplicates' too) no longer hold
    live recorded (_content): every revision of a voided visit, every revision but the
    latest of an amended one. For `tplog import`, so that a file written before a visit was
    corrected or voided does not bring the old record back as a visit of its own (and adds
    what it brings after it to the visit as it is now)."""
    family = select(Patient.id).where(or_(Patient.id.in_(patient_ids),
                                          Patient.merged_into.in_(patient_ids)))
    owner = WRITTEN_FOR
    voided = select(VisitVoid.visit_id).where(VisitVoid.visit_id == Visit.id).exists()
    amended = (select(VisitRevision.id).where(VisitRevision.visit_id == Visit.id,
                                              VisitRevision.number > 1).exists())
    query = (select(Visit, func.coalesce(owner.merged_into, owner.id), voided)
             .join(owner, owner.id == Visit.patient_id)
             .where(Visit.patient_id.in_(family), or_(voided, amended)))
    revisions = selectinload(Visit.revisions)
    query = query.options(*(revisions.selectinload(getattr(VisitRevision, name)) for name in
                            ("points", "conditions", "range_of_motion", "lots")),
                          selectinload(Visit.follow_ups), selectinload(Visit.addenda))
    found: dict[int, list[Replaced]] = {}
    for visit, patient_id, is_void in session.execute(query):
        gone = visit.revisions if is_void else visit.revisions[:-1]
        found.setdefault(patient_id, []).append(Replaced(
            visit.id, bool(is_void), [_content(revision) for revision in gone],
            frozenset((f.reported_on, f.pain, f.note, f.practitioner, peg_of(f), f.pgic)
                      for f in visit.follow_ups),
            frozenset((as_utc(a.created_at), a.practitioner, a.text) for a in visit.addenda)))
    return found


@dataclass(frozen=True)
class Replaced:
    """A visit corrected or voided: what its replaced revisions recorded (_content), and
    its follow-ups and addenda as a file's visit holds them (tplog import)."""

    visit_id: int
    voided: bool
    contents: list[tuple[Any, ...]]
    follow_ups: frozenset[tuple[Any, ...]]
    addenda: frozenset[tuple[Any, ...]]


def _visits(session: Session, patient: Patient, *, since: dt.date | None = None,
            until: dt.date | None = None, muscle: str | None = None,
            condition: str | None = None, include_void: bool = False) -> list[Visit]:
    """history's visits, with everything they have loaded."""
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
    return found


def _steroids_of(session: Session, patient: Patient, visit: Visit,
                 rules: clinical.Rules) -> tuple[clinical.SteroidDose, ...]:
    """The visit's steroids with the patient's 12-month totals, as `visit show` gives them:
    one small query for each visit that injected a steroid, none for the others."""
    latest = visit.revisions[-1]
    return steroid_doses(session, patient.id, latest.visit_date, points_of(latest), rules,
                         excluding=visit.id)
