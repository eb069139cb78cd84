"""Outcome summaries across patients, aggregated in SQL (never by loading rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from tplog import vocab
from tplog.clinical import MODERATE_PERCENT, PGIC_IMPROVED
from tplog.models import (
    AdverseEvent,
    FollowUp,
    InjectedPoint,
    Patient,
    Visit,
    VisitCondition,
    VisitRevision,
)
from tplog.parse import GroupBy
from tplog.services import pain_cells
from tplog.services.queries import (
    in_scope,
    left_out,
    practitioner_spellings,
)
from tplog.services.views import AdverseEventRate, SummaryRow

# A column or an expression over columns.
Column = ColumnElement[Any] | InstrumentedAttribute[Any]

_Points = TypeVar("_Points", bound="Select[*tuple[Any, ...]]")

NO_CONDITION = "(none recorded)"
NOT_RECORDED = "(not recorded)"


def _group_column(by: GroupBy | None, dialect: str) -> Column:
    if by is None:
        return literal("all")
    if by is GroupBy.MUSCLE:
        return InjectedPoint.muscle
    if by is GroupBy.REGION:
        return case({m.key: m.region for m in vocab.MUSCLES}, value=InjectedPoint.muscle,
                    else_="unknown")
    if by is GroupBy.CONDITION:
        return func.coalesce(VisitCondition.condition, NO_CONDITION)
    if by is GroupBy.PRACTITIONER:
        return VisitRevision.practitioner
    if by is GroupBy.DRUG:
        # A mixture is its own group, named as stored (lidocaine-1:1+triamcinolone-40:0.5).
        return func.coalesce(InjectedPoint.drug, InjectedPoint.injectate, NOT_RECORDED)
    if dialect == "postgresql":
        return func.to_char(VisitRevision.visit_date, "YYYY-MM")
    return func.strftime("%Y-%m", VisitRevision.visit_date)


def _days_between(later: ColumnElement[Any], earlier: ColumnElement[Any],
                  dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return later - earlier  # date - date is a whole number of days
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _relief_days(dialect: str) -> Subquery:
    """Per visit revision: how long relief lasted, to the last follow-up of the unbroken run
    at >= 30 % relief against the visit's mean pain before (tplog.clinical.relief_lasted).
    Visits without follow-ups have no row; with no pain before, relief is undefined (NULL)."""
    # Only the revisions of visits that were followed up: the mean over every point in the
    # clinic would be a full scan (a second one, beside the main figures) for nothing.
    followed = select(VisitRevision.id).join(FollowUp,
                                             FollowUp.visit_id == VisitRevision.visit_id)
    before = (select(InjectedPoint.revision_id,
                     func.sum(InjectedPoint.pain_before).label("total"),
                     func.count(InjectedPoint.id).label("points"))
              .where(InjectedPoint.revision_id.in_(followed))
              .group_by(InjectedPoint.revision_id).subquery())
    # Farrar 2001 / IMMPACT: 30 % is the clinically important reduction. With the mean
    # before = total / points, (mean - pain) * 100 >= 30 * mean in whole numbers:
    held = ((before.c.total - FollowUp.pain * before.c.points) * 100
            >= MODERATE_PERCENT * before.c.total)
    checked = (select(VisitRevision.id.label("revision_id"),
                      VisitRevision.visit_date.label("visit_date"),
                      FollowUp.reported_on.label("reported_on"), held.label("held"))
               .join(FollowUp, FollowUp.visit_id == VisitRevision.visit_id)
               .join(before, before.c.revision_id == VisitRevision.id).subquery())
    lapse = (select(checked.c.revision_id,
                    func.min(case((checked.c.held.is_(False), checked.c.reported_on)))
                    .label("lapse"))
             .group_by(checked.c.revision_id).subquery())
    days = _days_between(checked.c.reported_on, checked.c.visit_date, dialect)
    in_run = and_(checked.c.held.is_(True),
                  or_(lapse.c.lapse.is_(None), checked.c.reported_on < lapse.c.lapse))
    lasted = case((func.max(before.c.total) > 0, func.max(case((in_run, days), else_=0))))
    return (select(checked.c.revision_id, lasted.label("days"))
            .join(lapse, lapse.c.revision_id == checked.c.revision_id)
            .join(before, before.c.revision_id == checked.c.revision_id)
            .group_by(checked.c.revision_id).subquery())


def summarise(session: Session, *, by: GroupBy | None = None, since: dt.date | None = None,
              until: dt.date | None = None, include_void: bool = False,
              patient_id: int | None = None, condition: str | None = None,
              muscle: str | None = None, practitioner: str | None = None) -> list[SummaryRow]:
    """Figures over each visit's latest revision; voided visits only when asked.

    Filters narrow the same statement: one patient's visits; the visits whose latest
    revision records `condition` (a checked key: parse.check_condition); only the points
    in `muscle` (and so only the visits that have one); the visits by `practitioner`, any
    case. Relief lasts per visit (a follow-up's pain is the patient's, not a muscle's), so
    it stays measured against the mean pain before of all the visit's points.
    """
    point = InjectedPoint
    dialect = session.get_bind().dialect.name
    spellings = None if practitioner is None else practitioner_spellings(session, practitioner)
    group = _group_column(by, dialect).label("grp")
    # The revisions the filters choose, as a list the database makes once (SQLite: an
    # ephemeral index; PostgreSQL: a hashed semi-join). Joined to each point instead, the
    # latest-revision and void checks ran once per point, and SQLite read the points in
    # muscle order through its index, a random read each. Each visit has one latest
    # revision, so a point's revision_id stands for its visit. Not correlated: the group
    # may join visit_revision too.
    chosen = in_scope(select(VisitRevision.id).join(Visit, Visit.id == VisitRevision.visit_id),
                      include_void=include_void, since=since, until=until,
                      patient_id=patient_id, condition=condition,
                      spellings=spellings).correlate(None)

    # Without a filter, PostgreSQL leaves out the few revisions not in force instead (a
    # hash of those, not of every chosen one: 1M points, 0.99 s to 0.66 s of the server's
    # CPU). SQLite then reads the points in muscle order through its index: no faster.
    unfiltered = all(value is None for value in (since, until, patient_id, condition,
                                                 spellings))
    in_force = (point.revision_id.not_in(left_out(include_void))
                if unfiltered and dialect == "postgresql" else point.revision_id.in_(chosen))

    def scoped(query: _Points) -> _Points:
        query = query.select_from(point).where(in_force)
        if by in (GroupBy.PRACTITIONER, GroupBy.MONTH):
            query = query.join(VisitRevision, VisitRevision.id == point.revision_id)
        if by is GroupBy.CONDITION:
            # A visit for two conditions counts under each of them.
            query = query.outerjoin(VisitCondition,
                                    VisitCondition.revision_id == point.revision_id)
        if muscle is not None:
            query = query.where(point.muscle == muscle)
        return query

    # One pass over the points, sorted by group: its visits, its points, and their findings
    # (pain and signs) listed as codes, from which every other figure is computed exactly
    # (services.pain_cells). A second pass for those figures, or SQL aggregates for each of
    # them, cost about as much as this one again (measured at 1M points).
    listed = scoped(select(
        group, func.count(func.distinct(point.revision_id)).label("visits"),
        func.count().label("points"),
        func.aggregate_strings(cast(pain_cells.code(point), String), ",").label("codes"),
    )).group_by(group).subquery()
    order = [listed.c.grp] if by is GroupBy.MONTH else [listed.c.points.desc(), listed.c.grp]

    # Relief lasts per visit, not per point: average it over the distinct visits of a group.
    relief = _relief_days(dialect)
    per_visit = (scoped(select(group, point.revision_id.label("visit"), relief.c.days))
                 .join(relief, relief.c.revision_id == point.revision_id).distinct()
                 .subquery())
    # The mean over visits whose relief is defined; the count of every visit followed up.
    lasting = {grp: (_float(days), count) for grp, days, count in session.execute(
        select(per_visit.c.grp, func.avg(cast(per_visit.c.days, Float)),
               func.count(per_visit.c.visit)).group_by(per_visit.c.grp))}

    rows = []
    for grp, visits, points, codes in session.execute(select(listed).order_by(*order)):
        days, followed = lasting.get(grp, (None, 0))
        found = pain_cells.figures(pain_cells.cells(codes.split(",")), dialect)
        with_twitch, without_twitch = found.reduction_by_sign["twitch_response"]
        rows.append(SummaryRow(
            group=grp, visits=visits, points=points,
            mean_pain_before=found.mean_pain_before, mean_pain_after=found.mean_pain_after,
            reduction_of_mean=found.reduction_of_mean, median_reduction=found.median_reduction,
            share_30=found.share_30, share_50=found.share_50, share_worse=found.share_worse,
            twitch_rate=found.twitch_rate, reduction_with_twitch=with_twitch,
            reduction_without_twitch=without_twitch, mean_relief_days=days,
            visits_followed_up=followed, reduction_by_sign=found.reduction_by_sign))
    return rows


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OutcomeMeasures:
    """PEG and PGIC across the visits summarised (reference, "Outcome measures that are free
    to use")."""

    patients_with_peg_change: int  # patients with a visit's PEG and a later PEG
    mean_peg_change: float | None  # latest PEG score - first visit's, averaged over them
    follow_ups_with_pgic: int
    share_pgic_improved: float | None  # of those: "much" or "very much improved"


def outcome_measures(session: Session, *, since: dt.date | None = None,
                     until: dt.date | None = None, include_void: bool = False,
                     patient_id: int | None = None, condition: str | None = None,
                     practitioner: str | None = None) -> OutcomeMeasures:
    """Per patient, the PEG score at their first visit that asked it, and at the latest PEG
    after it (a follow-up's or a later visit's): the mean of latest - first over those
    patients (negative is better). And of the follow-ups with a PGIC, the share at 1 or 2
    (much or very much improved). Over the visits the summary's filters choose (by their
    latest revision); computed in SQL."""
    spellings = None if practitioner is None else practitioner_spellings(session, practitioner)
    owner = func.coalesce(Patient.merged_into, Patient.id)
    visits = (select(Visit.id.label("visit_id"), owner.label("owner"),
                     VisitRevision.visit_date.label("visit_date"),
                     VisitRevision.peg_pain, VisitRevision.peg_enjoyment,
                     VisitRevision.peg_activity)
              .join(VisitRevision, VisitRevision.visit_id == Visit.id)
              .join(Patient, Patient.id == Visit.patient_id))
    chosen = in_scope(visits, include_void=include_void, since=since, until=until,
                       patient_id=patient_id, condition=condition,
                       spellings=spellings).subquery()

    def items(table: Any) -> ColumnElement[Any]:
        return table.peg_pain + table.peg_enjoyment + table.peg_activity  # NULL unless all

    # Every PEG: a visit's (kind 0) and its follow-ups' (kind 1), on their dates.
    measured = union_all(
        select(chosen.c.owner, chosen.c.visit_date.label("day"), literal(0).label("kind"),
               chosen.c.visit_id.label("record"), items(chosen.c).label("total"))
        .where(items(chosen.c).is_not(None)),
        select(chosen.c.owner, FollowUp.reported_on, literal(1), FollowUp.id,
               items(FollowUp)).join(FollowUp, FollowUp.visit_id == chosen.c.visit_id)
        .where(items(FollowUp).is_not(None))).subquery()
    ranked = select(
        measured.c.owner, measured.c.kind, measured.c.total,
        func.row_number().over(partition_by=[measured.c.owner, measured.c.kind],
                               order_by=[measured.c.day, measured.c.record]).label("first"),
        func.row_number().over(partition_by=measured.c.owner,
                               order_by=[measured.c.day.desc(), measured.c.kind.desc(),
                                         measured.c.record.desc()]).label("last"),
        func.count().over(partition_by=measured.c.owner).label("n")).cte("ranked")
    # A CTE, read by both the baseline and the latest: each database ranks the PEGs once
    # (a CTE named twice is materialized), where a subquery was ranked once for each.
    baseline = (select(ranked.c.owner, ranked.c.total)
                .where(ranked.c.kind == 0, ranked.c.first == 1, ranked.c.n > 1).subquery())
    latest = select(ranked.c.owner, ranked.c.total).where(ranked.c.last == 1).subquery()
    # Scores are totals / 3: the mean change is the mean of the totals' change over 3.
    change = session.execute(
        select(func.count(), func.avg(cast(latest.c.total - baseline.c.total, Float)))
        .join_from(baseline, latest, latest.c.owner == baseline.c.owner)).one()
    pgic = session.execute(
        select(func.count(FollowUp.pgic),
               func.avg(case((FollowUp.pgic.in_(PGIC_IMPROVED), 1.0),
                             (FollowUp.pgic.is_not(None), 0.0))))
        .join(chosen, chosen.c.visit_id == FollowUp.visit_id)).one()
    return OutcomeMeasures(
        patients_with_peg_change=change[0],
        mean_peg_change=None if change[1] is None else float(change[1]) / 3,
        follow_ups_with_pgic=pgic[0], share_pgic_improved=_float(pgic[1]))
def adverse_event_rates(session: Session, *, since: dt.date | None = None,
                        until: dt.date | None = None, include_void: bool = False,
                        patient_id: int | None = None, condition: str | None = None,
                        muscle: str | None = None, practitioner: str | None = None,
                        points: int | None = None) -> list[AdverseEventRate]:
    """Adverse events after the visits the summary covers (its filters, not its grouping:
    an event follows a visit, not a muscle), by kind, then all together, each per 1,000
    points injected at those visits. Kinds with no event are left out.

    `points`: those points, when the caller has counted them with the same filters (a
    summary whose groups divide the points between them adds up to it); counted here
    otherwise, in a pass over the points that is most of this function's time."""
    spellings = None if practitioner is None else practitioner_spellings(session, practitioner)
    scope = (select(VisitRevision.id.label("revision_id"), Visit.id.label("visit_id"))
             .join(Visit, Visit.id == VisitRevision.visit_id))
    if muscle is not None:
        scope = scope.where(VisitRevision.points.any(InjectedPoint.muscle == muscle))
    visits = in_scope(scope, include_void=include_void, since=since, until=until,
                       patient_id=patient_id, condition=condition,
                       spellings=spellings).subquery()
    if points is None:
        points_query = (select(func.count(InjectedPoint.id))
                        .join(visits, visits.c.revision_id == InjectedPoint.revision_id))
        if muscle is not None:
            points_query = points_query.where(InjectedPoint.muscle == muscle)
        points = session.scalar(points_query) or 0
    counted = dict(session.execute(
        select(AdverseEvent.kind, func.count(AdverseEvent.id))
        .join(visits, visits.c.visit_id == AdverseEvent.visit_id)
        .group_by(AdverseEvent.kind)).all())
    rows = [AdverseEventRate(kind.key, kind.name, counted[kind.key], points)
            for kind in vocab.ADVERSE_EVENT_KINDS if counted.get(kind.key)]
    return rows + [AdverseEventRate("all", "All adverse events", sum(counted.values()), points)]
