"""Outcome summaries across patients, aggregated in SQL (never by loading rows)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from tplog import vocab
from tplog.entry import GroupBy
from tplog.models import InjectedPoint, Visit, VisitCondition, VisitRevision
from tplog.services.views import SummaryRow
from tplog.services.visits import latest_revision, not_voided

NO_CONDITION = "(none recorded)"


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
    if dialect == "postgresql":
        return func.to_char(VisitRevision.visit_date, "YYYY-MM")
    return func.strftime("%Y-%m", VisitRevision.visit_date)


def summarise(session: Session, *, by: GroupBy | None = None, since: dt.date | None = None,
              until: dt.date | None = None, include_void: bool = False) -> list[SummaryRow]:
    """Figures over each visit's latest revision; voided visits only when asked."""
    point = InjectedPoint
    # Reference: % reduction = (pre - post) / pre x 100, undefined when pre = 0 (or no post).
    defined = and_(point.pain_after.is_not(None), point.pain_before > 0)
    drop = point.pain_before - point.pain_after
    percent = case((defined, cast(drop, Float) * 100 / point.pain_before))

    def share(threshold: int):  # type: ignore[no-untyped-def]
        # IMMPACT (Dworkin 2008): >= 30 % moderately, >= 50 % substantially important.
        # Integer arithmetic, so exactly 30 % counts as 30 %.
        return func.avg(case((defined, case((drop * 100 >= threshold * point.pain_before, 1.0),
                                             else_=0.0))))

    group = _group_column(by, session.get_bind().dialect.name).label("grp")
    query = (
        select(
            group,
            func.count(func.distinct(Visit.id)),
            func.count(point.id),
            func.avg(cast(point.pain_before, Float)),
            func.avg(cast(point.pain_after, Float)),
            func.avg(percent),
            share(30),
            share(50),
            func.avg(case((point.twitch_response.is_(True), 1.0),
                          (point.twitch_response.is_(False), 0.0))),
        )
        .select_from(point)
        .join(VisitRevision, VisitRevision.id == point.revision_id)
        .join(Visit, Visit.id == VisitRevision.visit_id)
        .where(latest_revision())
        .group_by(group)
    )
    if not include_void:
        query = query.where(not_voided())
    if by is GroupBy.CONDITION:
        # A visit for two conditions counts under each of them.
        query = query.outerjoin(VisitCondition, VisitCondition.revision_id == VisitRevision.id)
    if since is not None:
        query = query.where(VisitRevision.visit_date >= since)
    if until is not None:
        query = query.where(VisitRevision.visit_date <= until)
    if by is GroupBy.MONTH:
        query = query.order_by(group)
    else:
        query = query.order_by(func.count(point.id).desc(), group)
    return [SummaryRow(group, visits, points, *(None if v is None else float(v) for v in rest))
            for group, visits, points, *rest in session.execute(query)]
