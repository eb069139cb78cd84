"""Outcome summaries across patients, aggregated in SQL (never by loading rows)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Integer, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from tplog import vocab
from tplog.entry import GroupBy
from tplog.models import FollowUp, InjectedPoint, Visit, VisitCondition, VisitRevision
from tplog.outcomes import MODERATE_PERCENT, SUBSTANTIAL_PERCENT
from tplog.services.views import SummaryRow
from tplog.services.visits import latest_revision, not_voided

NO_CONDITION = "(none recorded)"
NOT_RECORDED = "(not recorded)"


def _group_column(by: GroupBy | None, dialect: str):  # type: ignore[no-untyped-def]
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
        return func.coalesce(InjectedPoint.drug, NOT_RECORDED)
    if dialect == "postgresql":
        return func.to_char(VisitRevision.visit_date, "YYYY-MM")
    return func.strftime("%Y-%m", VisitRevision.visit_date)


def _days_between(later, earlier, dialect: str):  # type: ignore[no-untyped-def]
    if dialect == "postgresql":
        return later - earlier  # date - date is a whole number of days
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _relief_days(dialect: str):  # type: ignore[no-untyped-def]
    """Per visit revision: how long relief lasted, the latest follow-up still at >= 30 %
    relief against the visit's mean pain before (0 if none was). Visits without follow-ups
    have no row."""
    # Only the revisions of visits that were followed up: the mean over every point in the
    # clinic would be a full scan (a second one, beside the main figures) for nothing.
    followed = select(VisitRevision.id).join(FollowUp,
                                             FollowUp.visit_id == VisitRevision.visit_id)
    mean_before = (select(InjectedPoint.revision_id,
                          func.avg(cast(InjectedPoint.pain_before, Float)).label("before"))
                   .where(InjectedPoint.revision_id.in_(followed))
                   .group_by(InjectedPoint.revision_id).subquery())
    days = _days_between(FollowUp.reported_on, VisitRevision.visit_date, dialect)
    # Farrar 2001 / IMMPACT: 30 % is the clinically important reduction.
    held = (mean_before.c.before - FollowUp.pain) * 100 >= MODERATE_PERCENT * mean_before.c.before
    return (select(VisitRevision.id.label("revision_id"),
                   func.max(case((and_(held, mean_before.c.before > 0), days), else_=0))
                   .label("days"))
            .join(FollowUp, FollowUp.visit_id == VisitRevision.visit_id)
            .join(mean_before, mean_before.c.revision_id == VisitRevision.id)
            .group_by(VisitRevision.id).subquery())


def summarise(session: Session, *, by: GroupBy | None = None, since: dt.date | None = None,
              until: dt.date | None = None, include_void: bool = False) -> list[SummaryRow]:
    """Figures over each visit's latest revision; voided visits only when asked."""
    point = InjectedPoint
    dialect = session.get_bind().dialect.name
    # Reference: % reduction = (pre - post) / pre x 100, undefined when pre = 0 (or no post).
    defined = and_(point.pain_after.is_not(None), point.pain_before > 0)
    drop = point.pain_before - point.pain_after
    percent = case((defined, cast(drop, Float) * 100 / point.pain_before))

    def share(threshold: int):  # type: ignore[no-untyped-def]
        # IMMPACT (Dworkin 2008): >= 30 % moderately, >= 50 % substantially important.
        # Integer arithmetic, so exactly 30 % counts as 30 %.
        return func.avg(case((defined, case((drop * 100 >= threshold * point.pain_before, 1.0),
                                             else_=0.0))))

    group = _group_column(by, dialect).label("grp")

    def scoped(query):  # type: ignore[no-untyped-def]
        query = (query.select_from(point)
                 .join(VisitRevision, VisitRevision.id == point.revision_id)
                 .join(Visit, Visit.id == VisitRevision.visit_id)
                 .where(latest_revision()))
        if not include_void:
            query = query.where(not_voided())
        if by is GroupBy.CONDITION:
            # A visit for two conditions counts under each of them.
            query = query.outerjoin(VisitCondition,
                                    VisitCondition.revision_id == VisitRevision.id)
        if since is not None:
            query = query.where(VisitRevision.visit_date >= since)
        if until is not None:
            query = query.where(VisitRevision.visit_date <= until)
        return query

    figures = scoped(select(
        group,
        func.count(func.distinct(Visit.id)),
        func.count(point.id),
        func.avg(cast(point.pain_before, Float)),
        func.avg(cast(point.pain_after, Float)),
        func.avg(percent),
        share(MODERATE_PERCENT),
        share(SUBSTANTIAL_PERCENT),
        func.avg(case((point.twitch_response.is_(True), 1.0),
                      (point.twitch_response.is_(False), 0.0))),
        func.avg(case((point.twitch_response.is_(True), percent))),
        func.avg(case((point.twitch_response.is_(False), percent))),
    )).group_by(group)
    figures = figures.order_by(group) if by is GroupBy.MONTH \
        else figures.order_by(func.count(point.id).desc(), group)

    # Relief lasts per visit, not per point: average it over the distinct visits of a group.
    relief = _relief_days(dialect)
    per_visit = (scoped(select(group, Visit.id.label("visit_id"), relief.c.days))
                 .join(relief, relief.c.revision_id == VisitRevision.id).distinct())
    per_visit = per_visit.subquery()
    lasting = {grp: (float(days), count) for grp, days, count in session.execute(
        select(per_visit.c.grp, func.avg(cast(per_visit.c.days, Float)),
               func.count(per_visit.c.visit_id)).group_by(per_visit.c.grp))}

    rows = []
    for grp, visits, points, *means in session.execute(figures):
        days, followed = lasting.get(grp, (None, 0))
        (before, after, reduction, share_30, share_50, twitch, with_twitch,
         without_twitch) = (None if v is None else float(v) for v in means)
        rows.append(SummaryRow(grp, visits, points, before, after, reduction, share_30,
                               share_50, twitch, with_twitch, without_twitch, days, followed))
    return rows
