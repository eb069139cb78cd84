"""The settings file: config.toml in the user's config folder (or TPLOG_CONFIG).

```toml
practitioner = "Dr Lee"            # who injects, when --practitioner is not given
database = "~/clinic/tplog.db"     # when neither --db nor TPLOG_DB is given
default_drug = "lidocaine-1"       # for points that name no drug, when --drug is not given
default_ml = 1.0                   # for points that give no volume, when --ml is not given

[checks]
reinjection_days = 14              # same muscle and side again within this many days: flag
sessions_per_year = 3              # more sessions than this in a rolling 12 months: flag
visit_years_back = 2               # a visit dated further back asks for confirmation
cpt_sides_count_separately = true  # left and right of a muscle are two muscles for CPT
repeat_relief_percent = 50         # a site injected again needs the earlier visit's follow-ups
repeat_relief_days = 42            #   to show this much relief lasting this long, else a flag

[required]                         # what every visit must record, else it is refused
consent = true                     #   (also time_out, ultrasound, needle, aspirated)

[followup]
due_days = 14                      # `tplog due`: visits this many days old with no follow-up

[dose_limits.lidocaine]            # also bupivacaine, ropivacaine
mg_per_kg = 4.5
max_mg = 300

[mixtures]                         # named mixtures, for --point 'MUSCLE:SIDE pre=N drug=NAME'
lido-kenalog = "lidocaine-1:1+triamcinolone-40:0.5"

[steroid_limits]                   # mg in a rolling 12 months over which a visit needs
triamcinolone = 200                #   confirmation; none by default (see below)

[fhir]
mrn_system = "https://clinic.example/mrn"  # the clinic's identifier system for its MRNs

[clinic]                           # the letterhead of the html and pdf summaries
name = "Northside Pain Clinic"
address = "12 High Street\nSpringfield"   # lines split at \n
credentials = "MD, FAAPMR"         # the practitioner's, after their name
npi = "1234567893"                 # the practitioner's US NPI (10 digits, Luhn-checked)
paper = "letter"                   # a4 or letter: the pdf's page size
```

The clinical reference gives no cumulative steroid limit, so tplog ships none: the 12-month
totals are shown, and a warning needs confirmation only over a threshold the clinic sets here.

A file that cannot be read, or a key that is unknown or of the wrong kind, is refused with
one line naming the file and the key; nothing is guessed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tplog import vocab
from tplog.clinical import (
    DEFAULT_DOSE_LIMITS,
    REPEAT_RELIEF_DAYS,
    REPEAT_RELIEF_PERCENT,
    DoseLimit,
    Rules,
)
from tplog.errors import BadInput
from tplog.errors import shown as quoted
from tplog.parse import clean_text, mixture_text, parse_injectate
from tplog.procedure import REQUIRABLE

TOP_LEVEL_KEYS = ("practitioner", "database", "default_drug", "default_ml")
NUMBER_KEYS = {"default_ml", "checks.reinjection_days", "checks.sessions_per_year",
               "checks.visit_years_back",
               "checks.repeat_relief_percent", "checks.repeat_relief_days",
               "followup.due_days",
               *(f"dose_limits.{drug}.{name}" for drug in DEFAULT_DOSE_LIMITS
                 for name in ("mg_per_kg", "max_mg")),
               *(f"steroid_limits.{steroid}" for steroid in vocab.STEROIDS)}
REQUIRED_KEYS = tuple(f"required.{name}" for name in REQUIRABLE)
BOOLEAN_KEYS = {"checks.cpt_sides_count_separately", *REQUIRED_KEYS}
CHECK_KEYS = ("checks.reinjection_days", "checks.sessions_per_year", "checks.visit_years_back",
              "checks.cpt_sides_count_separately", "checks.repeat_relief_percent",
              "checks.repeat_relief_days")
FOLLOWUP_KEYS = ("followup.due_days",)
FHIR_KEYS = ("fhir.mrn_system",)
CLINIC_KEYS = ("clinic.name", "clinic.address", "clinic.credentials", "clinic.npi",
               "clinic.paper")
SETTABLE_KEYS = (*TOP_LEVEL_KEYS, *CHECK_KEYS, *REQUIRED_KEYS, *FOLLOWUP_KEYS,
                 *sorted(k for k in NUMBER_KEYS if k.startswith("dose_limits.")),
                 *sorted(k for k in NUMBER_KEYS if k.startswith("steroid_limits.")),
                 *FHIR_KEYS, *CLINIC_KEYS)
PAPER_SIZES = ("a4", "letter")
# A named mixture: a key as the drugs' are (letters, digits, '-'), not a drug's own key.
MIXTURE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}", re.ASCII)

# Reinjection of the same site within 14 days is flagged (the default); more than 3
# sessions in a rolling 12 months is the Medicare LCD figure (reference: CMS LCD L39661).
DEFAULT_REINJECTION_DAYS = 14
DEFAULT_SESSIONS_PER_YEAR = 3
# A visit dated further back than this asks for confirmation: a typing slip in the year (2024
# for 2026) more often than a record entered so late. Not a clinical figure; the clinic's.
DEFAULT_VISIT_YEARS_BACK = 2
# `tplog due` lists visits this many days old with no follow-up. Two weeks, the reinjection
# interval above: the soreness after injection has passed by then, and the answer (how much
# relief, and whether it lasts) is what the next session's decision needs. The clinic's
# figure, not the reference's.
DEFAULT_FOLLOW_UP_DUE_DAYS = 14


@dataclass(frozen=True)
class Clinic:
    """The letterhead of the printed summaries (html, pdf): all optional."""

    name: str | None = None
    address: str | None = None  # lines split at newlines
    credentials: str | None = None  # the practitioner's, e.g. "MD, FAAPMR"
    npi: str | None = None  # the practitioner's US NPI
    paper: str = "a4"  # the pdf's page size: a4 or letter
    practitioner: str | None = None  # the config's practitioner (Settings.letterhead)


@dataclass(frozen=True)
class Settings:
    path: Path
    practitioner: str | None = None
    database: str | None = None
    default_drug: str | None = None
    default_ml: float | None = None
    reinjection_days: int = DEFAULT_REINJECTION_DAYS
    sessions_per_year: int = DEFAULT_SESSIONS_PER_YEAR
    visit_years_back: int = DEFAULT_VISIT_YEARS_BACK
    cpt_sides_count_separately: bool = True
    repeat_relief_percent: int = REPEAT_RELIEF_PERCENT
    repeat_relief_days: int = REPEAT_RELIEF_DAYS
    follow_up_due_days: int = DEFAULT_FOLLOW_UP_DUE_DAYS
    dose_limits: dict[str, DoseLimit] = field(default_factory=lambda: dict(DEFAULT_DOSE_LIMITS))
    # Named mixtures (name -> KEY:mL+KEY:mL) and steroid thresholds (mg a rolling 12 months).
    mixtures: dict[str, str] = field(default_factory=dict)
    steroid_limits: dict[str, float] = field(default_factory=dict)
    # The FHIR export's identifier system for MRNs; None: `urn:uuid:` of the database's own
    # FHIR namespace (export/fhir.py default_mrn_system), unique to the database.
    fhir_mrn_system: str | None = None
    # What the clinic requires on every visit (tplog.procedure.REQUIRABLE): none by default.
    required: frozenset[str] = frozenset()
    clinic: Clinic = field(default_factory=lambda: Clinic())

    @property
    def letterhead(self) -> Clinic:
        """The clinic's letterhead, with the practitioner of the config when it names one."""
        return Clinic(**{**self.clinic.__dict__, "practitioner": self.practitioner})

    @property
    def rules(self) -> Rules:
        return Rules(dose_limits=self.dose_limits,
                     cpt_sides_count_separately=self.cpt_sides_count_separately,
                     steroid_limits=self.steroid_limits)


def config_path() -> Path:
    if os.environ.get("TPLOG_CONFIG"):
        return Path(os.environ["TPLOG_CONFIG"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("tplog", appauthor=False)) / "config.toml"


def _whole(path: Path, key: str, value: Any, least: int, most: int | None = None) -> int:
    if (isinstance(value, bool) or not isinstance(value, int) or value < least
            or (most is not None and value > most)):
        allowed = f"from {least} to {most}" if most is not None else f"of at least {least}"
        raise BadInput(f"config file {path}: {key} = {value!r} is not allowed; "
                       f"give a whole number {allowed}")
    return value


def _amount(path: Path, key: str, value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not 0 < value < float("inf")):
        raise BadInput(f"config file {path}: {key} = {value!r} is not allowed; "
                       "give a number above 0")
    return float(value)


def _unknown(path: Path, key: str, allowed: list[str]) -> BadInput:
    return BadInput(f"config file {path}: unknown key {key!r}; known keys: "
                    f"{', '.join(allowed)}")


# A settings file is a few lines; anything larger is not one (and is not read whole).
MAX_CONFIG_BYTES = 1 << 20


def read_document(path: Path) -> dict[str, Any]:
    """The config file's TOML; a missing file is empty. A folder, device or pipe there, a
    file over 1 MiB, or TOML nested past reason is refused in one line."""
    import stat

    try:
        found = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise BadInput(f"config file {path} cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(found.st_mode):
        raise BadInput(f"config file {path} is not a regular file; give a TOML file")
    if found.st_size > MAX_CONFIG_BYTES:
        raise BadInput(f"config file {path} is {found.st_size} bytes; a settings file is at "
                       f"most {MAX_CONFIG_BYTES} bytes")
    import tomllib  # only when there is a file to read (about 5 ms of start-up, issue 17)

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"config file {path} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"config file {path} is not valid TOML: {error}") from None
    except RecursionError:
        raise BadInput(f"config file {path} is not a settings file (nested too deeply)") \
            from None


# An absolute URI (RFC 3986: a scheme, ":", then the rest, no spaces); http(s) with a host.
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")
_WEB_URI = re.compile(r"(?i)https?://[^/\s?#]+[^\s]*")


def _mrn_system(path: Path, value: Any) -> str:
    """FHIR Identifier.system is an absolute URI naming the clinic's MRNs."""
    text = value.strip() if isinstance(value, str) else ""
    if (not _ABSOLUTE_URI.fullmatch(text) or len(text) > 500
            or (text.lower().startswith(("http:", "https:")) and not _WEB_URI.fullmatch(text))):
        raise BadInput(f"config file {path}: fhir.mrn_system = {quoted(value)} is not allowed; "
                       "give an absolute URI for the clinic's MRNs, e.g. "
                       "https://clinic.example/mrn or urn:oid:1.2.3.4")
    return text


def npi_ok(npi: str) -> bool:
    """Reference, "Practitioner identity": 10 digits, the last a Luhn check digit over the
    prefix 80840 and the first 9 (CMS NPI check-digit specification)."""
    if not re.fullmatch(r"[0-9]{10}", npi):
        return False
    total = 0
    for i, digit in enumerate(reversed("80840" + npi[:9])):
        doubled = int(digit) * (2 if i % 2 == 0 else 1)
        total += doubled - 9 if doubled > 9 else doubled
    return (10 - total % 10) % 10 == int(npi[9])


def _clinic_value(path: Path, name: str, value: Any) -> str:
    key = f"clinic.{name}"
    if key not in CLINIC_KEYS:
        raise _unknown(path, key, list(CLINIC_KEYS))
    if name == "paper":
        if not isinstance(value, str) or value.strip().lower() not in PAPER_SIZES:
            raise BadInput(f"config file {path}: {key} = {quoted(value)} is not allowed; "
                           f"use {' or '.join(PAPER_SIZES)}")
        return value.strip().lower()
    if name == "npi":
        if not isinstance(value, str | int) or isinstance(value, bool) \
                or not npi_ok(str(value).strip()):
            raise BadInput(f"config file {path}: {key} = {quoted(value)} is not allowed; "
                           "give the 10-digit NPI (its last digit is a check digit)")
        return str(value).strip()
    most = 300 if name == "address" else 200
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= most:
        raise BadInput(f"config file {path}: {key} = {quoted(value)} is not allowed; "
                       f"give text of 1-{most} characters")
    # The address may run over lines; the rest is one line on the letterhead.
    return clean_text(value.replace("\\n", "\n"), key, one_line=name != "address")


def _database_ok(value: str) -> bool:
    """A file path that is not a folder, or a SQLite or PostgreSQL URL (checked when it is
    set, so that a typo does not lock every later command out)."""
    text = value.strip()
    if "://" in text:
        return re.fullmatch(r"(sqlite|postgresql(\+psycopg)?)://\S+", text) is not None
    return not Path(text).expanduser().is_dir()


def load() -> Settings:
    path = config_path()
    return parse(read_document(path), path)


def parse(document: dict[str, Any], path: Path) -> Settings:
    settings: dict[str, Any] = {"path": path}
    limits = dict(DEFAULT_DOSE_LIMITS)
    for key, value in document.items():
        if key == "practitioner":
            if not isinstance(value, str) or not 1 <= len(value.strip()) <= 200:
                raise BadInput(f"config file {path}: practitioner = {quoted(value)} is not "
                               "allowed; give a name of 1-200 characters")
            settings["practitioner"] = clean_text(value, "practitioner", one_line=True)
        elif key == "database":
            if not isinstance(value, str) or not value.strip() or not _database_ok(value):
                raise BadInput(f"config file {path}: database = "
                               f"{quoted(shown('database', value))} is not "
                               "allowed; give a file path or postgresql+psycopg://...")
            settings["database"] = value.strip()
        elif key == "default_drug":
            if not isinstance(value, str) or value not in vocab.DRUG_BY_KEY:
                raise BadInput(f"config file {path}: default_drug = {value!r} is not allowed; "
                               f"use a key of `tplog drugs`")
            settings["default_drug"] = value
        elif key == "default_ml":
            settings["default_ml"] = round(_amount(path, "default_ml", value), 2)
        elif key == "checks" and isinstance(value, dict):
            for name, number in value.items():
                if name == "reinjection_days":
                    settings[name] = _whole(path, f"checks.{name}", number, 0)
                elif name in ("sessions_per_year", "repeat_relief_days", "visit_years_back"):
                    settings[name] = _whole(path, f"checks.{name}", number, 1)
                elif name == "repeat_relief_percent":
                    settings[name] = _whole(path, f"checks.{name}", number, 1, most=100)
                elif name == "cpt_sides_count_separately":
                    if not isinstance(number, bool):
                        raise BadInput(f"config file {path}: checks.{name} = {number!r} is not "
                                       "allowed; give true or false")
                    settings[name] = number
                else:
                    raise _unknown(path, f"checks.{name}", list(CHECK_KEYS))
        elif key == "followup" and isinstance(value, dict):
            for name, number in value.items():
                if name != "due_days":
                    raise _unknown(path, f"followup.{name}", list(FOLLOWUP_KEYS))
                settings["follow_up_due_days"] = _whole(path, "followup.due_days", number, 0)
        elif key == "required" and isinstance(value, dict):
            required = set()
            for name, flag in value.items():
                if name not in REQUIRABLE:
                    raise _unknown(path, f"required.{name}", list(REQUIRED_KEYS))
                if not isinstance(flag, bool):
                    raise BadInput(f"config file {path}: required.{name} = {flag!r} is not "
                                   "allowed; give true or false")
                if flag:
                    required.add(name)
            settings["required"] = frozenset(required)
        elif key == "dose_limits" and isinstance(value, dict):
            for drug, limit in value.items():
                if drug not in limits or not isinstance(limit, dict):
                    raise _unknown(path, f"dose_limits.{drug}",
                                   [f"dose_limits.{d}" for d in DEFAULT_DOSE_LIMITS])
                changed = dict(mg_per_kg=limits[drug].mg_per_kg, max_mg=limits[drug].max_mg)
                for name, number in limit.items():
                    if name not in changed:
                        raise _unknown(path, f"dose_limits.{drug}.{name}",
                                       [f"dose_limits.{drug}.mg_per_kg",
                                        f"dose_limits.{drug}.max_mg"])
                    changed[name] = _amount(path, f"dose_limits.{drug}.{name}", number)
                limits[drug] = DoseLimit(changed["mg_per_kg"], changed["max_mg"],
                                         f"set in {path}")
        elif key == "mixtures" and isinstance(value, dict):
            settings["mixtures"] = {name: _mixture(path, name, text)
                                    for name, text in value.items()}
        elif key == "steroid_limits" and isinstance(value, dict):
            for steroid, number in value.items():
                if steroid not in vocab.STEROIDS:
                    raise _unknown(path, f"steroid_limits.{steroid}",
                                   [f"steroid_limits.{s}" for s in vocab.STEROIDS])
                settings.setdefault("steroid_limits", {})[steroid] = _amount(
                    path, f"steroid_limits.{steroid}", number)
        elif key == "fhir" and isinstance(value, dict):
            for name, text in value.items():
                if name != "mrn_system":
                    raise _unknown(path, f"fhir.{name}", list(FHIR_KEYS))
                settings["fhir_mrn_system"] = _mrn_system(path, text)
        elif key == "clinic" and isinstance(value, dict):
            settings["clinic"] = Clinic(**{name: _clinic_value(path, name, text)
                                           for name, text in value.items()})
        else:
            raise _unknown(path, key, list(TOP_LEVEL_KEYS)
                           + ["checks", "required", "followup", "dose_limits", "mixtures",
                              "steroid_limits", "fhir", "clinic"])
    settings["dose_limits"] = limits
    return Settings(**settings)


def _mixture(path: Path, name: str, text: Any) -> str:
    """A named mixture, checked as `drug=` checks one typed (parse.parse_injectate)."""
    if not MIXTURE_NAME.fullmatch(name) or name in vocab.DRUG_BY_KEY:
        raise BadInput(f"config file {path}: mixture name {name!r} is not allowed; give "
                       "lower-case letters, digits and '-' (not a drug's own key)")
    if not isinstance(text, str):
        raise BadInput(f"config file {path}: mixtures.{name} = {text!r} is not allowed; give "
                       "\"KEY:mL+KEY:mL\"")
    try:
        components = parse_injectate(text, f"mixtures.{name}")
    except BadInput as error:
        raise BadInput(f"config file {path}: {error.message}") from None
    if len(components) < 2:
        raise BadInput(f"config file {path}: mixtures.{name} = {text!r} has one drug; a "
                       "mixture has two or more")
    return mixture_text(components)


def set_value(key: str, text: str) -> list[str]:
    """Write KEY = VALUE into the config file, checked as a whole before it replaces the old.

    The file may hold the database password (in the URL): it is written whole and private
    (0600, tplog.files), in a folder that tplog makes 0700 when it creates it. A folder that
    was already there is the user's: left as it is, with a warning (returned) if others can
    get into it.
    """
    import tomli_w

    from tplog import files

    if key not in SETTABLE_KEYS:
        raise BadInput(f"unknown config key {key!r}; known keys: {', '.join(SETTABLE_KEYS)}")
    value: Any = text
    if key in BOOLEAN_KEYS:
        if text.strip().lower() not in ("true", "false"):
            raise BadInput(f"{key} {text!r} is not allowed; give true or false")
        value = text.strip().lower() == "true"
    elif key in NUMBER_KEYS:
        try:
            value = float(text) if "." in text or key.startswith("dose_limits") \
                or key == "default_ml" else int(text)
        except ValueError:
            raise BadInput(f"{key} {text!r} is not a number") from None
    path = config_path()
    document = read_document(path)
    *parents, leaf = key.split(".")
    table = document
    for part in parents:
        table = table.setdefault(part, {})
    table[leaf] = value
    parse(document, path)  # refuses a bad value before anything is written
    warnings = _private_folder(path.parent)
    with files.written_whole(path, what="config file") as out:
        out.write(tomli_w.dumps(document))
    return warnings


def _private_folder(folder: Path) -> list[str]:
    """Create the config folder 0700; say so if one that was there is open to others."""
    from tplog.errors import StorageProblem

    try:
        folder.mkdir(mode=0o700, parents=True)
        return []
    except FileExistsError:
        pass
    except OSError as error:
        raise StorageProblem(f"cannot create the folder {folder}: {error.strerror}; nothing "
                             "was written") from None
    loose = folder.stat().st_mode & 0o077
    if not loose:
        return []
    return [f"{folder} is open to others ({folder.stat().st_mode & 0o777:o}); the config file "
            "in it is private (600), but `chmod 700` on the folder keeps anyone else from "
            "replacing it"]


def shown(key: str, value: Any) -> Any:
    """A setting as it may be printed: the database URL's password as ***."""
    if key == "database" and isinstance(value, str):
        from tplog.db import hide_password

        return hide_password(value)
    return value


def effective(settings: Settings) -> dict[str, Any]:
    """Every setting with the value in force from the file or the default, as it may be shown
    (the database password as ***: `config show` never prints it)."""
    values: dict[str, Any] = {
        "practitioner": settings.practitioner, "database": settings.database,
        "default_drug": settings.default_drug, "default_ml": settings.default_ml,
        "checks.reinjection_days": settings.reinjection_days,
        "checks.sessions_per_year": settings.sessions_per_year,
        "checks.visit_years_back": settings.visit_years_back,
        "checks.cpt_sides_count_separately": settings.cpt_sides_count_separately,
        "checks.repeat_relief_percent": settings.repeat_relief_percent,
        "checks.repeat_relief_days": settings.repeat_relief_days,
        "followup.due_days": settings.follow_up_due_days,
        "fhir.mrn_system": settings.fhir_mrn_system,
        **{key: getattr(settings.clinic, key.split(".")[1]) for key in CLINIC_KEYS},
    }
    for name in REQUIRABLE:
        values[f"required.{name}"] = name in settings.required
    for drug, limit in sorted(settings.dose_limits.items()):
        values[f"dose_limits.{drug}.mg_per_kg"] = limit.mg_per_kg
        values[f"dose_limits.{drug}.max_mg"] = limit.max_mg
    for steroid in vocab.STEROIDS:  # None: no threshold (the reference gives none)
        values[f"steroid_limits.{steroid}"] = settings.steroid_limits.get(steroid)
    for name, mixture in sorted(settings.mixtures.items()):
        values[f"mixtures.{name}"] = mixture
    return {key: shown(key, value) for key, value in values.items()}
