"""THE definition of what an injected trigger point holds.

`FIELDS` lists a point's findings once, in order, each with the name it has everywhere (the
attribute, the database column, the JSON key and the CSV column), the words people use for
it, its `KEY=` in a `--point` SPEC and how its text is read. Everything else derives from it:
the SPEC parser below, the CSV header and the import, the `--json` and json-export keys, the
revision diffs, the export's query. Adding an optional finding to a point is: a column in
models.py, an Alembic revision, an entry here, and the presenters that show it specially.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tplog import clinical, vocab
from tplog.errors import BadInput, shown
from tplog.parse import (
    Soreness,
    check_drug,
    check_muscle,
    mixture_text,
    parse_choice,
    parse_injectate,
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
    # A mixture, `lidocaine-1:1+triamcinolone-40:0.5` (parse.mixture_text): then drug and
    # volume_ml are None, each drug's volume being in it.
    injectate: str | None = None
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

    @property
    def doses(self) -> list[tuple[str | None, float | None]]:
        """What it injected, drug by drug: (drug key, mL) for each part of its mixture, or
        its one drug and volume."""
        return clinical.injected(self.drug, self.volume_ml, self.injectate)

    @property
    def injectate_text(self) -> str:
        """Its drug and volume as people read them: `lidocaine-1 1 mL`, or the mixture's
        drugs each with its mL (`lidocaine-1 1 mL + triamcinolone-40 0.5 mL`)."""
        if self.injectate:
            return " + ".join(f"{drug} {volume:g} mL" for drug, volume in self.doses
                              if volume is not None)
        drug = self.drug or NOT_RECORDED
        return drug if self.volume_ml is None else f"{drug} {self.volume_ml:g} mL"


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


def _mixture(text: str, what: str) -> str:
    return mixture_text(parse_injectate(text, what))


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
    # Not typed as its own KEY=: `drug=` takes a mixture (or a named one) and fills it.
    Field("injectate", "mixture", None, _mixture),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
SPEC_KEYS = {f.spec_key: f for f in FIELDS if f.spec_key is not None}
# The fields that lead a SPEC (MUSCLE:SIDE), which `visit amend --set` names as muscle= side=.
LEADING = {f.name: f for f in FIELDS if f.required and f.spec_key is None}

SPEC_FORMAT = (
    "MUSCLE:SIDE pre=N [post=N] [twitch=yes|no] [soreness=none|mild|moderate|severe] "
    "[numbness=yes|no] [drug=KEY|KEY:mL+KEY:mL|MIXTURE] [ml=VOLUME] [taut=yes|no] "
    "[jump=yes|no] [referred=yes|no]"
)
SIGNS = tuple(f for f in FIELDS if f.sign)


def read_drug(text: str, what: str, mixtures: Mapping[str, str]
              ) -> tuple[str | None, str | None, float | None]:
    """`drug=` as typed: (drug, mixture, volume). A drug's key (`lidocaine-1`); a mixture of
    drugs each with its mL (`lidocaine-1:1+triamcinolone-40:0.5`); a mixture named in the
    config file ([mixtures]); or one drug with its mL (`lidocaine-1:1`, the same as
    `drug=lidocaine-1 ml=1`)."""
    typed = text.strip().lower()
    text = mixtures.get(typed, text)
    if ":" not in text and "+" not in text:
        return check_drug(typed), None, None
    components = parse_injectate(text, what)
    if len(components) == 1:
        return components[0][0], None, components[0][1]
    return None, mixture_text(components), None


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
    `tplog log --point` (parse_spec) and `tplog import` (CellReader) both come through here,
    so what one refuses the other refuses, in the same words; guided entry does not ask for
    a volume where one is not allowed."""
    drug, volume = found.get("drug"), found.get("volume_ml")
    injectate = found.get("injectate")
    if injectate is not None and drug is not None:
        raise BadInput(f"a point has one drug ({drug}) or a mixture ({injectate}), not both")
    if injectate is not None and volume is not None:
        raise BadInput(f"ml={volume:g} is not used with a mixture ({injectate}): each drug's "
                       "volume is given in it (drug=KEY:mL+KEY:mL)")
    if drug is not None and volume is not None and not vocab.DRUG_BY_KEY[drug].injects:
        raise BadInput(f"a volume ({volume:g} mL) is not allowed with {drug}: dry needling "
                       "injects nothing")


class CellReader:
    """A CSV file's points, each from its cells (one per field in FIELDS order; an empty cell
    is not recorded; a bad one, or findings that do not go together (check), raise BadInput
    naming the column), its findings as a tuple in FIELDS order. Each distinct
    cell is read once (a file of a million points holds a few hundred distinct cells a
    column, and every reader is a pure function of the text), and each distinct drug, volume
    and mixture once checked. A bad cell is not remembered, so it is refused, in the same
    words, on every row that has it."""

    def __init__(self) -> None:
        self._known = tuple(_Known(field) for field in FIELDS)
        # What check looks at: the drug, the volume and the mixture.
        self._dose = operator.itemgetter(*(NAMES.index(name) for name in _DOSE))
        self._checked: set[tuple[Any, ...]] = set()

    def read(self, cells: Sequence[str]) -> tuple[Any, ...]:
        if len(cells) != len(FIELDS):
            raise ValueError(f"{len(cells)} cells for {len(FIELDS)} findings")
        # Field by field, in order: the first bad cell is the one refused.
        values = tuple(map(dict.__getitem__, self._known, cells))
        dose = self._dose(values)
        if dose not in self._checked:
            check(dict(zip(_DOSE, dose, strict=True)))
            self._checked.add(dose)
        return values


_DOSE = ("drug", "volume_ml", "injectate")


class _Known(dict[str, Any]):
    """One field's cells read so far; a cell not met yet is read (dict calls __missing__)."""

    def __init__(self, field: Field) -> None:
        super().__init__()
        self.field = field

    def __missing__(self, cell: str) -> Any:
        field, text = self.field, cell.strip()
        value = self[cell] = field.read(text, field.name) if text or field.required else None
        return value


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
               default_volume_ml: float | None = None,
               mixtures: Mapping[str, str] | None = None) -> Point:
    """One `--point` SPEC; the visit's --drug/--ml fill what the point leaves out;
    `mixtures`: the config file's named mixtures, which `drug=` may name."""
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
    # The volume before the drug: a drug given with its mL (KEY:mL) then finds ml= given too.
    ordered = sorted(texts, key=lambda f: {"volume_ml": 0, "drug": 1}.get(f.name, 2))
    for field in ordered:
        if field.name == "drug":
            _read_drug(found, texts[field], mixtures or {})
        else:
            found[field.name] = field.read(texts[field], field.spec_key or field.name)
    named_drug = "drug" in found
    drug = found.setdefault("drug", default_drug)
    dry = drug is not None and not vocab.DRUG_BY_KEY[drug].injects
    if "volume_ml" not in found:
        # The visit's --ml is for the points that inject one drug; a mixture has its own.
        found["volume_ml"] = (None if named_drug and dry or found.get("injectate")
                              else default_volume_ml)
    check(found)
    return from_values(found)


def _read_drug(found: dict[str, Any], text: str, mixtures: Mapping[str, str]) -> None:
    """`drug=` into the point's findings: its drug or its mixture (the other is cleared), and
    the volume a one-drug `KEY:mL` gives (refused if ml= gives it too)."""
    drug, injectate, volume = read_drug(text, "drug", mixtures)
    found["drug"], found["injectate"] = drug, injectate
    if volume is not None:
        if found.get("volume_ml") is not None:
            raise BadInput(f"the volume is given twice (drug={text} and ml="
                           f"{found['volume_ml']:g}); give it once")
        found["volume_ml"] = volume
    elif injectate is not None:
        found.setdefault("volume_ml", None)


# In `visit amend --set N KEY=VALUE`: KEY=- clears an optional finding (not recorded).
CLEARED = "-"


def changed(point: Point, changes: str, mixtures: Mapping[str, str] | None = None) -> Point:
    """The point with some findings changed: `post=3 ml=2` (a SPEC's KEY=VALUE, and muscle=
    and side=); `post=-` makes an optional finding not recorded. The point's other findings,
    its drug and volume included, stay as they were."""
    found = values(point)
    fields = {**LEADING, **SPEC_KEYS}
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
            if field.name == "drug":
                found["injectate"] = None  # drug=- : no drug nor mixture recorded
        elif field.name == "drug":
            brings_volume = (":" in text or "+" in text
                             or text.strip().lower() in (mixtures or {}))
            if brings_volume and "volume_ml" not in seen:
                found["volume_ml"] = None  # the mixture's, or KEY:mL's, replaces the old
            _read_drug(found, text, mixtures or {})
        else:
            found[field.name] = field.read(text, key.lower())
    check(found)
    return from_values(found, position=point.position)


def parse_specs(specs: list[str], *, default_drug: str | None = None,
                default_volume_ml: float | None = None,
                mixtures: Mapping[str, str] | None = None) -> list[Point]:
    """All of a visit's points, or BadInput naming the first bad one: then none is saved."""
    if not specs:
        raise BadInput(f"a visit needs at least one --point {SPEC_FORMAT!r}")
    found = []
    for number, spec in enumerate(specs, start=1):
        try:
            found.append(parse_spec(spec, default_drug=default_drug,
                                    default_volume_ml=default_volume_ml, mixtures=mixtures))
        except BadInput as error:
            raise BadInput(f"point {number}: {error.message}") from None
    return found
