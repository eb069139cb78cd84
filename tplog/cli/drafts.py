"""A guided entry cut short (Ctrl-C, Ctrl-D, a closed terminal) is kept as a draft, so that
the points already answered are not typed again: the next `tplog log MRN` offers to resume it.

A draft is one private file (0600, in a 0700 folder) in tplog's data folder, named by a
digest of the database and the MRN (never the MRN or a server URL in a file name). It is
removed when the visit is saved, when the practitioner declines to resume it, or when it
cannot be read. It holds what was typed and nothing else; every value is read back through
the same checks as when it was typed, so an edited draft cannot put in what entry refuses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tplog.errors import BadInput
from tplog.points import FIELDS, Point, from_values, values

# A draft is a few kilobytes; anything larger was not written by tplog.
MAX_DRAFT_BYTES = 1 << 20
FORMAT = 1


@dataclass
class Draft:
    """What guided entry has asked so far; filled in as the answers come."""

    visit_date: dt.date | None = None
    conditions: list[str] | None = None
    points: list[Point] = field(default_factory=list)
    note: str | None = None
    kept_at: dt.datetime | None = None
    procedure: Any = None  # tplog.procedure.Procedure, asked again on resuming: not kept

    @property
    def started(self) -> bool:
        return bool(self.points) or self.conditions is not None

    def describe(self) -> str:
        when = f" dated {self.visit_date.isoformat()}" if self.visit_date else ""
        kept = f", kept {self.kept_at:%Y-%m-%d %H:%M}" if self.kept_at else ""
        sites = ", ".join(p.site for p in self.points) or "no point yet"
        return f"a visit{when} with {len(self.points)} point(s) ({sites}){kept}"


def folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("tplog", appauthor=False)) / "drafts"


def _path(database_url: str, mrn: str) -> Path:
    digest = hashlib.sha256(f"{database_url}\n{mrn}".encode()).hexdigest()[:32]
    return folder() / f"{digest}.json"


def keep(database_url: str, mrn: str, draft: Draft) -> Path:
    """Write the draft (replacing an earlier one for the same patient and database)."""
    from tplog import files

    where = _path(database_url, mrn)
    where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = {
        "format": FORMAT, "mrn": mrn,
        "kept_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "visit_date": draft.visit_date.isoformat() if draft.visit_date else None,
        "conditions": draft.conditions, "note": draft.note,
        "points": [values(p) for p in draft.points],
    }
    with files.written_whole(where, what="draft") as out:
        out.write(json.dumps(document, indent=1))
    return where


def discard(database_url: str, mrn: str) -> None:
    _path(database_url, mrn).unlink(missing_ok=True)


def find(database_url: str, mrn: str) -> Draft | None:
    """The patient's draft in this database, or None. A draft that cannot be read back (a
    bad value, another format) raises BadInput naming why; the caller removes it."""
    where = _path(database_url, mrn)
    if not where.is_file() or where.is_symlink():
        return None
    if where.stat().st_size > MAX_DRAFT_BYTES:
        raise BadInput("the draft is larger than tplog writes")
    try:
        document = json.loads(where.read_text(encoding="utf-8"))
    except (ValueError, UnicodeError):
        raise BadInput("the draft is not tplog's JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT \
            or document.get("mrn") != mrn:
        raise BadInput("the draft is not one tplog wrote for this patient")
    return _read(document)


def _read(document: dict[str, Any]) -> Draft:
    from tplog.cli.guided import read_conditions
    from tplog.parse import clean_text, parse_date

    def text_of(value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise BadInput(f"the draft's {what} is not text")
        return value

    draft = Draft()
    if document.get("visit_date") is not None:
        draft.visit_date = parse_date(text_of(document["visit_date"], "date"), "date")
    if document.get("conditions") is not None:
        listed = document["conditions"]
        if not isinstance(listed, list):
            raise BadInput("the draft's conditions are not a list")
        draft.conditions = read_conditions(
            ", ".join(text_of(c, "condition") for c in listed) or "-")
    if document.get("note") is not None:
        draft.note = clean_text(text_of(document["note"], "note"), "note")
    points = document.get("points") or []
    if not isinstance(points, list):
        raise BadInput("the draft's points are not a list")
    draft.points = [_point(p) for p in points]
    if isinstance(document.get("kept_at"), str):
        try:
            draft.kept_at = dt.datetime.fromisoformat(document["kept_at"])
        except ValueError:
            raise BadInput("the draft's time is not a time") from None
    return draft


def _point(found: Any) -> Point:
    """A point read back as a CSV row is: each finding through its field's own reader."""
    from tplog.points import as_text, check

    if not isinstance(found, dict):
        raise BadInput("a point in the draft is not a record")
    read: dict[str, Any] = {}
    for each in FIELDS:
        value = found.get(each.name)
        if value is None:
            if each.required:
                raise BadInput(f"a point in the draft has no {each.label}")
            read[each.name] = None
            continue
        if not isinstance(value, str | int | float | bool):
            raise BadInput(f"a point's {each.label} in the draft is not a value")
        read[each.name] = each.read(as_text(value, ""), each.label)
    check(read)
    return from_values(read)
