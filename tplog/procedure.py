"""What a visit records of the procedure itself, beside its points: consent, the time-out,
ultrasound guidance, the needle, aspiration before injecting, and ranges of motion.

Reference, "What a trigger point injection visit records": a procedure note holds consent
(and the time-out), the needle's gauge and length ("22G 1.5\" superficial, 25G when bleeding
risk, 21G 2-3\" deep"), ultrasound guidance and aspiration before injecting. `FIELDS` names
them once (attribute, column, JSON key and CSV column are the same name), as tplog.points
does for a point; None is "not recorded", never "no".

A range of motion is a movement of tplog.vocab.MOVEMENTS, its side where it has one, and
the value before and/or after the injections (degrees; mm for jaw opening). The reference
gives no normal values, so none is shipped, and no LOINC code either (none is verified there).
Pure: no database, no printing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tplog import vocab
from tplog.errors import BadInput, shown
from tplog.parse import parse_choice, parse_side


class Consent(StrEnum):
    NONE = "none"
    VERBAL = "verbal"
    WRITTEN = "written"


# The gauges a needle for injection comes in (the reference names 21G-25G; 18G and 34G
# bound what is made): a guard against typing slips, not a clinical rule.
GAUGE_RANGE = (18, 34)
# Needle lengths, in mm: 5 mm (0.2 in) to 200 mm (8 in); the reference names 1.5" to 3".
LENGTH_RANGE_MM = (5.0, 200.0)
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Procedure:
    """The procedure as a visit revision records it; None: not recorded."""

    consent: str | None = None  # a Consent value
    time_out: bool | None = None
    ultrasound: bool | None = None
    needle_gauge: int | None = None
    needle_length_mm: float | None = None
    aspirated: bool | None = None

    @property
    def needle(self) -> str | None:
        return needle_text(self.needle_gauge, self.needle_length_mm)

    @property
    def recorded(self) -> bool:
        return any(value is not None for value in values(self).values())


@dataclass(frozen=True)
class Field:
    name: str  # the attribute, column, JSON key and CSV column
    label: str  # in the clinic's words (revision diffs, questions, a required field)
    yes_no: bool = False


FIELDS: tuple[Field, ...] = (
    Field("consent", "consent"),
    Field("time_out", "time-out", yes_no=True),
    Field("ultrasound", "ultrasound guidance", yes_no=True),
    Field("needle_gauge", "needle gauge"),
    Field("needle_length_mm", "needle length (mm)"),
    Field("aspirated", "aspirated before injecting", yes_no=True),
)
NAMES = tuple(f.name for f in FIELDS)

# What a clinic may require on every visit (`required.KEY = true` in the config file), and
# the option that gives it. The needle is required as its gauge (a length alone says little).
REQUIRABLE = {"consent": "--consent verbal|written", "time_out": "--time-out",
              "ultrasound": "--ultrasound or --no-ultrasound", "needle": "--needle GAUGE",
              "aspirated": "--aspirated or --no-aspirated"}


NOT_RECORDED = Procedure()  # a visit that documents none of it


def values(record: Any) -> dict[str, Any]:
    """The procedure's fields by name, as stored (an enum as its value)."""
    return {name: getattr(getattr(record, name), "value", getattr(record, name))
            for name in NAMES}


def from_record(record: Any) -> Procedure:
    return Procedure(**values(record))


def missing(procedure: Procedure, required: Iterable[str]) -> list[str]:
    """The required fields the procedure lacks. A required consent must be one given:
    "none" is a visit without consent, which a clinic requiring it does not record."""
    gaps = []
    for key in required:
        if key == "needle":
            absent = procedure.needle_gauge is None
        elif key == "consent":
            absent = procedure.consent in (None, Consent.NONE.value)
        else:
            absent = getattr(procedure, key) is None
        if absent:
            gaps.append(key)
    return gaps


def check_required(procedure: Procedure, required: Iterable[str], where: object) -> None:
    """BadInput, in one line, when the clinic's config requires what the visit lacks."""
    gaps = missing(procedure, sorted(required))
    if gaps:
        raise BadInput(f"this clinic requires {', '.join(gaps)} on every visit ("
                       f"{', '.join('required.' + gap for gap in gaps)} in {where}); give "
                       f"{'; '.join(REQUIRABLE[gap] for gap in gaps)}; nothing was saved")


def parse_consent(text: str, what: str = "--consent") -> str:
    return str(parse_choice(text, Consent, what).value)


_NEEDLE = re.compile(r"([0-9]{1,3})\s*g(?:auge)?(?:\s*[x×]?\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
                     r"\s*(in|inch|inches|\"|”|″|mm))?", re.ASCII | re.IGNORECASE)
NEEDLE_FORMS = 'GAUGE[G] [LENGTH], e.g. "25G 1.5in", "25G 1.5\\"", "22G 38mm" or "25G"'


def parse_needle(text: str, what: str = "--needle") -> tuple[int, float | None]:
    """A needle as written on its hub: gauge, then length in inches or mm (the length is
    kept in mm, to 0.1 mm: 1.5 in is 38.1 mm)."""
    found = _NEEDLE.fullmatch(text.strip())
    if found is None:
        raise BadInput(f"{what} {shown(text)} is not a needle; use {NEEDLE_FORMS}")
    gauge = int(found.group(1))
    least, most = GAUGE_RANGE
    if not least <= gauge <= most:
        raise BadInput(f"{what} {shown(text)}: gauge {gauge}G is not allowed; give "
                       f"{least}G to {most}G")
    if found.group(2) is None:
        return gauge, None
    number = float(found.group(2))
    length = round(number if found.group(3).lower() == "mm" else number * MM_PER_INCH, 1)
    shortest, longest = LENGTH_RANGE_MM
    if not shortest <= length <= longest:
        raise BadInput(f"{what} {shown(text)}: length {length:g} mm is not allowed; give "
                       f"{shortest:g}-{longest:g} mm ({shortest / MM_PER_INCH:.1f}-"
                       f"{longest / MM_PER_INCH:g} in)")
    return gauge, length


def _inches(length_mm: float) -> float | None:
    """The length in inches when it was one (to a quarter inch's precision), else None."""
    inches = round(length_mm / MM_PER_INCH, 2)
    return inches if abs(inches * MM_PER_INCH - length_mm) <= 0.06 else None


def needle_text(gauge: int | None, length_mm: float | None) -> str | None:
    """25G 38.1 mm (1.5 in); 22G 40 mm; 25G (length not recorded)."""
    if gauge is None and length_mm is None:
        return None
    parts = [f"{gauge}G" if gauge is not None else "gauge not recorded"]
    if length_mm is not None:
        inches = _inches(length_mm)
        parts.append(f"{length_mm:g} mm" + (f" ({inches:g} in)" if inches else ""))
    return " ".join(parts)


def needle_spec(gauge: int | None, length_mm: float | None) -> str | None:
    """A needle as `--needle` takes it: 25G 1.5in, 22G 40mm, 25G."""
    if gauge is None:
        return None
    if length_mm is None:
        return f"{gauge}G"
    inches = _inches(length_mm)
    return f"{gauge}G " + (f"{inches:g}in" if inches else f"{length_mm:g}mm")


def lines(procedure: Procedure) -> str | None:
    """The procedure in one line, what was recorded of it (None: nothing was)."""
    if not procedure.recorded:
        return None
    said = []
    if procedure.consent is not None:
        said.append(f"consent {procedure.consent}")
    for name, yes, no in (("time_out", "time-out done", "no time-out"),
                          ("ultrasound", "ultrasound-guided", "no ultrasound"),
                          ("aspirated", "aspirated before injecting", "not aspirated")):
        value = getattr(procedure, name)
        if value is not None:
            said.append(yes if value else no)
    if procedure.needle is not None:
        said.append(f"needle {procedure.needle}")
    return ", ".join(said)


# --- range of motion ------------------------------------------------------------------------

@dataclass(frozen=True)
class Measurement:
    """One range of motion: a movement (and side), before and/or after the injections."""

    movement: str  # a key of vocab.MOVEMENTS
    side: str | None  # "L" or "R" for a sided movement, else None
    value_before: int | None
    value_after: int | None
    position: int = 0

    @property
    def unit(self) -> str:
        return vocab.MOVEMENT_BY_KEY[self.movement].unit

    @property
    def change(self) -> int | None:
        if self.value_before is None or self.value_after is None:
            return None
        return self.value_after - self.value_before

    @property
    def site(self) -> str:
        return self.movement + (f":{self.side}" if self.side else "")


ROM_FORMAT = "MOVEMENT[:L|R] before=N [after=N]"
ROM_NAMES = ("movement", "side", "value_before", "value_after")


def _value(text: str, key: str, movement: vocab.Movement, spec: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > movement.most:
        raise BadInput(f"{key}={text} in --rom {shown(spec)} is not allowed; give whole "
                       f"{movement.unit} from 0 to {movement.most}")
    return int(text)


def parse_rom(spec: str) -> Measurement:
    """One `--rom`: "cervical-rotation:L before=50 after=70", "jaw-opening before=35"."""
    head, *findings = spec.split() or [""]
    key, colon, side_text = head.partition(":")
    movement = vocab.MOVEMENT_BY_KEY.get(key.strip().lower())
    if movement is None:
        raise BadInput(vocab.unknown_key_message("movement", key, list(vocab.MOVEMENT_BY_KEY),
                                                 "log --help"))
    if movement.sided and not colon:
        raise BadInput(f"--rom {shown(spec)} has no side; {movement.key} is measured left "
                       f"and right: {movement.key}:L or {movement.key}:R")
    if colon and not movement.sided:
        raise BadInput(f"--rom {shown(spec)}: {movement.key} has no side; leave out "
                       f":{side_text}")
    side = parse_side(side_text).value if colon else None
    found: dict[str, int] = {}
    for finding in findings:
        name, equals, text = finding.partition("=")
        if not equals or name.lower() not in ("before", "after"):
            raise BadInput(f"{shown(finding)} in --rom {shown(spec)} is not understood; "
                           f"expected {ROM_FORMAT}")
        if name.lower() in found:
            raise BadInput(f"{name.lower()}= is given twice in --rom {shown(spec)}")
        found[name.lower()] = _value(text, name.lower(), movement, spec)
    if not found:
        raise BadInput(f"--rom {shown(spec)} has no value; give before=N and/or after=N "
                       f"({movement.unit})")
    return Measurement(movement.key, side, found.get("before"), found.get("after"))


def parse_roms(specs: Sequence[str]) -> list[Measurement]:
    """A visit's ranges of motion, each movement and side once, numbered in order."""
    found: list[Measurement] = []
    for number, spec in enumerate(specs, start=1):
        measured = parse_rom(spec)
        if any(m.site == measured.site for m in found):
            raise BadInput(f"--rom {measured.site} is given twice; give each movement and "
                           "side once")
        found.append(Measurement(measured.movement, measured.side, measured.value_before,
                                 measured.value_after, position=number))
    return found


def rom_spec(measured: Measurement) -> str:
    """A measurement as `--rom` takes it (and as the CSV's range_of_motion cell holds it)."""
    values = [f"{name}={value}" for name, value in (("before", measured.value_before),
                                                     ("after", measured.value_after))
              if value is not None]
    return " ".join([measured.site, *values])


def roms_cell(measured: Sequence[Measurement]) -> str:
    return "; ".join(rom_spec(m) for m in measured)


def read_roms_cell(text: str) -> list[Measurement]:
    return parse_roms([part for part in text.split(";") if part.strip()])


def rom_text(measured: Measurement) -> str:
    """Cervical rotation L: 50 → 70 degrees (+20)."""
    name = vocab.MOVEMENT_BY_KEY[measured.movement].name
    side = f" {measured.side}" if measured.side else ""
    before = "—" if measured.value_before is None else str(measured.value_before)
    after = "—" if measured.value_after is None else str(measured.value_after)
    change = "" if measured.change is None else f" ({measured.change:+d})"
    return f"{name}{side}: {before} → {after} {measured.unit}{change}"


def rom_values(measured: Measurement) -> dict[str, Any]:
    return {name: getattr(measured, name) for name in ROM_NAMES}


def rom_from_record(record: Any) -> Measurement:
    return Measurement(record.movement, getattr(record.side, "value", record.side),
                       record.value_before, record.value_after, position=record.position)


def given(consent: str | None, time_out: bool | None, ultrasound: bool | None,
          needle: str | None, aspirated: bool | None) -> dict[str, Any]:
    """The procedure's fields given on the command line, read; those not given are left
    out (not recorded, or on an amendment carried over)."""
    found: dict[str, Any] = {"time_out": time_out, "ultrasound": ultrasound,
                             "aspirated": aspirated}
    if consent is not None:
        found["consent"] = parse_consent(consent)
    if needle is not None:
        found["needle_gauge"], found["needle_length_mm"] = parse_needle(needle)
    return {name: value for name, value in found.items() if value is not None}
