"""The audit trail as the commands use it: an event for what a command wrote, and the
events listed. The chain itself (digests, hashing, verification) is tplog.db.chain.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tplog.db.chain import (
    Actor,
    NewEvent,
    Problem,
    RevisionDigests,
    append_event,
    append_events,
    verify,
)
from tplog.errors import BadInput, shown
from tplog.models import AuditEvent, Patient
from tplog.services.views import as_utc

__all__ = ["Actor", "EventView", "Head", "NewEvent", "Problem", "append_events",
           "count_events", "events", "head", "passes_through", "record", "RevisionDigests",
           "verify"]


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


# --- anchoring --------------------------------------------------------------------------------

# A hash written down need not be whole: 16 hex characters (64 bits) still cannot be matched
# by a forged event, and fit on a sticky note.
SHORTEST_HEAD = 16


@dataclass(frozen=True)
class Head:
    """An event a clinic wrote down: its number, hash and time."""

    id: int
    hash: str
    occurred_at: dt.datetime


def head(session: Session) -> Head | None:
    """The newest event: the chain's end, for the clinic to keep outside the database."""
    found = session.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.occurred_at)
                            .order_by(AuditEvent.id.desc()).limit(1)).first()
    return None if found is None else Head(found.id, found.hash, as_utc(found.occurred_at))


def check_head(text: str) -> str:
    """A hash (or its first 16+ characters) as `tplog audit head` printed it."""
    value = text.strip().lower()
    if len(value) < SHORTEST_HEAD or len(value) > 64 or not re.fullmatch("[0-9a-f]+", value):
        raise BadInput(f"--head {shown(text)} is not allowed; give the hash `tplog audit head` "
                       f"printed (at least its first {SHORTEST_HEAD} hex characters)")
    return value


def passes_through(session: Session, hash_or_prefix: str) -> Head | None:
    """The event with this hash, if the chain still holds one. With `verify` holding, the
    chain from the first event runs through it: nothing before it was rewritten, and it was
    not removed from the end."""
    wanted = check_head(hash_or_prefix)
    found = session.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.occurred_at)
                            .where(AuditEvent.hash.like(f"{wanted}%"))
                            .order_by(AuditEvent.id).limit(2)).all()
    if len(found) != 1:
        return None
    return Head(found[0].id, found[0].hash, as_utc(found[0].occurred_at))
