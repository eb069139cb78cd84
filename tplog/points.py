"""THE definition of what an injected trigger point holds.

`FIELDS` lists a point's findings once, in order, each with the name it has everywhere (the
attribute, the database column, the JSON key and the CSV column), the words people use for
it, its `KEY=` in a `--point` SPEC and how its text is read. Everything else derives from it:
the SPEC parser below, the CSV header and the import, the `--json` and json-export keys, the
revision diffs, the export's query. Adding an optional finding to a point is: a column in
models.py, an Alembic revision, an entry here, and the presenters that show it specially.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tplog import clinical, vocab
from tplog.errors import BadInput, shown
from tplog.parse import (
    Soreness,
    check_drug,
    check_muscle,
    parse_choice,
    parse_pain,
    parse_side,
    parse_volume,
    parse_yes_no,
)

# How "not recorded" is shown to people, everywhere (JSON says null, CSV an empty cell).
NOT_RECORDED = "—"


@dataclass(frozen=True)
class Point:
    """One injected trigger point. None means "not recorded", never "no" or "none"."""

    muscle: str
    side: str  # "L" or "R" (parse.Side)
    pain_before: int
    pain_after: int | None = None
    twitch_response: bool | None = None
    soreness: str | None = None  # a parse.Soreness value
    numbness: bool | None = None
    drug: str | None = None
    volume_ml: float | None = None
    taut_band: bool | None = None
    jump_sign: bool | None = None
    referred_pain: bool | None = None
    position: int = 0  # its order in the visit, from 1 (0 until the visit is saved)

    @property
    def muscle_name(self) -> str:
        return vocab.MUSCLE_BY_KEY[self.muscle].name

    @property
    def region(self) -> str:
        return vocab.MUSCLE_BY_KEY[self.muscle].region

    @property
    def site(self) -> str:
        return f"{self.muscle} {self.side}"

    @property
    def pain_change(self) -> int | None:
        return None if self.pain_after is None else self.pain_after - self.pain_before

    @property
    def percent_reduction(self) -> float | None:
        return clinical.percent_reduction(self.pain_before, self.pain_after)

    @property
    def band(self) -> str | None:
        return clinical.band_of(self.pain_before, self.pain_after)


@dataclass(frozen=True)
class Field:
    name: str  # the attribute, column, JSON key and CSV column
    label: str  # in the clinic's words (revision diffs, questions)
    spec_key: str | None  # KEY= in a --point SPEC; None for MUSCLE:SIDE, which leads it
    read: Callable[[str, str], Any]  # (text, what it is called there) -> value, or BadInput
    yes_no: bool = False  # stored as a boolean
    required: bool = False  # every point has it
    # A sign of the trigger point (reference, "What a trigger point injection visit
    # records": local twitch response, taut band, jump sign, referred pain reproduced):
    # `tplog summary` shows the reduction of mean pain with and without it.
    sign: bool = False


def _soreness(text: str, what: str) -> str:
    return str(parse_choice(text, Soreness, what).value)


FIELDS: tuple[Field, ...] = (
    Field("muscle", "muscle", None, lambda text, what: check_muscle(text.strip().lower()),
          required=True),
    Field("side", "side", None, lambda text, what: parse_side(text).value, required=True),
    # Reference, "Pain scale": 0-10 numeric rating (LOINC 72514-3), whole numbers.
    Field("pain_before", "pain before", "pre", parse_pain, required=True),
    Field("pain_after", "pain after", "post", parse_pain),
    Field("twitch_response", "local twitch response", "twitch", parse_yes_no, yes_no=True,
          sign=True),
    Field("soreness", "soreness", "soreness", _soreness),
    Field("numbness", "numbness", "numbness", parse_yes_no, yes_no=True),
    Field("drug", "drug", "drug", lambda text, what: check_drug(text.strip().lower())),
    Field("volume_ml", "volume (mL)", "ml", parse_volume),
    Field("taut_band", "taut band", "taut", parse_yes_no, yes_no=True, sign=True),
    Field("jump_sign", "jump sign", "jump", parse_yes_no, yes_no=True, sign=True),
    Field("referred_pain", "referred pain reproduced", "referred", parse_yes_no, yes_no=True,
          sign=True),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
SPEC_KEYS = {f.spec_key: f for f in FIELDS if f.spec_key is not None}

SPEC_FORMAT = (
    "MUSCLE:SIDE pre=N [post=N] [twitch=yes|no] [soreness=none|mild|moderate|severe] "
    "[numbness=yes|no] [drug=KEY] [ml=VOLUME] [taut=yes|no] [jump=yes|no] [referred=yes|no]"
)
SIGNS = tuple(f for f in FIELDS if f.sign)


def values(point: Any) -> dict[str, Any]:
    """A point's findings by name, as stored (enums as their values); a Point or anything
    with the fields as attributes (a stored point)."""
    return {name: getattr(getattr(point, name), "value", getattr(point, name))
            for name in NAMES}


def from_record(record: Any, position: int | None = None) -> Point:
    """A point from anything with the fields as attributes (a row, a stored point)."""
    return Point(position=record.position if position is None else position,
                 **{name: getattr(record, name) for name in NAMES})


def from_values(found: Mapping[str, Any], position: int = 0) -> Point:
    fields: dict[str, Any] = {name: found.get(name) for name in NAMES}
    return Point(position=position, **fields)


def check(found: Mapping[str, Any]) -> None:
    """THE rules that hold between a point's findings (each read already), or BadInput.
    `tplog log --point` (parse_spec) and `tplog import` (read_cells) both come through here,
    so what one refuses the other refuses, in the same words; guided entry does not ask for
    a volume where one is not allowed."""
    drug, volume = found.get("drug"), found.get("volume_ml")
    if drug is not None and volume is not None and not vocab.DRUG_BY_KEY[drug].injects:
        raise BadInput(f"a volume ({volume:g} mL) is not allowed with {drug}: dry needling "
                       "injects nothing")


def read_cells(cells: Sequence[str]) -> dict[str, Any]:
    """A point's findings from its cells, one per field in FIELDS order (a CSV row): an empty
    cell is not recorded; a bad one, or findings that do not go together (check), raise
    BadInput naming the column."""
    found = {}
    for field, cell in zip(FIELDS, cells, strict=True):
        text = cell.strip()
        found[field.name] = (field.read(text, field.name) if text or field.required
                             else None)
    check(found)
    return found


def as_text(value: object, unrecorded: str = NOT_RECORDED) -> str:
    """A finding as people write it: yes/no, 1.5 not 1.50, `unrecorded` for None."""
    if value is None:
        return unrecorded
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(getattr(value, "value", value))  # an Enum's value


def parse_spec(spec: str, *, default_drug: str | None = None,
               default_volume_ml: float | None = None) -> Point:
    """One `--point` SPEC; the visit's --drug/--ml fill what the point leaves out."""
    if not spec.split():
        raise BadInput(f"empty point; expected {SPEC_FORMAT}")
    # The muscle is everything before the colon: "upper trapezius:L" and the muscle's name
    # ("Upper trapezius:L") are read as its key.
    muscle, colon, rest = spec.partition(":")
    if not colon or "=" in muscle:
        raise BadInput(f"point {shown(spec)} has no side; start it with MUSCLE:L or MUSCLE:R")
    side, *findings = rest.split() or [""]
    found: dict[str, Any] = {"muscle": FIELD_BY_NAME["muscle"].read(muscle, "muscle"),
                             "side": FIELD_BY_NAME["side"].read(side, "side")}
    texts: dict[Field, str] = {}
    for finding in findings:
        key, equals, text = finding.partition("=")
        field = SPEC_KEYS.get(key.lower())
        if not equals or field is None:
            raise BadInput(f"{shown(finding)} in point {shown(spec)} is not understood; "
                           f"expected {', '.join(k + '=' for k in SPEC_KEYS)}")
        if field in texts:
            raise BadInput(f"{key.lower()}= is given twice in point {shown(spec)}")
        texts[field] = text
    if FIELD_BY_NAME["pain_before"] not in texts:
        raise BadInput(f"point {shown(spec)} has no pain before; add pre=N (0-10)")
    # The drug and volume first: what is said of them depends on each other.
    ordered = sorted(texts, key=lambda f: f.name not in ("drug", "volume_ml"))
    for field in ordered:
        found[field.name] = field.read(texts[field], field.spec_key or field.name)
    named_drug = "drug" in found
    drug = found.setdefault("drug", default_drug)
    dry = drug is not None and not vocab.DRUG_BY_KEY[drug].injects
    if "volume_ml" not in found:
        # The visit's --ml is for the points that inject something.
        found["volume_ml"] = None if named_drug and dry else default_volume_ml
    check(found)
    return from_values(found)


# In `visit amend --set N KEY=VALUE`: KEY=- clears an optional finding (not recorded).
CLEARED = "-"


def changed(point: Point, changes: str) -> Point:
    """The point with some findings changed: `post=3 ml=2` (a SPEC's KEY=VALUE, and muscle=
    and side=); `post=-` makes an optional finding not recorded. The point's other findings,
    its drug and volume included, stay as they were."""
    found = values(point)
    fields = {**{f.name: f for f in FIELDS if f.spec_key is None}, **SPEC_KEYS}
    words = changes.split()
    if not words:
        raise BadInput(f"no change given; expected KEY=VALUE with KEY one of "
                       f"{', '.join(fields)}")
    seen = set()
    for word in words:
        key, equals, text = word.partition("=")
        field = fields.get(key.lower())
        if not equals or field is None:
            raise BadInput(f"{shown(word)} is not understood; expected KEY=VALUE with KEY one "
                           f"of {', '.join(fields)}")
        if field.name in seen:
            raise BadInput(f"{key.lower()}= is given twice in {shown(changes)}")
        seen.add(field.name)
        if text == CLEARED:
            if field.required:
                raise BadInput(f"{field.label} cannot be cleared: every point has one")
            found[field.name] = None
        else:
            found[field.name] = field.read(text, key.lower())
    check(found)
    return from_values(found, position=point.position)


def parse_specs(specs: list[str], *, default_drug: str | None = None,
                default_volume_ml: float | None = None) -> list[Point]:
    """All of a visit's points, or BadInput naming the first bad one: then none is saved."""
    if not specs:
        raise BadInput(f"a visit needs at least one --point {SPEC_FORMAT!r}")
    found = []
    for number, spec in enumerate(specs, start=1):
        try:
            found.append(parse_spec(spec, default_drug=default_drug,
                                    default_volume_ml=default_volume_ml))
        except BadInput as error:
            raise BadInput(f"point {number}: {error.message}") from None
    return found
