"""Validate what the clinician typed into typed values, before any database is opened.

Everything here is pure: no SQLAlchemy, no printing. A bad value raises BadInput with a
message that names the value and what is allowed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from tplog import vocab
from tplog.clinical import WEIGHT_RANGE_KG
from tplog.errors import BadInput, shown


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


class Pregnancy(StrEnum):
    """Pregnancy status at a visit (reference: part of the pre-procedure screen)."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    """An adverse event's severity: FHIR R4 AdverseEvent.severity's codes (required
    binding, http://terminology.hl7.org/CodeSystem/adverse-event-severity)."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class EventOutcome(StrEnum):
    """An adverse event's outcome: FHIR R4 AdverseEvent.outcome's codes (required binding,
    http://terminology.hl7.org/CodeSystem/adverse-event-outcome; resolvedWithSequelae
    written as the clinic would type it)."""

    RESOLVED = "resolved"
    RECOVERING = "recovering"
    ONGOING = "ongoing"
    RESOLVED_WITH_SEQUELAE = "resolved-with-sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class ScreeningKind(StrEnum):
    """What a pre-procedure screen record says something about."""

    ALLERGY = "allergy"
    ANTICOAGULANT = "anticoagulant"
    BLEEDING_DISORDER = "bleeding-disorder"


class AllergyEnd(StrEnum):
    """How an allergy stops being current: it resolved, or was never true."""

    RESOLVED = "resolved"
    ENTERED_IN_ERROR = "entered-in-error"


class OnOff(StrEnum):
    ON = "on"
    OFF = "off"


class YesNo(StrEnum):
    YES = "yes"
    NO = "no"


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
    PDF = "pdf"


class Paper(StrEnum):
    """The printed summaries' page size (html's @page, pdf's pages)."""

    A4 = "a4"
    LETTER = "letter"


# Control characters: C0 (but tab and newline), DEL and C1. Refused in what is typed: a name
# or note holding them would garble a terminal, a CSV or a letter where it is shown later.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone surrogates: bytes that were not UTF-8 (an argument in another encoding); no database
# can store them as text.
_NOT_TEXT = re.compile("[\ud800-\udfff]")
# Invisible characters that make one name look like another (Trojan Source, CVE-2021-42574):
# bidi overrides and isolates, zero-width space, word joiner, BOM, line/paragraph separators.
# (Zero-width joiners stay: Persian and Indic names need them.)
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")


def clean_text(value: str, what: str, *, one_line: bool = False) -> str:
    """Free text as stored: NFC (one spelling of "é", so searches and digests agree),
    stripped, without control characters (one_line: no newline or tab either)."""
    if _NOT_TEXT.search(value):
        raise BadInput(f"{what} {shown(value)} is not valid UTF-8 text; check the terminal's "
                       "encoding")
    text = unicodedata.normalize("NFC", value)
    # Checked before stripping: a CR or a form feed at either end is refused, not dropped.
    invisible = _INVISIBLE.search(text)
    if invisible is not None:
        raise BadInput(f"{what} {shown(text)} holds an invisible character "
                       f"(U+{ord(invisible.group()):04X}) that can make text look like other "
                       "text; leave it out")
    found = _CONTROL.search(text) or (re.search("[\t\n]", text.strip()) if one_line
                                      else None)
    text = text.strip()
    if found is not None:
        allowed = "" if one_line else " other than newline and tab"
        raise BadInput(f"{what} {shown(text)} holds a control character "
                       f"(U+{ord(found.group()):04X}); no control characters{allowed} "
                       "are allowed")
    return text


# Numbers as typed: ASCII digits only. Python's float() and int() would also take "1_0" and
# other scripts' digits ("١٠"), which a clinician never means and a reviewer cannot read.
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _decimal(value: str) -> float | None:
    text = value.strip()
    return float(text) if _DECIMAL.fullmatch(text) else None


# Reference, "Pain scale": LOINC 72514-3, 0-10 verbal numeric rating, integers only.
PAIN_MIN, PAIN_MAX = 0, 10


def parse_choice(value: str, choices: type[Enum], what: str) -> Any:
    """One of an Enum's values, any case, or a unique start of one (`mod` for moderate, `F`
    for female), else BadInput listing them."""
    wanted = value.strip().lower()
    exact = [c for c in choices if str(c.value) == wanted]
    started = [c for c in choices if wanted and str(c.value).startswith(wanted)]
    found = exact or started
    if len(found) == 1:
        return found[0]
    allowed = "|".join(str(c.value) for c in choices)
    if len(found) > 1:
        raise BadInput(f"{what} {shown(value)} could be "
                       f"{' or '.join(str(c.value) for c in found)}; use {allowed}")
    raise BadInput(f"{what} {shown(value)} is not allowed; use {allowed}")


def parse_side(value: str) -> Side:
    if value.strip().upper() not in ("L", "R"):
        raise BadInput(f"side {shown(value)} is not allowed; use L or R")
    return Side(value.strip().upper())


# YYYY-MM-DD only (date.fromisoformat would also take 20260105 and week dates), ASCII digits.
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Typed relative dates: "-3d", "3d ago", "3 days ago".
_DAYS_AGO = re.compile(r"-([0-9]{1,5}) ?d(?:ays?)?|([0-9]{1,5}) ?d(?:ays?)? ago")
# No record of a living patient is older: an earlier year is a typing slip (0026 for 2026),
# and date arithmetic on it (a year before the visit) would leave the calendar.
EARLIEST_DATE = dt.date(1900, 1, 1)
DATE_FORMS = "YYYY-MM-DD, today, yesterday or -3d (3 days ago)"


def parse_period(since: str | None, until: str | None) -> tuple[dt.date | None, dt.date | None]:
    """--since and --until as dates; a --since after --until (a period with no day in it)
    is refused naming both, not answered with nothing."""
    start = parse_date(since, "--since") if since is not None else None
    end = parse_date(until, "--until") if until is not None else None
    if start is not None and end is not None and start > end:
        raise BadInput(f"--since {start} is after --until {end}; give a --since on or before "
                       "the --until")
    return start, end


def parse_date(value: str, what: str = "date", *, relative: bool = True,
               today: dt.date | None = None) -> dt.date:
    """A date as typed: ISO (YYYY-MM-DD) and, where a person types it (relative), `today`,
    `yesterday`, `-3d` or `3 days ago`. A file's dates (an import) are ISO only."""
    text = value.strip().lower()
    today = today or dt.date.today()
    if relative:
        if text in ("today", "yesterday"):
            return today - dt.timedelta(days=0 if text == "today" else 1)
        ago = _DAYS_AGO.fullmatch(text)
        if ago is not None:
            return _checked_date(today - dt.timedelta(days=int(ago.group(1) or ago.group(2))),
                                 value, what)
    forms = DATE_FORMS if relative else "YYYY-MM-DD"
    iso = _ISO_DATE.fullmatch(text)
    if iso is None:
        raise BadInput(f"{what} {shown(value)} is not a date; use {forms}")
    year, month, day = (int(part) for part in iso.groups())
    if not 1 <= month <= 12:
        raise BadInput(f"{what} {shown(value)} is not a date: there is no month {month}; "
                       f"use {forms}")
    if year < EARLIEST_DATE.year:
        raise BadInput(f"{what} {shown(value)} is before {EARLIEST_DATE}; give the year in "
                       "full")
    length = calendar.monthrange(year, month)[1]
    if not 1 <= day <= length:
        raise BadInput(f"{what} {shown(value)} is not a date: "
                       f"{calendar.month_name[month]} {year} has {length} days")
    return _checked_date(dt.date(year, month, day), value, what)


def _checked_date(day: dt.date, value: str, what: str) -> dt.date:
    if day < EARLIEST_DATE:
        raise BadInput(f"{what} {shown(value)} is before {EARLIEST_DATE}; give the year in "
                       "full")
    return day


_PAIN = {str(n): n for n in range(PAIN_MIN, PAIN_MAX + 1)}
_PAIN.update({f"0{n}": n for n in range(10)})  # "07" is 7, as a spreadsheet may write it


def parse_pain(value: str, what: str) -> int:
    pain = _PAIN.get(value.strip())
    if pain is None:
        raise BadInput(f"{what} {shown(value)} is not allowed; pain is a whole number 0-10")
    return pain


def parse_peg(value: str, what: str = "--peg") -> tuple[int, int, int]:
    """PEG as P,E,G: three whole numbers 0-10 (reference, "Outcome measures that are free to
    use": pain, enjoyment of life, general activity)."""
    items = [item.strip() for item in value.split(",")]
    numbers = [_PAIN.get(item) for item in items]
    if len(items) != 3 or any(n is None for n in numbers):
        raise BadInput(f"{what} {shown(value)} is not allowed; give three whole numbers 0-10 "
                       "as P,E,G (pain, enjoyment of life, general activity), e.g. 6,5,7")
    return numbers[0], numbers[1], numbers[2]  # type: ignore[return-value]


def parse_pgic(value: str, what: str = "--pgic") -> int:
    """PGIC as 1-7 or its words ("much improved", "much-improved"), or a unique start."""
    text = " ".join(value.strip().lower().replace("-", " ").replace("_", " ").split())
    if text in {str(n) for n in vocab.PGIC}:
        return int(text)
    exact = [n for n, words in vocab.PGIC.items() if words == text]
    started = [n for n, words in vocab.PGIC.items() if text and words.startswith(text)]
    found = exact or started
    if len(found) == 1:
        return found[0]
    allowed = ", ".join(f"{n} {words}" for n, words in vocab.PGIC.items())
    if len(found) > 1:
        raise BadInput(f"{what} {shown(value)} could be "
                       f"{' or '.join(repr(vocab.PGIC[n]) for n in found)}; use 1-7 or the "
                       f"words: {allowed}")
    raise BadInput(f"{what} {shown(value)} is not allowed; use 1-7 or the words: {allowed}")


def parse_npi(value: str, what: str = "--npi") -> str:
    """A US NPI: 10 digits, the last its check digit (tplog.clinical.npi_check_digit)."""
    from tplog.clinical import npi_check_digit

    text = value.strip()
    if not re.fullmatch(r"[0-9]{10}", text):
        raise BadInput(f"{what} {shown(value)} is not an NPI; an NPI is 10 digits")
    expected = npi_check_digit(text[:9])
    if int(text[9]) != expected:
        raise BadInput(f"{what} {shown(value)} is not a valid NPI: its check digit is "
                       f"{text[9]}, but the first nine digits give {expected} (Luhn over "
                       "80840 and the first nine)")
    return text


def parse_yes_no(value: str, what: str) -> bool:
    answer = value.strip().lower()
    if answer in ("yes", "y"):
        return True
    if answer in ("no", "n"):
        return False
    raise BadInput(f"{what} {shown(value)} is not allowed; use yes or no")


def _number_above_zero(value: str, most: float) -> float | None:
    number = _decimal(value)
    return number if number is not None and 0 < number <= most else None


def parse_volume(value: str, what: str = "volume") -> float:
    volume = _number_above_zero(value, most=1000)
    # Kept to 0.01 mL: a finer figure would be stored other than typed, and one that rounds
    # to 0 is a slip, not a volume.
    if volume is None or round(volume, 2) != volume or volume < 0.01:
        raise BadInput(f"{what} {shown(value)} is not allowed; give a volume in mL from 0.01 "
                       "to 1000, to 0.01 mL")
    return volume


def parse_weight(value: str) -> float:
    # 2-300 kg: a guard against typing slips (640 for 64.0), not a clinical limit.
    least, most = WEIGHT_RANGE_KG
    weight = _number_above_zero(value, most=most)
    if weight is None or weight < least:
        raise BadInput(f"weight {shown(value)} is not allowed; give kilograms from {least} "
                       f"to {most}")
    return round(weight, 1)


# Ids are the databases' 32-bit integers.
MAX_ID = 2_147_483_647


def parse_visit_id(value: str, what: str = "visit") -> int:
    if (not (value.isascii() and value.isdigit()) or len(value) > 10
            or not 1 <= int(value) <= MAX_ID):
        raise BadInput(f"{what} id {shown(value)} is not allowed; it is a whole number from 1 "
                       f"to {MAX_ID}")
    return int(value)


def check_adverse_event(value: str) -> str:
    """A kind of adverse event (tplog.vocab.ADVERSE_EVENT_KINDS) by key, a common other
    word for it (hematoma, bleeding), or a unique start of a key."""
    wanted = "-".join(value.strip().lower().split())
    wanted = vocab.ADVERSE_EVENT_ALIASES.get(wanted, wanted)
    keys = list(vocab.ADVERSE_EVENT_BY_KEY)
    found = [wanted] if wanted in keys else [k for k in keys if wanted and k.startswith(wanted)]
    if len(found) == 1:
        return found[0]
    raise BadInput(f"adverse event {shown(value)} is not allowed; use {'|'.join(keys)}")


def parse_limit(value: str, what: str = "--limit") -> int:
    """How many rows to show: a whole number from 1 (ASCII digits)."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) == 0:
        raise BadInput(f"{what} {shown(value)} is not allowed; it is a whole number from 1")
    return int(text)


def _known(kind: str, key: str, table: Mapping[str, object], listing: str) -> str:
    if key not in table:
        raise BadInput(vocab.unknown_key_message(kind, key, list(table), listing))
    return key


def check_muscle(key: str) -> str:
    """A muscle's key, also typed with spaces or as its name ("Upper trapezius")."""
    wanted = " ".join(key.strip().lower().split())
    found = vocab.MUSCLE_BY_NAME.get(wanted) or wanted.replace(" ", "-")
    return _known("muscle", found, vocab.MUSCLE_BY_KEY, "muscles")


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
        raise BadInput(f"condition {shown(text)} is not allowed: {condition.note}")
    return key


class Encounter(StrEnum):
    """The 7th character of an injury code such as whiplash's S13.4XX_ (A, D, S)."""

    INITIAL = "initial"
    SUBSEQUENT = "subsequent"
    SEQUELA = "sequela"


def check_region(key: str) -> str:
    return _known("region", key, vocab.REGION_BY_KEY, "muscles")


# --- injectates: mixtures and lots ----------------------------------------------------------

MIXTURE_FORMAT = "KEY:mL+KEY:mL (e.g. lidocaine-1:1+triamcinolone-40:0.5)"


def parse_injectate(text: str, what: str = "drug") -> tuple[tuple[str, float], ...]:
    """A mixture as typed, `lidocaine-1:1+triamcinolone-40:0.5`: each drug's key and its
    volume in mL, in the order given; or BadInput naming the part that is wrong."""
    components: list[tuple[str, float]] = []
    for number, part in enumerate(text.split("+"), start=1):
        part = part.strip()
        if not part:
            raise BadInput(f"{what} {shown(text)} has an empty component (number {number}); "
                           f"expected {MIXTURE_FORMAT}")
        key, colon, volume = part.partition(":")
        if not colon:
            raise BadInput(f"{what} component {shown(part)} has no volume; give each drug as "
                           f"KEY:mL, as in {MIXTURE_FORMAT}")
        drug = check_drug(key.strip().lower())
        if not vocab.DRUG_BY_KEY[drug].injects:
            raise BadInput(f"{what} component {shown(part)}: {drug} injects nothing, so it is "
                           "no part of a mixture")
        if any(drug == earlier for earlier, _ in components):
            raise BadInput(f"{drug} is given twice in {what} {shown(text)}; give each drug "
                           "once with its whole volume")
        components.append((drug, parse_volume(volume.strip(), f"volume of {drug}")))
    return tuple(components)


def mixture_text(components: tuple[tuple[str, float], ...]) -> str:
    """A mixture as tplog stores and shows it: `lidocaine-1:1+triamcinolone-40:0.5`."""
    return "+".join(f"{drug}:{volume:g}" for drug, volume in components)


LOT_FORMAT = "DRUG=LOT:EXPIRY (e.g. lidocaine-1=AB123:2027-05; expiry YYYY-MM or YYYY-MM-DD)"
_LOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9./-]{0,39}", re.ASCII)
_EXPIRY = re.compile(r"([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?", re.ASCII)


@dataclass(frozen=True)
class Lot:
    """A drug's lot number and expiry as printed on the vial (a month, or a date)."""

    drug: str
    lot: str
    expiry: str  # YYYY-MM or YYYY-MM-DD, as given

    @property
    def expires_on(self) -> dt.date:
        """The last day the vial may be used. An expiry that names only a month runs to the
        end of that month (the labelling convention for a month-and-year expiry date; not in
        the clinical reference)."""
        year, month, day = (int(part) if part else None
                            for part in _EXPIRY.fullmatch(self.expiry).groups())  # type: ignore[union-attr]
        assert year is not None and month is not None
        return dt.date(year, month, day or calendar.monthrange(year, month)[1])

    @property
    def text(self) -> str:
        return f"{self.drug}={self.lot}:{self.expiry}"


def parse_lot(text: str, what: str = "--lot") -> Lot:
    """`lidocaine-1=AB123:2027-05`: the drug's key, its lot number, and its expiry."""
    key, equals, rest = text.strip().partition("=")
    lot, colon, expiry = rest.rpartition(":")
    if not equals or not colon or not key.strip():
        raise BadInput(f"{what} {shown(text)} is not understood; expected {LOT_FORMAT}")
    drug = check_drug(key.strip().lower())
    if not vocab.DRUG_BY_KEY[drug].injects:
        raise BadInput(f"{what} {shown(text)}: {drug} injects nothing, so it has no lot")
    lot = lot.strip()
    if not _LOT.fullmatch(lot):
        raise BadInput(f"{what} {shown(text)}: lot {shown(lot)} is not allowed; give 1-40 "
                       "letters, digits, '-', '.' or '/' as printed on the vial, starting "
                       "with a letter or digit")
    expiry = expiry.strip()
    found = _EXPIRY.fullmatch(expiry)
    if found is None:
        raise BadInput(f"{what} {shown(text)}: expiry {shown(expiry)} is not allowed; give "
                       "YYYY-MM or YYYY-MM-DD")
    parse_date(expiry if found.group(3) else f"{expiry}-01", f"{what} expiry",
               relative=False)
    return Lot(drug, lot, expiry)
