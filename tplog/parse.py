"""Validate what the clinician typed into typed values, before any database is opened.

Everything here is pure: no SQLAlchemy, no printing. A bad value raises BadInput with a
message that names the value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from tplog import vocab
from tplog.clinical import WEIGHT_RANGE_KG
from tplog.errors import BadInput


class Side(StrEnum):
    LEFT = "L"
    RIGHT = "R"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Soreness(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class GroupBy(StrEnum):
    """How `tplog summary --by` groups its figures."""

    MUSCLE = "muscle"
    REGION = "region"
    CONDITION = "condition"
    PRACTITIONER = "practitioner"
    MONTH = "month"
    DRUG = "drug"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    FHIR = "fhir"
    HTML = "html"
    MD = "md"


# Reference, "Pain scale": LOINC 72514-3, 0-10 verbal numeric rating, integers only.
PAIN_MIN, PAIN_MAX = 0, 10


@dataclass(frozen=True)
class PointEntry:
    """One injected trigger point as entered. None means "not recorded", never "no"."""

    muscle: str
    side: Side
    pain_before: int
    pain_after: int | None = None
    twitch_response: bool | None = None
    soreness: Soreness | None = None
    numbness: bool | None = None
    drug: str | None = None
    volume_ml: float | None = None


SPEC_FORMAT = (
    "MUSCLE:SIDE pre=N [post=N] [twitch=yes|no] [soreness=none|mild|moderate|severe] "
    "[numbness=yes|no] [drug=KEY] [ml=VOLUME]"
)
_SPEC_KEYS = ("pre", "post", "twitch", "soreness", "numbness", "drug", "ml")


def parse_choice(value: str, choices: type[Enum], what: str) -> Any:
    """One of an Enum's values, case-insensitive, or BadInput listing them."""
    try:
        return choices(value.lower())
    except ValueError:
        allowed = "|".join(str(c.value) for c in choices)  # type: ignore[attr-defined]
        raise BadInput(f"{what} {value!r} is not allowed; use {allowed}") from None


def parse_side(value: str) -> Side:
    if value.strip().upper() not in ("L", "R"):
        raise BadInput(f"side {value!r} is not allowed; use L or R")
    return Side(value.strip().upper())


def parse_date(value: str, what: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{what} {value!r} is not a date; use YYYY-MM-DD") from None


_PAIN = {str(n): n for n in range(PAIN_MIN, PAIN_MAX + 1)}
_PAIN.update({f"0{n}": n for n in range(10)})  # "07" is 7, as a spreadsheet may write it


def parse_pain(value: str, what: str) -> int:
    pain = _PAIN.get(value.strip())
    if pain is None:
        raise BadInput(f"{what} {value!r} is not allowed; pain is a whole number 0-10")
    return pain


def parse_yes_no(value: str, what: str) -> bool:
    answer = value.strip().lower()
    if answer in ("yes", "y"):
        return True
    if answer in ("no", "n"):
        return False
    raise BadInput(f"{what} {value!r} is not allowed; use yes or no")


def _number_above_zero(value: str, most: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 < number <= most else None  # also rejects nan and inf


def parse_volume(value: str, what: str = "volume") -> float:
    volume = _number_above_zero(value, most=1000)
    # Kept to 0.01 mL: anything that rounds to 0 is a slip, not a volume.
    if volume is None or round(volume, 2) == 0:
        raise BadInput(f"{what} {value!r} is not allowed; give a volume in mL from 0.01 "
                       "to 1000")
    return round(volume, 2)


def parse_weight(value: str) -> float:
    # 2-300 kg: a guard against typing slips (640 for 64.0), not a clinical limit.
    least, most = WEIGHT_RANGE_KG
    weight = _number_above_zero(value, most=most)
    if weight is None or weight < least:
        raise BadInput(f"weight {value!r} is not allowed; give kilograms from {least} to {most}")
    return round(weight, 1)


def parse_visit_id(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise BadInput(f"visit id {value!r} is not allowed; it is a whole number from 1")
    return int(value)


def _known(kind: str, key: str, table: Mapping[str, object], listing: str) -> str:
    if key not in table:
        raise BadInput(vocab.unknown_key_message(kind, key, list(table), listing))
    return key


def check_muscle(key: str) -> str:
    return _known("muscle", key, vocab.MUSCLE_BY_KEY, "muscles")


def check_drug(key: str) -> str:
    return _known("drug", key, vocab.DRUG_BY_KEY, "drugs")


def check_condition(value: str) -> str:
    """A condition's key, or an ICD-10-CM code of a known condition (`M79.12`)."""
    text = value.strip()
    key = vocab.CONDITION_BY_CODE.get(text.upper()) or text.lower()
    if key not in vocab.CONDITION_BY_KEY:
        raise BadInput(vocab.unknown_key_message("condition", text, list(vocab.CONDITION_BY_KEY),
                                                 "conditions"))
    condition = vocab.CONDITION_BY_KEY[key]
    if not condition.enterable:
        raise BadInput(f"condition {text!r} is not allowed: {condition.note}")
    return key


class Encounter(StrEnum):
    """The 7th character of an injury code such as whiplash's S13.4XX_ (A, D, S)."""

    INITIAL = "initial"
    SUBSEQUENT = "subsequent"
    SEQUELA = "sequela"


def check_region(key: str) -> str:
    return _known("region", key, vocab.REGION_BY_KEY, "muscles")


def parse_point(spec: str, *, default_drug: str | None = None,
                default_volume_ml: float | None = None) -> PointEntry:
    """Parse one `--point` SPEC; the visit's --drug/--ml fill what the point leaves out."""
    words = spec.split()
    if not words:
        raise BadInput(f"empty point; expected {SPEC_FORMAT}")
    site, *findings = words
    muscle, colon, side_text = site.partition(":")
    if not colon:
        raise BadInput(f"point {spec!r} has no side; start it with MUSCLE:L or MUSCLE:R")
    muscle = check_muscle(muscle.lower())
    side = parse_side(side_text)

    values: dict[str, str] = {}
    for finding in findings:
        key, equals, value = finding.partition("=")
        key = key.lower()
        if not equals or key not in _SPEC_KEYS:
            raise BadInput(f"{finding!r} in point {spec!r} is not understood; "
                           f"expected {', '.join(k + '=' for k in _SPEC_KEYS)}")
        if key in values:
            raise BadInput(f"{key}= is given twice in point {spec!r}")
        values[key] = value
    if "pre" not in values:
        raise BadInput(f"point {spec!r} has no pain before; add pre=N (0-10)")

    drug = check_drug(values["drug"].lower()) if "drug" in values else default_drug
    if "ml" in values:
        volume: float | None = parse_volume(values["ml"], "ml")
    elif "drug" in values and not vocab.DRUG_BY_KEY[drug].injects:  # type: ignore[index]
        volume = None  # the visit's --ml is for the points that inject something
    else:
        volume = default_volume_ml
    if drug is not None and not vocab.DRUG_BY_KEY[drug].injects and volume is not None:
        raise BadInput(f"ml={volume:g} is not allowed with {drug}: dry needling injects nothing")
    soreness = values.get("soreness")
    return PointEntry(
        muscle=muscle,
        side=side,
        pain_before=parse_pain(values["pre"], "pre"),
        pain_after=parse_pain(values["post"], "post") if "post" in values else None,
        twitch_response=parse_yes_no(values["twitch"], "twitch") if "twitch" in values else None,
        soreness=parse_choice(soreness, Soreness, "soreness") if soreness is not None else None,
        numbness=parse_yes_no(values["numbness"], "numbness") if "numbness" in values else None,
        drug=drug,
        volume_ml=volume,
    )


def parse_points(specs: list[str], *, default_drug: str | None = None,
                 default_volume_ml: float | None = None) -> list[PointEntry]:
    """All of a visit's points, or BadInput naming the first bad one: then none is saved."""
    if not specs:
        raise BadInput(f"a visit needs at least one --point {SPEC_FORMAT!r}")
    points = []
    for number, spec in enumerate(specs, start=1):
        try:
            points.append(parse_point(spec, default_drug=default_drug,
                                      default_volume_ml=default_volume_ml))
        except BadInput as error:
            raise BadInput(f"point {number}: {error.message}") from None
    return points


def as_text(value: object, unrecorded: str) -> str:
    """A finding as people write it: yes/no, 1.5 not 1.50, `unrecorded` for None."""
    if value is None:
        return unrecorded
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(getattr(value, "value", value))  # an Enum's value
