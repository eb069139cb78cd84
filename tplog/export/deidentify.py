"""De-identification of the exported visits (HIPAA Safe Harbor, or shifted dates), applied
on the way out when asked for, and the database's key that shifted dates and FHIR fullUrls are
derived from."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from tplog import clinical
from tplog.errors import DatabaseProblem
from tplog.export.select import Amendment, ExportVisit
from tplog.models import DeidentificationKey

# Safe Harbor (45 CFR 164.514(b)(2)): ages over 89 are aggregated into one category.
OLDEST_AGE_SHOWN = 89
# --shift-dates: each patient's dates go back 1 to this many days (never the true date, never
# into the future).
MOST_DAYS_SHIFTED = 364


class Deidentifier:
    """What `export --deidentify` does to each visit.

    HIPAA Safe Harbor (`key` None, the default): every date reduced to its year, and a random
    research id per patient, new in every export (nothing links two exports).

    Shifted dates (`key`, the database's de-identification key; NOT Safe Harbor): each
    patient's dates go back by a number of days derived from the key and the MRN
    (HMAC-SHA256), and the research id likewise. Both are the same in every export of one
    database, so repeated exports reveal nothing more than one does, and they differ from
    another database's. Random shifts drawn anew per export would not do: each export of a
    visit is a new guess at its date, and enough of them give the date away.

    Either way: no name, MRN, date of birth, practitioner (nor their credentials and NPI) or
    note (nor addenda, follow-up notes, who amended a visit or why, or the findings' words);
    ages over 89 as 90+.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self.shift_dates = key is not None
        self._key = key
        self._ids: dict[str, str] = {}  # MRN -> research id, for this export
        self._taken: set[str] = set()

    def _derived(self, purpose: str, mrn: str) -> bytes:
        assert self._key is not None
        return hmac.new(self._key, f"{purpose}:{mrn}".encode(), hashlib.sha256).digest()

    def _research_id(self, mrn: str) -> str:
        if mrn in self._ids:
            return self._ids[mrn]
        if self._key is None:
            while (candidate := f"R{secrets.token_hex(4).upper()}") in self._taken:
                pass  # drawn again: two patients never share an id in one export
        else:
            # It cannot be drawn again (it must be the same in every export), so it is long:
            # 64 bits, where a million patients share one with odds of 1 in 36 million.
            candidate = "R" + self._derived("research-id", mrn)[:8].hex().upper()
        self._taken.add(candidate)
        self._ids[mrn] = candidate
        return candidate

    def _shift(self, mrn: str) -> dt.timedelta:
        days = int.from_bytes(self._derived("date-shift", mrn)[:8], "big")
        return dt.timedelta(days=-(1 + days % MOST_DAYS_SHIFTED))

    def _date(self, mrn: str, value: dt.date) -> dt.date:
        if not self.shift_dates:
            return dt.date(value.year, 1, 1)  # shown as the year (ExportVisit.year_only)
        return value + self._shift(mrn)

    def visit(self, visit: ExportVisit) -> ExportVisit:
        age = (None if visit.date_of_birth is None
               else clinical.age_on(visit.date_of_birth, visit.visit_date))
        return replace(
            visit, mrn=self._research_id(visit.mrn), patient_name=None, date_of_birth=None,
            visit_date=self._date(visit.mrn, visit.visit_date), practitioner=None, note=None,
            practitioner_credentials=None, practitioner_npi=None,
            weight_measured_on=None if visit.weight_measured_on is None
            else self._date(visit.mrn, visit.weight_measured_on),
            # An event's date moves as the visit's does; its note and who recorded it go,
            # as the visit's do.
            adverse_events=tuple(replace(e, occurred_on=self._date(visit.mrn, e.occurred_on),
                                         note=None, practitioner="")
                                 for e in visit.adverse_events),
            age_at_visit=None if age is None else ("90+" if age > OLDEST_AGE_SHOWN
                                                   else str(age)),
            year_only=not self.shift_dates, deidentified=True,
            # The rest of the record keeps its clinical content only: pain and relief at each
            # follow-up and how many days after the visit (an interval), that the visit was
            # amended (not when, by whom or why), and the kind of each finding and how it was
            # confirmed (the findings' words name dates, MRNs and visits). Addenda are free
            # text, like the note: left out. A follow-up's date is shifted with the others;
            # under Safe Harbor it is left out, not shown as its year: a visit of 2025 with a
            # follow-up of 2026 six days later fell in the last days of December.
            follow_ups=tuple(replace(f, reported_on=None if f.reported_on is None
                                     or not self.shift_dates
                                     else self._date(visit.mrn, f.reported_on),
                                     note=None, practitioner=None)
                             for f in visit.follow_ups),
            addenda=(),
            # The drugs' lots go too: a lot number names a batch the clinic's supply records
            # tie to its patients, and its expiry is a date with its month (shown neither as
            # the year nor shifted).
            lots=(),
            amendment=None if visit.amendment is None else Amendment(
                visit.amendment.revision, None, None, None),
            warnings=tuple(replace(w, message="") for w in visit.warnings))


def deidentifier(session: Session, *, shift_dates: bool) -> Deidentifier:
    """Safe Harbor, or shifted dates with this database's key (revision 0007 made it)."""
    if not shift_dates:
        return Deidentifier()
    return Deidentifier(_database_key(session, "--shift-dates cannot give the shifts of "
                                               "earlier exports"))


def fhir_namespace(session: Session) -> uuid.UUID:
    """This database's namespace for FHIR fullUrls: derived (HMAC-SHA256, its own purpose)
    from the database's random key that revision 0007 stored once, so it is the same in every
    export of this database, differs from every other database's, and gives nothing of the
    key away (nor, through the fullUrls, of the MRNs)."""
    key = _database_key(session, "FHIR fullUrls cannot be the same as in earlier exports")
    derived = hmac.new(key, b"fhir-namespace", hashlib.sha256).digest()
    return uuid.UUID(bytes=derived[:16], version=4)


def _database_key(session: Session, consequence: str) -> bytes:
    secret = session.scalar(select(DeidentificationKey.secret)
                            .where(DeidentificationKey.id == 1))
    try:
        key = bytes.fromhex(secret or "")
    except ValueError:
        key = b""
    if len(key) != 32:
        raise DatabaseProblem(f"this database's de-identification key is missing or damaged, "
                              f"so {consequence}; restore the database from a backup")
    return key
