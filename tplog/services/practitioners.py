"""Practitioners as records: who injects, takes a follow-up or signs, with credentials and NPI.

A visit (follow-up, addendum, void) keeps the practitioner's name as written; the record of
that name is its link (revision 0013 says why), so a name is unique and never changed.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tplog.errors import BadInput, Conflict, NotFound, shown
from tplog.models import Practitioner
from tplog.parse import clean_text
from tplog.services import audit
from tplog.services.views import PractitionerView, as_utc


def view(record: Practitioner) -> PractitionerView:
    return PractitionerView(id=record.id, name=record.name, credentials=record.credentials,
                            npi=record.npi, created_at=as_utc(record.created_at))


def check_name(name: str) -> str:
    name = clean_text(name, "practitioner", one_line=True)
    if not name or len(name) > 200:
        raise BadInput(f"practitioner {shown(name)} is not allowed; give 1-200 characters")
    if name.isdigit():
        # --practitioner 3 means practitioner record 3: a name of digits would read as an id.
        raise BadInput(f"practitioner name {shown(name)} is all digits, which reads as a "
                       "practitioner id; give the name")
    return name


def check_credentials(credentials: str | None) -> str | None:
    if credentials is None:
        return None
    text = clean_text(credentials, "credentials", one_line=True)
    if len(text) > 200:
        raise BadInput(f"credentials {shown(text)} are not allowed; give at most 200 "
                       "characters (e.g. \"MD, FAAPMR\")")
    return text or None


def _npi_taken(session: Session, npi: str | None, other_than: int | None = None) -> None:
    if npi is None:
        return
    holder = session.scalar(select(Practitioner).where(Practitioner.npi == npi))
    if holder is not None and holder.id != other_than:
        raise Conflict(f"NPI {npi} is already practitioner {holder.id}'s ({holder.name})")


def add(session: Session, *, name: str, credentials: str | None, npi: str | None,
        actor: audit.Actor) -> PractitionerView:
    """A new practitioner record; a name or NPI already recorded is refused."""
    name = check_name(name)
    existing = session.scalar(select(Practitioner).where(Practitioner.name == name))
    if existing is not None:
        raise Conflict(f"practitioner {shown(name)} is already recorded as practitioner "
                       f"{existing.id}; change credentials or NPI with `tplog practitioner "
                       f"edit {existing.id}`")
    _npi_taken(session, npi)
    return view(_create(session, name, check_credentials(credentials), npi, actor))


def _create(session: Session, name: str, credentials: str | None, npi: str | None,
            actor: audit.Actor) -> Practitioner:
    record = Practitioner(name=name, credentials=credentials, npi=npi,
                          created_at=dt.datetime.now(dt.UTC), created_by=actor.os_user)
    session.add(record)
    session.flush()
    audit.record(session, actor, "practitioner.add", f"practitioner {record.id}",
                 written=("practitioner", record.id))
    return record


def edit(session: Session, which: str, *, credentials: str | None, npi: str | None,
         actor: audit.Actor) -> PractitionerView:
    """Correct a practitioner's credentials or NPI (audited); the name links the records, so
    it stays."""
    record = find(session, which)
    credentials = check_credentials(credentials)
    if credentials is None and npi is None:
        raise BadInput("nothing to change; give --credentials or --npi")
    _npi_taken(session, npi, other_than=record.id)
    if credentials is not None:
        record.credentials = credentials
    if npi is not None:
        record.npi = npi
    session.flush()
    audit.record(session, actor, "practitioner.edit", f"practitioner {record.id}",
                 written=("practitioner", record.id))
    return view(record)


def find(session: Session, which: str) -> Practitioner:
    """A practitioner by id (all digits) or by name (exact, else the one that matches without
    regard to case); NotFound naming the nearest."""
    text = which.strip()
    if text.isdigit():
        record = session.get(Practitioner, int(text))
        if record is None:
            raise NotFound(f"no practitioner with id {text} (see `tplog practitioner list`)")
        return record
    found = _by_name(session, text)
    if found is None:
        raise NotFound(f"no practitioner named {shown(text)}{_near(session, text)} (see "
                       "`tplog practitioner list`)")
    return found


def _by_name(session: Session, name: str) -> Practitioner | None:
    exact = session.scalar(select(Practitioner).where(Practitioner.name == name))
    if exact is not None:
        return exact
    return _named(list(session.scalars(select(Practitioner))), name)


def _named(records: list[Practitioner], name: str) -> Practitioner | None:
    """The record of this name: exactly (as the database's `=` compares), else the only one
    that matches without regard to case."""
    exact = [p for p in records if p.name == name]
    if exact:
        return exact[0]
    # Compared in Python with casefold (SQLite's lower() knows ASCII only); few records.
    folded = [p for p in records if p.name.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def _near(session: Session, name: str) -> str:
    return _near_among(list(session.scalars(select(Practitioner.name))), name)


def _near_among(names: list[str], name: str) -> str:
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""


@dataclass(frozen=True)
class Signing:
    """Who a write is done for: the actor with the practitioner's name as the record spells
    it, and the record (None for a name with no record)."""

    actor: audit.Actor
    practitioner: PractitionerView | None
    near: str = ""  # for a name with no record: the recorded names it may have meant
    records: int = 0  # how many practitioners are recorded


def signing(session: Session, actor: audit.Actor) -> Signing:
    """The actor with its practitioner (--practitioner, TPLOG_PRACTITIONER, the config file's
    or the OS user) resolved: an id (all digits) must be a record's; a name is matched to a
    record exactly or without regard to case and then written as the record spells it. A
    name with no record is written as given, as tplog always has: the record links by name,
    so `practitioner add` later gives that practitioner's earlier visits their credentials
    too, and a clinic that keeps no records works as before."""
    text = actor.practitioner.strip()
    if text.isdigit():
        chosen = find(session, text)
        return Signing(audit.Actor(actor.os_user, chosen.name), view(chosen))
    name = check_name(text)
    # One statement, not four (exact name, any case, near names, count): a clinic keeps few
    # records, and every statement is compiled afresh in each `tplog log` (issue 17).
    records = list(session.scalars(select(Practitioner)))
    record = _named(records, name)
    if record is not None:
        return Signing(audit.Actor(actor.os_user, record.name), view(record))
    return Signing(audit.Actor(actor.os_user, name), None,
                   near=_near_among([p.name for p in records], name), records=len(records))


def list_practitioners(session: Session) -> list[PractitionerView]:
    return [view(p) for p in session.scalars(select(Practitioner).order_by(Practitioner.id))]

