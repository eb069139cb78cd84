"""Conditions every reading query shares: a visit's latest revision, visits not voided, a
patient's records with those of the duplicates merged into it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, literal_column, or_, select
from sqlalchemy.orm import aliased

from tplog.models import Patient, Visit, VisitRevision, VisitVoid


def latest_revision() -> ColumnElement[bool]:
    """A condition true of a visit's newest revision only (no revision with a higher number)."""
    newer = aliased(VisitRevision)
    # EXISTS (SELECT 1 ...), not SELECT *: SQLite then answers from the index alone.
    return ~select(literal_column("1")).where(newer.visit_id == VisitRevision.visit_id,
                                              newer.number > VisitRevision.number).exists()


def not_voided() -> ColumnElement[bool]:
    return ~select(literal_column("1")).where(VisitVoid.visit_id == Visit.id).exists()


def merged_family(patient_id: int | SQLColumnExpression[int]) -> Select[Any]:
    """The patient and the duplicates merged into it (revision 0009): whose rows are this
    patient's visits and weights. (`patient.merged_into` always names the final patient, so
    one level is every level.)"""
    other = aliased(Patient)
    return select(other.id).where(or_(other.id == patient_id, other.merged_into == patient_id))


def owned_by(column: SQLColumnExpression[int], patient_id: int | SQLColumnExpression[int]
             ) -> ColumnElement[bool]:
    """A row's patient column (visit.patient_id, patient_weight.patient_id) is this patient's
    or a duplicate's merged into it."""
    return column.in_(merged_family(patient_id))
