"""Conditions every reading query shares: a visit's latest revision, visits not voided."""

from __future__ import annotations

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.orm import aliased

from tplog.models import Visit, VisitRevision, VisitVoid


def latest_revision() -> ColumnElement[bool]:
    """A condition true of a visit's newest revision only (no revision with a higher number)."""
    newer = aliased(VisitRevision)
    # EXISTS (SELECT 1 ...), not SELECT *: SQLite then answers from the index alone.
    return ~select(literal_column("1")).where(newer.visit_id == VisitRevision.visit_id,
                                              newer.number > VisitRevision.number).exists()


def not_voided() -> ColumnElement[bool]:
    return ~select(literal_column("1")).where(VisitVoid.visit_id == Visit.id).exists()
