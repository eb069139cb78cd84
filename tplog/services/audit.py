"""The audit trail as the commands use it: an event for what a command wrote, and the
events listed. The chain itself (digests, hashing, verification) is tplog.db.chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tplog.db.chain import (
    Actor,
    NewEvent,
    Problem,
    append_event,
    append_events,
    revision_digest,
    verify,
)
from tplog.models import AuditEvent, Patient
from tplog.services.views import as_utc

__all__ = ["Actor", "EventView", "NewEvent", "Problem", "append_events", "count_events",
           "events", "record", "revision_digest", "verify"]


def record(session: Session, actor: Actor, action: str, target: str, *,
           patient_id: int | None = None, written: tuple[str, int] | None = None) -> int:
    """Append an event for what this command just wrote (flushed, in its transaction)."""
    session.flush()
    return append_event(session.connection(), actor=actor, action=action, target=target,
                        patient_id=patient_id, record=written)


# --- listing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventView:
    id: int
    occurred_at: dt.datetime
    os_user: str
    practitioner: str
    action: str
    target: str
    mrn: str | None


def events(session: Session, *, patient_id: int | None = None,
           since: dt.date | None = None) -> list[EventView]:
    query = (select(AuditEvent, Patient.mrn)
             .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
             .order_by(AuditEvent.id))
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= dt.datetime.combine(
            since, dt.time(), tzinfo=dt.UTC))
    return [EventView(id=e.id, occurred_at=as_utc(e.occurred_at), os_user=e.os_user,
                      practitioner=e.practitioner, action=e.action, target=e.target, mrn=mrn)
            for e, mrn in session.execute(query)]


def count_events(session: Session) -> int:
    return session.scalar(select(func.count(AuditEvent.id))) or 0
