"""The audit trail's chain: digests of the records, and the hash chain of events over them.

Each event's hash covers its own fields, the digest of the record it wrote (a patient, a
weight, a visit revision with its points, conditions and warnings, a void, an addendum, a
follow-up) and the previous event's hash. `verify` walks the chain, recomputes every
record's digest from the tables, and checks that every record was written by an event, so
raw-SQL edits, deletions, insertions and reordering all show up.

A small, stable part of the persistence layer: it works on a Connection with SQLAlchemy Core,
so that migrations (which import no services) can append events with exactly this code, on
the tables as they are at their revision.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table, select, text

from tplog.models import AuditEvent, Base

GENESIS = "0" * 64

# Parts of a revision digested only when it has some, so that the revisions written before
# they existed keep their digests: warnings (revision 0005), ranges of motion (0010), lots
# (0011).
OPTIONAL_PARTS = ("warnings", "range_of_motion", "lots")

# The records an event can vouch for, by table name. Points and conditions are part of their
# revision's digest: a revision is written once, whole.
AUDITED_TABLES = ("patient", "visit_revision", "visit_void", "visit_addendum", "follow_up",
                  "patient_weight", "patient_merge", "patient_screening", "adverse_event",
                  "practitioner")

# A revision's digest covers its visit's own columns (who created the visit, and when) since
# revision 0008, which re-vouched every revision with a `migrated` event; before, a raw edit
# of visit.created_by went unnoticed. `visit_columns=False` gives the digest as it was then.
VISIT_COLUMNS_SINCE = "0008"

# The columns each table had when its records first entered the trail. A column added later
# is left out of a record's digest while it is NULL, so that a record written before the
# column existed keeps the digest it was written with: adding a nullable column never
# invalidates history. (A table new to the trail lists its columns when it is created.)
DIGESTED_FROM_THE_START: Mapping[str, frozenset[str]] = {
    "patient": frozenset({"id", "mrn", "name", "date_of_birth", "sex", "weight_kg",
                          "created_at", "created_by"}),
    "visit_revision": frozenset({"id", "visit_id", "number", "visit_date", "practitioner",
                                 "note", "reason", "created_at", "created_by"}),
    "injected_point": frozenset({"id", "revision_id", "position", "muscle", "side",
                                 "twitch_response", "pain_before", "pain_after", "soreness",
                                 "numbness", "drug", "volume_ml"}),
    "visit_condition": frozenset({"revision_id", "condition"}),
    "visit_warning": frozenset({"id", "revision_id", "kind", "message", "confirmation"}),
    "visit_void": frozenset({"visit_id", "reason", "voided_at", "voided_by", "practitioner"}),
    "visit_addendum": frozenset({"id", "visit_id", "text", "created_at", "created_by",
                                 "practitioner"}),
    "follow_up": frozenset({"id", "visit_id", "pain", "reported_on", "note", "created_at",
                            "created_by", "practitioner"}),
    "patient_weight": frozenset({"id", "patient_id", "measured_on", "weight_kg", "created_at",
                                 "created_by"}),
    # Revision 0009 (patient.merged_into is a later column of patient: digested once set).
    "patient_merge": frozenset({"from_patient_id", "into_patient_id", "reason", "merged_at",
                                "merged_by", "practitioner"}),
    # Revision 0010: part of its revision's digest, as the points are.
    "range_of_motion": frozenset({"id", "revision_id", "position", "movement", "side",
                                  "value_before", "value_after"}),
    # Revision 0013. (The PEG and PGIC columns it adds to visit_revision and follow_up are
    # later columns: digested once set, so records written before keep their digests.)
    "practitioner": frozenset({"id", "name", "credentials", "npi", "created_at",
                               "created_by"}),
    # Revision 0011 (injected_point.injectate is a later column of the point: digested once
    # set). A revision's lots are part of its digest, like its points.
    "injectate_lot": frozenset({"id", "revision_id", "drug", "lot", "expiry"}),
    # Revision 0012 (visit_revision.pregnant is a later column: digested once set).
    "patient_screening": frozenset({"id", "patient_id", "kind", "status", "substance",
                                    "reaction", "effective_on", "note", "closes",
                                    "created_at", "created_by", "practitioner"}),
    "adverse_event": frozenset({"id", "visit_id", "kind", "severity", "occurred_on",
                                "outcome", "note", "created_at", "created_by",
                                "practitioner"}),
}


def canonical(table: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A record's fields as digested: a later column only when it holds a value."""
    original = DIGESTED_FROM_THE_START[table]
    return {name: value for name, value in fields.items()
            if name in original or value is not None}


@dataclass(frozen=True)
class Actor:
    """Who is writing: the OS account and the practitioner it is done for."""

    os_user: str
    practitioner: str


def _canonical(document: Any) -> bytes:
    return _ENCODER.encode(document).encode()


def _plain(value: Any) -> str:
    if isinstance(value, dt.datetime):
        # SQLite keeps no zone, PostgreSQL gives the session's: tplog writes UTC, so compare
        # the same instant whatever the backend hands back.
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot digest {type(value).__name__}")


# json.dumps with these options, made once: dumps builds an encoder on every call, and an
# import digests hundreds of thousands of documents.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            default=_plain)


def _sha256(document: Any) -> str:
    return hashlib.sha256(_canonical(document)).hexdigest()


def _rows(connection: Connection, table: Table, ids: list[int] | None, key: Any,
          order: list[Any]) -> Iterator[Any]:
    query = select(table).order_by(*order)
    if ids is None:
        return iter(connection.execute(query, execution_options={"yield_per": 2000}))
    # A batch's ids are nearly always one run: ask for the range (two parameters, not
    # thousands) and keep the ids wanted.
    wanted = set(ids)
    query = query.where(key.between(min(wanted), max(wanted)))
    rows = connection.execute(query, execution_options={"yield_per": 2000})
    return (row for row in rows if getattr(row, key.key) in wanted)


def _simple_digests(connection: Connection, table: Table, key: str,
                    ids: list[int] | None) -> Iterator[tuple[int, str]]:
    names = list(table.c.keys())
    for row in _rows(connection, table, ids, table.c[key], [table.c[key]]):
        fields = dict(zip(names, row, strict=True))
        yield fields[key], _sha256(canonical(table.name, fields))


def _revision_digests(connection: Connection, tables: Mapping[str, Table],
                      ids: list[int] | None, *,
                      visit_columns: bool = True) -> Iterator[tuple[int, str]]:
    """Each revision with its visit's patient, its conditions and its points, streamed in
    revision order and merged in Python (three ordered scans, not a query per revision)."""
    revision, visit = tables["visit_revision"], tables["visit"]
    point, condition = tables["injected_point"], tables["visit_condition"]
    query = (select(revision, visit.c.patient_id,
                    visit.c.created_at.label("visit_created_at"),
                    visit.c.created_by.label("visit_created_by"))
             .join(visit, visit.c.id == revision.c.visit_id).order_by(revision.c.id))
    if ids is not None:
        query = query.where(revision.c.id.between(min(ids), max(ids)))
    wanted = None if ids is None else set(ids)
    revisions = (row for row in connection.execute(query, execution_options={"yield_per": 2000})
                 if wanted is None or row.id in wanted)
    points = _rows(connection, point, ids, point.c.revision_id,
                   [point.c.revision_id, point.c.position, point.c.id])
    conditions = _rows(connection, condition, ids, condition.c.revision_id,
                       [condition.c.revision_id, condition.c.condition])
    # visit_warning arrived with revision 0005; revisions from before have none.
    warning = tables.get("visit_warning")
    warnings = (_rows(connection, warning, ids, warning.c.revision_id,
                      [warning.c.revision_id, warning.c.id])
                if warning is not None else iter(()))
    # range_of_motion arrived with revision 0010.
    motion = tables.get("range_of_motion")
    motions = (_rows(connection, motion, ids, motion.c.revision_id,
                     [motion.c.revision_id, motion.c.position, motion.c.id])
               if motion is not None else iter(()))
    # injectate_lot arrived with revision 0011; revisions from before have none.
    lot = tables.get("injectate_lot")
    lots = (_rows(connection, lot, ids, lot.c.revision_id, [lot.c.revision_id, lot.c.id])
            if lot is not None else iter(()))
    streams = {"points": points, "conditions": conditions, "warnings": warnings,
               "range_of_motion": motions, "lots": lots}
    # Rows to dicts by position (SQLAlchemy's row._mapping costs more than the hashing): a
    # part's fields are its columns but its own id and its revision's.
    parts = {"points": point, "conditions": condition, "warnings": warning,
             "range_of_motion": motion, "lots": lot}
    kept = {name: [(i, column) for i, column in enumerate(table.c.keys())
                   if column not in ("id", "revision_id")]
            for name, table in parts.items() if table is not None}
    revision_names = [*revision.c.keys(), "patient_id"]  # then the visit's two columns
    pending = {name: next(stream, None) for name, stream in streams.items()}
    for row in revisions:
        fields = canonical("visit_revision",
                           dict(zip(revision_names, row[:len(revision_names)], strict=True)))
        fields["patient_id"] = row.patient_id
        if visit_columns:  # since revision 0008 (see VISIT_COLUMNS)
            fields["visit_created_at"] = row.visit_created_at
            fields["visit_created_by"] = row.visit_created_by
        for name, stream in streams.items():
            own = []
            while (item := pending[name]) is not None and item.revision_id <= row.id:
                if item.revision_id == row.id:
                    own.append(canonical(parts[name].name,  # type: ignore[union-attr]
                                         {column: item[i] for i, column in kept[name]}))
                pending[name] = next(stream, None)
            # Only present when there are some: older digests stay as they were written.
            if own or name not in OPTIONAL_PARTS:
                fields[name] = own
        yield row.id, _sha256(fields)


class RevisionDigests:
    """The digests `digests` reads back for revisions with no warnings, from the values just
    written (a bulk import inserts thousands at once; reading them back cost as much as
    writing). Each table's rows are given as tuples of the columns named here; every column
    of the table must be named, so that a column added later fails here rather than giving
    another digest (a test checks imports against `verify`)."""

    def __init__(self, revision: Sequence[str], points: Sequence[str],
                 conditions: Sequence[str], range_of_motion: Sequence[str],
                 lots: Sequence[str]) -> None:
        self._revision = _Fields("visit_revision", revision, ())
        self._points = _Fields("injected_point", points, ("id", "revision_id"))
        self._conditions = _Fields("visit_condition", conditions, ("id", "revision_id"))
        self._motions = _Fields("range_of_motion", range_of_motion, ("id", "revision_id"))
        self._lots = _Fields("injectate_lot", lots, ("id", "revision_id"))
        # The parts in the order `digests` reads them (lots: in the order given, their ids').
        self._point_order = operator.itemgetter(list(points).index("position"))
        self._condition_order = operator.itemgetter(list(conditions).index("condition"))
        self._motion_order = operator.itemgetter(list(range_of_motion).index("position"))
        self._stamps: dict[Any, Any] = {}  # each date and time as digested, worked out once

    def digest(self, revision: Sequence[Any], *, patient_id: int,
               visit_created_at: dt.datetime, visit_created_by: str,
               points: Sequence[Sequence[Any]], conditions: Sequence[Sequence[Any]],
               range_of_motion: Sequence[Sequence[Any]] = (),
               lots: Sequence[Sequence[Any]] = ()) -> str:
        fields = self._revision.of(revision, self._stamps)
        fields["patient_id"] = patient_id
        fields["visit_created_at"] = self._stamp(visit_created_at)
        fields["visit_created_by"] = visit_created_by
        of_point, of_condition = self._points.of, self._conditions.of
        stamps = self._stamps
        fields["points"] = [of_point(point, stamps)
                            for point in sorted(points, key=self._point_order)]
        fields["conditions"] = [of_condition(condition, stamps) for condition in
                                sorted(conditions, key=self._condition_order)]
        # Only present when there are some: older digests stay as they were written.
        if range_of_motion:
            fields["range_of_motion"] = [
                self._motions.of(motion, stamps)
                for motion in sorted(range_of_motion, key=self._motion_order)]
        if lots:
            fields["lots"] = [self._lots.of(lot, stamps) for lot in lots]
        return _sha256(fields)

    def _stamp(self, value: Any) -> Any:
        found = self._stamps.get(value)
        if found is None:
            found = self._stamps[value] = _plain(value)
        return found


class _Fields:
    """A table's rows (tuples of `columns`) as `canonical` gives their fields, with the
    columns `left_out` taken out and dates and times as the digest writes them (the JSON
    encoder would write the same through _plain; done here once per distinct value)."""

    def __init__(self, table: str, columns: Sequence[str], left_out: tuple[str, ...]) -> None:
        every, needed = set(_columns(table, ())), set(_columns(table, left_out))
        if not needed <= set(columns) <= every or len(set(columns)) != len(columns):
            raise ValueError(f"{table}: digested from {sorted(columns)}, but the table has "
                             f"{sorted(every)}")
        original = DIGESTED_FROM_THE_START[table]
        self._columns = tuple(columns)
        self._original = original
        self._left_out = tuple(name for name in left_out if name in columns)
        # Usually every column the table had from the start comes first: then a row whose
        # later columns are all empty is the first columns' fields, by position.
        first = 0
        while first < len(columns) and columns[first] in original:
            first += 1
        self._first = first if all(name not in original for name in columns[first:]) \
            else None
        self._later = len(columns) - first
        self._width = len(columns)
        table_columns = Base.metadata.tables[table].c
        self._dated = tuple(place for place, name in enumerate(columns)
                            if isinstance(table_columns[name].type, Date | DateTime))

    def of(self, values: Sequence[Any], stamps: dict[Any, Any]) -> dict[str, Any]:
        first = self._first
        if first is not None and len(values) == self._width \
                and values[first:].count(None) == self._later:
            # The later values, all None, are left out: zip stops at the first columns.
            fields = dict(zip(self._columns[:first], values, strict=False))
        else:
            original = self._original
            fields = {name: value for name, value in zip(self._columns, values, strict=True)
                      if name in original or value is not None}
        for name in self._left_out:
            del fields[name]
        for place in self._dated:
            value = values[place]
            if value is not None and (name := self._columns[place]) in fields:
                stamp = stamps.get(value)
                if stamp is None:
                    stamp = stamps[value] = _plain(value)
                fields[name] = stamp
        return fields


@functools.cache
def _columns(table: str, left_out: tuple[str, ...]) -> tuple[str, ...]:
    """A model table's columns, in order, but those left out. Asked for every revision an
    import writes: walking SQLAlchemy's column collection each time cost more than hashing."""
    return tuple(c.key for c in Base.metadata.tables[table].c if c.key not in left_out)


def digests(connection: Connection, table: str, ids: list[int] | None = None,
            tables: Mapping[str, Table] | None = None, *,
            visit_columns: bool = True) -> Iterator[tuple[int, str]]:
    """(record id, digest) for every record of an audited table, or for the ids given.

    A digest covers every column of the record as the database holds it; `tables` lets a
    migration pass the tables as they are at its revision (reflected) instead of the models.
    A revision that adds or changes a column of an audited table changes every digest, so it
    must append fresh `migrated` events for the records it changed.
    """
    tables = tables if tables is not None else Base.metadata.tables
    if table == "visit_revision":
        return _revision_digests(connection, tables, ids, visit_columns=visit_columns)
    key = {"patient": "id", "visit_void": "visit_id", "visit_addendum": "id",
           "follow_up": "id", "patient_weight": "id",
           "patient_merge": "from_patient_id", "patient_screening": "id",
           "adverse_event": "id", "practitioner": "id"}.get(table)
    if key is None:
        raise ValueError(f"{table} is not audited")
    return _simple_digests(connection, tables[table], key, ids)


def event_hash(fields: dict[str, Any]) -> str:
    """The chain link: the previous hash and every field of this event, id included."""
    return _sha256({name: fields[name] for name in (
        "id", "occurred_at", "os_user", "practitioner", "action", "target", "patient_id",
        "record_table", "record_id", "record_hash", "prev_hash")})


@dataclass(frozen=True)
class NewEvent:
    actor: Actor
    action: str
    target: str
    patient_id: int | None = None
    record: tuple[str, int] | None = None
    record_hash: str | None = None  # the record's digest when the caller has it already


def append_events(connection: Connection, events: list[NewEvent],
                  tables: Mapping[str, Table] | None = None, *,
                  write: Callable[[Connection, Table, list[dict[str, Any]]], None]
                  | None = None) -> list[int]:
    """Append events to the chain, in order; the records' digests are read in one pass per
    table. The caller holds the write lock (tplog.db takes it for every writing command), so
    the last event cannot change underneath. `write` inserts the rows instead of an
    executemany (an import's tens of thousands of events go by COPY on PostgreSQL)."""
    table = (tables or Base.metadata.tables)["audit_event"]
    last = connection.execute(select(table.c.id, table.c.hash)
                              .order_by(table.c.id.desc()).limit(1)).first()
    wanted: dict[str, list[int]] = {}
    for event in events:
        if event.record is not None and event.record_hash is None:
            wanted.setdefault(event.record[0], []).append(event.record[1])
    found = {(name, record_id): digest for name, ids in wanted.items()
             for record_id, digest in digests(connection, name, ids, tables)}
    next_id, previous = (last.id if last else 0) + 1, (last.hash if last else GENESIS)
    now = dt.datetime.now(dt.UTC)
    stamp = _plain(now)  # as event_hash digests it, worked out once for all the events
    rows = []
    for event in events:
        record = event.record
        fields: dict[str, Any] = {
            # Ids are given, not drawn from a sequence, so that the hash can cover them.
            "id": next_id, "occurred_at": stamp, "os_user": event.actor.os_user,
            "practitioner": event.actor.practitioner, "action": event.action,
            "target": event.target, "patient_id": event.patient_id,
            "record_table": record[0] if record else None,
            "record_id": record[1] if record else None,
            "record_hash": (event.record_hash or found[record]) if record else None,
            "prev_hash": previous,
        }
        # The fields event_hash covers, exactly (verify recomputes it from the stored row).
        fields["hash"] = previous = _sha256(fields)
        fields["occurred_at"] = now
        rows.append(fields)
        next_id += 1
    if rows and write is not None:
        write(connection, table, rows)
    elif rows:
        connection.execute(table.insert(), rows)
    return [row["id"] for row in rows]


def holds_records(connection: Connection, *tables: str) -> bool:
    """Whether any of the tables (names a migration gives) holds a row. A migration that
    vouches in the trail for the records already there asks first: a new database has none,
    and reflecting its tables to read them cost a tenth of a second a migration."""
    return any(connection.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first()
               for name in tables)


def append_event(connection: Connection, *, actor: Actor, action: str, target: str,
                 patient_id: int | None = None, record: tuple[str, int] | None = None,
                 tables: Mapping[str, Table] | None = None) -> int:
    """Append one event to the chain."""
    return append_events(connection, [NewEvent(actor, action, target, patient_id, record)],
                         tables)[0]


# --- verification ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    event_id: int | None  # the first event that no longer holds, None for an unaudited record
    message: str


def verify(connection: Connection) -> list[Problem]:
    """Every problem found, first event first (an empty list: the trail holds)."""
    table = AuditEvent.__table__
    problems: list[Problem] = []
    previous = GENESIS
    expected_id = 1
    vouched: dict[tuple[str, int], tuple[int, str, str]] = {}
    events = connection.execute(select(table).order_by(table.c.id),
                                execution_options={"yield_per": 5000})
    for row in events:
        fields = dict(row._mapping)
        label = f"event {row.id} ({row.action}, {row.target})"
        if row.id != expected_id:
            problems.append(Problem(row.id, f"{label}: expected event {expected_id} here; "
                                            "events were deleted or renumbered"))
        if row.prev_hash != previous:
            problems.append(Problem(row.id, f"{label}: does not follow the event before it; "
                                            "the chain was broken (a row deleted, edited or "
                                            "moved)"))
        if event_hash(fields) != row.hash:
            problems.append(Problem(row.id, f"{label}: its contents were changed after it was "
                                            "written"))
        if row.record_table is not None:
            vouched[(row.record_table, row.record_id)] = (row.id, row.record_hash, label)
        previous, expected_id = row.hash, row.id + 1

    for table_name in AUDITED_TABLES:
        for record_id, digest in digests(connection, table_name):
            claim = vouched.pop((table_name, record_id), None)
            if claim is None:
                problems.append(Problem(None, f"{table_name} {record_id} was written outside "
                                              "tplog: no audit event records it"))
            elif claim[1] != digest:
                problems.append(Problem(claim[0], f"{claim[2]}: the {table_name} record it "
                                                  "wrote has been changed since"))
    for (table_name, record_id), (event_id, _, label) in vouched.items():
        problems.append(Problem(event_id, f"{label}: the {table_name} record it wrote "
                                          f"({record_id}) is missing"))
    problems.sort(key=lambda p: (p.event_id is None, p.event_id or 0))
    return problems


