"""Pure clinical rules: outcome bands, relief, billing codes, dose arithmetic, the thorax,
diagnosis codes that depend on the visit.

No database, no printing: plain values in, plain values out. Every rule is cited to the
project's clinical reference (../shared/reference/clinical.md), by section.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from tplog import vocab

# --- outcomes -------------------------------------------------------------------------------

# Reference "Pain scale and outcome thresholds": IMMPACT (Dworkin et al. 2008, J Pain
# 9:105-121) >= 30 % moderately important, >= 50 % substantially important; below 30 % the
# change is "little"; pain that rises is "worse", its own band, not a small improvement.
MODERATE_PERCENT = 30
SUBSTANTIAL_PERCENT = 50


def reduction(pain_before: Fraction | int, pain_after: Fraction | int) -> Fraction | None:
    """(before - after) / before, exactly; None (undefined, never 0) when before is 0."""
    if pain_before == 0:
        return None
    return Fraction(pain_before - pain_after) / Fraction(pain_before)


def whole_percent(value: float) -> int:
    """A percentage rounded to a whole number, but never across a band's edge: 66.7 % shows
    as 67, 29.5 % as 29 (it is "little", not 30), 49.6 % as 49, -0.4 % as -1 (it is worse)."""
    shown = math.floor(value + 0.5)
    for edge in (SUBSTANTIAL_PERCENT, MODERATE_PERCENT, 0):
        if value < edge <= shown:
            return edge - 1
    return shown


def percent_reduction(pain_before: int, pain_after: int | None) -> float | None:
    """Reference: (pre - post) / pre x 100; undefined (None) when pre is 0 or post unrecorded."""
    if pain_after is None:
        return None
    exact = reduction(pain_before, pain_after)
    return None if exact is None else float(exact * 100)


def band_of(pain_before: Fraction | int, pain_after: Fraction | int | None) -> str | None:
    """The band of a change in pain, compared in exact arithmetic (50 % exactly is
    substantial); None when it is undefined (no pain after, or none before and none after)."""
    if pain_after is None:
        return None
    if pain_after > pain_before:
        return "worse"
    exact = reduction(pain_before, pain_after)
    if exact is None:
        return None
    if exact * 100 >= SUBSTANTIAL_PERCENT:
        return "substantial"
    if exact * 100 >= MODERATE_PERCENT:
        return "moderate"
    return "little"


@dataclass(frozen=True)
class Change:
    """The change in mean pain over the points that have both scores."""

    pain_before: Fraction  # mean
    pain_after: Fraction  # mean

    @property
    def points(self) -> float:
        """The absolute change: negative is less pain."""
        return float(self.pain_after - self.pain_before)

    @property
    def percent(self) -> float | None:
        exact = reduction(self.pain_before, self.pain_after)
        return None if exact is None else float(exact * 100)

    @property
    def band(self) -> str | None:
        return band_of(self.pain_before, self.pain_after)


def change_of_mean(pairs: Iterable[tuple[int, int | None]]) -> Change | None:
    """Reference: summarise with the reduction of mean pain, not a mean of per-point
    percentages (2 -> 7 is -250 % and would swamp the rest). None without a pain after."""
    both = [(before, after) for before, after in pairs if after is not None]
    if not both:
        return None
    return Change(Fraction(sum(b for b, _ in both), len(both)),
                  Fraction(sum(a for _, a in both), len(both)))


def relief_at(pain_before: Fraction | float, pain_later: int) -> float | None:
    """% relief still there later: (pain before the visit - pain reported) / pain before."""
    exact = reduction(Fraction(pain_before), pain_later)
    return None if exact is None else float(exact * 100)


def relief_lasted(pain_before: Fraction | float, visit_date: dt.date,
                  follow_ups: Sequence[tuple[dt.date, int]], *,
                  percent: int = MODERATE_PERCENT) -> int | None:
    """Days from the visit to the last follow-up of the unbroken run at >= `percent` relief
    (30 %, the clinically important change): the run ends at the first follow-up date where
    relief fell below it (0 when the first did); None without follow-ups or when relief is
    undefined (no pain before)."""
    before = Fraction(pain_before)
    if not follow_ups or before == 0:
        return None

    def held(pain: int) -> bool:
        return (before - pain) * 100 >= percent * before

    lapse = min((day for day, pain in follow_ups if not held(pain)), default=None)
    return max(((day - visit_date).days for day, pain in follow_ups
                if held(pain) and (lapse is None or day < lapse)), default=0)


# Reference "Payer rule for repeat injections": >= 50 % relief lasting >= 6 weeks before a
# site is injected again (CMS LCD L39661; Noridian L34211 / A57701). Configurable.
REPEAT_RELIEF_PERCENT = 50
REPEAT_RELIEF_DAYS = 42


def repeat_documented(pain_before: Fraction | float, visit_date: dt.date,
                      follow_ups: Sequence[tuple[dt.date, int]], *,
                      percent: int = REPEAT_RELIEF_PERCENT,
                      days: int = REPEAT_RELIEF_DAYS) -> bool:
    """Whether an earlier visit's follow-ups document the relief a payer asks for before the
    same site is injected again: an unbroken run at >= `percent` lasting >= `days`."""
    lasted = relief_lasted(pain_before, visit_date, follow_ups, percent=percent)
    return lasted is not None and lasted >= days


# --- billing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CptSuggestion:
    code: str
    muscles: tuple[str, ...]  # the distinct muscles counted, as counted (with the side)
    dry_needling: bool
    sides_separately: bool
    visits: tuple[int, ...] = ()  # the day's visits it covers, when more than one

    @property
    def rule(self) -> str:
        # Reference "Billing codes (CPT)", "Left and right": AAPC treats left and right as
        # different muscles; payers differ, so the rule in use is printed.
        sides = ("left and right of a muscle count as two" if self.sides_separately
                 else "left and right of a muscle count once")
        return f"{sides}; the parts of the trapezius on one side count as one"

    @property
    def short(self) -> str:
        """The code and what it counts, without the rule and the disclaimer (a history says
        those once, not per visit)."""
        what = "dry needling" if self.dry_needling else "injection"
        day = (f" for the day (visits {', '.join(map(str, self.visits))}; one code per "
               "patient per day)" if len(self.visits) > 1 else "")
        return (f"CPT {self.code} ({what}) suggested{day}: {len(self.muscles)} distinct "
                f"muscle(s) ({', '.join(self.muscles)})")

    @property
    def text(self) -> str:
        return f"{self.short}; {self.rule}. {CPT_DISCLAIMER}"


CPT_DISCLAIMER = "A suggestion, not a coverage determination."


def cpt_suggestions(sites: Iterable[tuple[str, str, str | None]], *,
                    sides_separately: bool = True,
                    visits: Sequence[int] = ()) -> list[CptSuggestion]:
    """One suggestion per kind of procedure for a patient's day, from (muscle, side, drug):
    20552/20553 for injected muscles (1-2 / 3 or more), 20560/20561 for dry-needled ones
    (needle insertion without injection, CPT 2020). Reference "Billing codes (CPT)": count
    distinct muscles, not points; one code per patient per day; Anthem CG-SURG-17."""
    counted: dict[bool, dict[tuple[str, str], str]] = {False: {}, True: {}}
    for muscle_key, side, drug in sites:
        dry = drug is not None and not vocab.DRUG_BY_KEY[drug].injects
        muscle = vocab.MUSCLE_BY_KEY[muscle_key]
        name = "trapezius" if muscle.billing_muscle else muscle.name.lower()
        key = (muscle.counted_as, side if sides_separately else "")
        counted[dry].setdefault(key, f"{name} {side}" if sides_separately else name)
    suggestions = []
    for dry, codes in ((False, ("20552", "20553")), (True, ("20560", "20561"))):
        names = tuple(sorted(counted[dry].values()))
        if names:
            suggestions.append(CptSuggestion(codes[1] if len(names) >= 3 else codes[0], names,
                                             dry, sides_separately, tuple(visits)))
    return suggestions


# --- local anaesthetic dose -----------------------------------------------------------------

@dataclass(frozen=True)
class DoseLimit:
    mg_per_kg: float
    max_mg: float
    source: str


# Reference "Local anaesthetic dose limits (plain, without epinephrine)"; references differ
# (some give lidocaine 4 mg/kg), so these are defaults the config file can change.
DEFAULT_DOSE_LIMITS: Mapping[str, DoseLimit] = {
    "lidocaine": DoseLimit(4.5, 300, "drug label wording; Poisoning & Drug Overdose table"),
    "bupivacaine": DoseLimit(2.0, 175, "Marcaine label; Poisoning & Drug Overdose table"),
    "ropivacaine": DoseLimit(3.0, 200, "Poisoning & Drug Overdose table"),
}

# An adult with no weight on record is checked against the limit of a 50 kg adult, and the
# warning says so. A child's limit cannot come from an adult default (reference: a 23 kg
# child's lidocaine limit is about 100 mg), so under 18, or with no date of birth, there is
# no limit to check against and any dose needs confirmation.
UNKNOWN_WEIGHT_KG = 50
ADULT_AGE = 18
# A guard against typing slips (64.0 typed as 640), not a clinical limit.
WEIGHT_RANGE_KG = (2, 300)


@lru_cache(maxsize=1024)  # a clinic's volumes and strengths are few; Fraction(str) is dear
def _exact(number: float) -> Fraction:
    return Fraction(str(number))  # 16.2 is 81/5, not the nearest binary fraction


def injected(drug: str | None, volume_ml: float | None,
             injectate: str | None) -> list[tuple[str | None, float | None]]:
    """What a point injected, drug by drug: its mixture's components (`KEY:mL+KEY:mL`, as
    parse.mixture_text stores it), or its one drug and volume."""
    if not injectate:
        return [(drug, volume_ml)]
    parts: list[tuple[str | None, float | None]] = []
    for component in injectate.split("+"):
        key, _, volume = component.partition(":")
        parts.append((key, float(volume)))
    return parts


def steroid_totals(points: Iterable[tuple[str | None, float | None]]) -> dict[str, Fraction]:
    """Total mg of each corticosteroid from (drug key, volume mL) pairs, exactly: mL x the
    product's strength in mg/mL (reference: a steroid in the injectate is documented with its
    mg). Different steroids are not added up: their potencies differ."""
    totals: dict[str, Fraction] = {}
    for drug_key, volume in points:
        if drug_key is None or volume is None:
            continue
        drug = vocab.DRUG_BY_KEY[drug_key]
        if drug.steroid is None or drug.strength_mg_per_ml is None:
            continue
        mg = _exact(drug.strength_mg_per_ml) * _exact(volume)
        totals[drug.steroid] = totals.get(drug.steroid, Fraction(0)) + mg
    return dict(sorted(totals.items()))


@dataclass(frozen=True)
class SteroidDose:
    """One corticosteroid given to a patient: at this visit, and in the 12 months to it."""

    steroid: str
    visit_mg: Fraction
    year_mg: Fraction  # the rolling 12 months to the visit's date, this visit included
    limit_mg: float | None = None  # the clinic's own threshold (config), when it set one

    @property
    def over(self) -> bool:
        return self.limit_mg is not None and self.year_mg > _exact(self.limit_mg)

    @property
    def text(self) -> str:
        limit = ("" if self.limit_mg is None
                 else f"; the clinic's threshold is {self.limit_mg:g} mg")
        return (f"{self.steroid} {_mg(self.visit_mg)} mg at this visit, "
                f"{_mg(self.year_mg)} mg in the 12 months to it{limit}")


# The rolling 12 months of the cumulative steroid total: the same window as the sessions-a-
# year count (reference: CMS LCD L39661, "a rolling 12 months").
STEROID_WINDOW_DAYS = 365


def steroid_doses(visit: Iterable[tuple[str | None, float | None]],
                  year: Iterable[tuple[str | None, float | None]],
                  limits: Mapping[str, float]) -> tuple[SteroidDose, ...]:
    """Each steroid of the visit with its 12-month total (`year`: the other visits' drugs in
    the window). The reference gives no cumulative steroid limit, so there is none unless
    the clinic sets one in the config file (steroid_limits)."""
    own = steroid_totals(visit)
    others = steroid_totals(year)
    return tuple(SteroidDose(name, mg, mg + others.get(name, Fraction(0)), limits.get(name))
                 for name, mg in own.items())


def dose_totals(points: Iterable[tuple[str | None, float | None]]) -> dict[str, Fraction]:
    """Total mg of each local anaesthetic from (drug key, volume mL) pairs, exactly.
    Reference: x % = x g / 100 mL, so 1 % = 10 mg/mL."""
    # Worked out once per distinct set of doses: a clinic gives the same few again and again,
    # and exact arithmetic on every visit was most of the time of a CSV export.
    return dict(_dose_totals(doses_key(points)))


def doses_key(points: Iterable[tuple[str | None, float | None]]
               ) -> tuple[tuple[str, float], ...]:
    """The (drug, mL) pairs that count, in an order of their own (a sum has none)."""
    return tuple(sorted((drug_key, volume) for drug_key, volume in points
                        if drug_key is not None and volume is not None))


@lru_cache(maxsize=4096)
def _dose_totals(points: tuple[tuple[str, float], ...]) -> tuple[tuple[str, Fraction], ...]:
    totals: dict[str, Fraction] = {}
    for drug_key, volume in points:
        drug = vocab.DRUG_BY_KEY[drug_key]
        if drug.anaesthetic is None or drug.concentration_percent is None:
            continue
        mg = _exact(drug.concentration_percent) * 10 * _exact(volume)
        totals[drug.anaesthetic] = totals.get(drug.anaesthetic, Fraction(0)) + mg
    return tuple(sorted(totals.items()))


@dataclass(frozen=True)
class Weight:
    kg: float
    measured_on: dt.date
    year_only: bool = False  # a de-identified export says only the year it was measured

    @property
    def when(self) -> str:
        return f"in {self.measured_on.year}" if self.year_only else str(self.measured_on)


def weight_on(weights: Iterable[Weight], day: dt.date) -> Weight | None:
    """The latest weight measured on or before the day; failing that, the earliest one
    measured after it (a weight recorded after a visit logged late is nearer the truth than
    an assumed 50 kg, and the check says which it used); None with no weight at all. Of two
    weights of one day, the one recorded last (a correction): `weights` come as recorded."""
    weights = list(weights)
    before = [w for w in weights if w.measured_on <= day]
    if before:  # max and min keep the first of equals: read newest first, it is the latest
        return max(reversed(before), key=lambda w: w.measured_on)
    return min(reversed(weights), key=lambda w: w.measured_on, default=None)


@dataclass(frozen=True)
class Rules:
    """What a clinic may configure of the rules (config file: dose_limits, checks)."""

    dose_limits: Mapping[str, DoseLimit] = field(
        default_factory=lambda: dict(DEFAULT_DOSE_LIMITS))
    # Reference "Left and right": AAPC counts them as two muscles; some payers count once.
    cpt_sides_count_separately: bool = True
    # mg of each steroid in a rolling 12 months over which a visit needs confirmation. The
    # reference gives no figure, so there is none by default (config: steroid_limits).
    steroid_limits: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DrugDose:
    anaesthetic: str
    mg: Fraction
    limit_mg: Fraction | None  # None: no limit can be computed (a child with no weight)
    basis: str

    @property
    def fraction(self) -> Fraction | None:
        return None if self.limit_mg is None else self.mg / self.limit_mg


@dataclass(frozen=True)
class DoseCheck:
    """The local anaesthetics given to a patient on one day, against their limits.

    Reference (added 2026-11-30): toxicity is additive, so the sum over drugs of dose / limit
    stays <= 1; the limit is per session, and a session is everything done on one day (CMS LCD
    L34211).
    """

    day: dt.date
    drugs: tuple[DrugDose, ...]
    weight_note: str  # which weight was used, or that none is on record
    no_limit_reason: str | None = None  # why no limit could be computed

    @property
    def combined(self) -> Fraction | None:
        if not self.drugs or self.no_limit_reason is not None:
            return None
        return sum((d.fraction for d in self.drugs if d.fraction is not None), Fraction(0))

    @property
    def needs_confirmation(self) -> bool:
        if not self.drugs:
            return False
        combined = self.combined
        return combined is None or combined > 1  # exactly 1 is within the limit

    @property
    def summary(self) -> str:
        """Each drug's mg with its limit and basis, and the combined fraction."""
        return _dose_summary(self.drugs, self.no_limit_reason is None)

    @property
    def warning(self) -> str | None:
        if not self.needs_confirmation:
            return None
        if self.no_limit_reason is not None:
            return (f"local anaesthetic on {self.day} with no dose limit to check against "
                    f"({self.no_limit_reason}): {self.summary}")
        return (f"local anaesthetic dose on {self.day} is over the limit (combined "
                f"{fraction_text(self.combined or Fraction(0))}, more than 1; toxicity adds "
                f"up across anaesthetics): {self.summary}")


@lru_cache(maxsize=4096)  # the same few doses again and again (see dose_totals)
def _dose_summary(drugs: tuple[DrugDose, ...], limited: bool) -> str:
    combined = DoseCheck(dt.date.min, drugs, "", None if limited else "-").combined
    parts = []
    for d in drugs:
        if d.limit_mg is None:
            parts.append(f"{d.anaesthetic} {_mg(d.mg)} mg (no limit: {d.basis})")
        else:
            parts.append(f"{d.anaesthetic} {_mg(d.mg)} mg of {_mg(d.limit_mg)} mg "
                         f"= {fraction_text(d.fraction or Fraction(0))} ({d.basis})")
    total = "" if combined is None else f"; combined {fraction_text(combined)} of the limit"
    return "; ".join(parts) + total


def fraction_text(value: Fraction) -> str:
    """A fraction of the limit to two places, or more where two would hide which side of 1
    it is on (1.0006 is over, not "1.00")."""
    text = f"{float(value):.2f}"
    if value != 1 and text == "1.00":
        text = f"{float(value):.4f}" if f"{float(value):.4f}" != "1.0000" else (
            "just over 1" if value > 1 else "just under 1")
    return text


def _mg(value: Fraction) -> str:
    return f"{float(value):.4g}" if value < 1000 else f"{float(value):.0f}"


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day)
                                            < (date_of_birth.month, date_of_birth.day))


def check_dose(points: Iterable[tuple[str | None, float | None]], *, day: dt.date,
               weight: Weight | None, date_of_birth: dt.date | None,
               limits: Mapping[str, DoseLimit] = DEFAULT_DOSE_LIMITS) -> DoseCheck:
    """The day's local anaesthetics against the limits for this patient on that day."""
    adult = date_of_birth is not None and age_on(date_of_birth, day) >= ADULT_AGE
    if weight is not None:
        weight_note = f"{weight.kg:g} kg weighed {weight.when}" + (
            ", after this day: the nearest weight on record" if weight.measured_on > day
            else "")
        kg: float | None = weight.kg
    elif adult:
        weight_note = f"no weight on record, a {UNKNOWN_WEIGHT_KG} kg adult assumed"
        kg = UNKNOWN_WEIGHT_KG
    else:
        who = ("under 18" if date_of_birth is not None else "no date of birth on record")
        weight_note = f"no weight on record, and {who}"
        kg = None
    return DoseCheck(day, _drug_doses(doses_key(points), kg, weight_note,
                                      tuple(limits.items())),
                     weight_note, None if kg is not None else weight_note)


# Worked out once per distinct doses, weight and limits (see dose_totals).
@lru_cache(maxsize=4096)
def _drug_doses(points: tuple[tuple[str, float], ...], kg: float | None, weight_note: str,
                limits_items: tuple[tuple[str, DoseLimit], ...]) -> tuple[DrugDose, ...]:
    limits = dict(limits_items)
    drugs = []
    for anaesthetic, mg in _dose_totals(points):
        limit = limits[anaesthetic]
        if kg is None:
            drugs.append(DrugDose(anaesthetic, mg, None, weight_note))
            continue
        by_weight = _exact(limit.mg_per_kg) * _exact(kg)
        if by_weight <= _exact(limit.max_mg):
            basis = f"{limit.mg_per_kg:g} mg/kg x {kg:g} kg ({weight_note}); {limit.source}"
        else:
            basis = f"absolute maximum {limit.max_mg:g} mg; {limit.source}"
        drugs.append(DrugDose(anaesthetic, mg, min(by_weight, _exact(limit.max_mg)), basis))
    return tuple(drugs)


# --- the thorax -----------------------------------------------------------------------------

def thorax_sites(sites: Iterable[tuple[str, str]]) -> list[str]:
    """The sites over the chest wall or the lung apex (vocab.Muscle.over_thorax, each with its
    source): reference "What a trigger point injection visit records", complications."""
    return list(dict.fromkeys(f"{muscle} {side}" for muscle, side in sites
                              if vocab.MUSCLE_BY_KEY[muscle].over_thorax))


def thorax_reminder(sites: Sequence[str], *, same_day: Sequence[str] = (),
                    visits: Sequence[int] = ()) -> str:
    """The pneumothorax caution for these sites; `same_day`: the thorax sites of the patient's
    other visits that day (`visits`), which count toward both sides."""
    sides = {site.rsplit(" ", 1)[1] for site in (*sites, *same_day)}
    text = f"Caution: injected over the thorax ({', '.join(sites)}): {THORAX_AFTERCARE}"
    if sides == {"L", "R"}:
        # Reference: a case report of pneumothorax on both sides after bilateral trapezius
        # injections (FCEP, 2023).
        where = ("in one visit" if not same_day else
                 f"on one day (with visit(s) {', '.join(map(str, visits))}: "
                 f"{', '.join(same_day)})")
        text += f" BOTH sides of the chest {where}: {BOTH_SIDES_AFTERCARE}"
    return text


# The advice of the caution, apart from its sites: a history gives it once, not per visit.
THORAX_AFTERCARE = ("pneumothorax risk; tell the patient to seek care at once for shortness of "
                    "breath or chest pain.")
BOTH_SIDES_AFTERCARE = ("a pneumothorax on both sides has been reported after bilateral "
                        "injections; consider one side per visit, and keep the patient under "
                        "observation before discharge.")


# --- diagnosis codes that depend on the visit -----------------------------------------------

def myalgia_keys(muscle_keys: Iterable[str]) -> list[str]:
    """Reference "Diagnosis codes": choose M79.11 / M79.12 / M79.18 by the region injected,
    one condition per region present, in the order the regions were first injected."""
    keys = []
    for key in muscle_keys:
        muscle = vocab.MUSCLE_BY_KEY[key]
        if muscle.masticatory:
            keys.append("myofascial-pain-mastication")
        elif muscle.region in ("head-face", "neck"):
            keys.append("myofascial-pain-head-neck")
        else:
            keys.append("myofascial-pain-other-site")
    return list(dict.fromkeys(keys))


def resolve_conditions(keys: Sequence[str], *, muscle_keys: Sequence[str],
                       whiplash_encounter: str) -> list[str]:
    """Condition keys as stored, in the order given (the first is the primary diagnosis):
    `myofascial-pain` becomes the region-specific keys of the injected muscles; `whiplash`
    takes its encounter (7th character)."""
    resolved: list[str] = []
    explicit_whiplash = any(key.startswith("whiplash-") for key in keys)
    for key in keys:
        if key == "whiplash" and explicit_whiplash:
            continue  # `-c whiplash -c S13.4XXA`: the code given says the encounter
        if key == "myofascial-pain":
            resolved += myalgia_keys(muscle_keys)
        elif key == "whiplash":
            resolved.append(f"whiplash-{whiplash_encounter}")
        else:
            resolved.append(key)
    return list(dict.fromkeys(resolved))


def keys_held_for(key: str) -> list[str]:
    """The condition keys visits may hold for a condition asked for as `key` (a filter):
    itself; for `myofascial-pain` and `whiplash`, which are entered once and stored as their
    region-specific or encounter keys (resolve_conditions), those keys too; and the older
    keys, kept only because earlier visits hold them, that carry the same ICD-10-CM code
    (`migraine` for migraine-without-aura, G43.009). A visit logged for whiplash is then
    found by `whiplash` whichever encounter it was."""
    chosen = vocab.CONDITION_BY_KEY[key]
    keys = [key]
    if key in ("myofascial-pain", "whiplash"):
        keys += [c.key for c in vocab.CONDITIONS if c.key.startswith(f"{key}-")]
    keys += [c.key for c in vocab.CONDITIONS if not c.enterable and chosen.icd10 is not None
             and c.icd10 == chosen.icd10]
    return list(dict.fromkeys(keys))


# --- practitioner identity ------------------------------------------------------------------

# Reference, "Practitioner identity": the US NPI is 10 digits whose last is a Luhn check digit
# computed over the prefix 80840 followed by the first 9 digits (CMS NPI check-digit
# specification).
NPI_PREFIX = "80840"


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that completes `digits`: from the right, every other digit (starting
    with the rightmost) doubled, digits of the products summed."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 0:
            value *= 2
            value = value - 9 if value > 9 else value
        total += value
    return (10 - total % 10) % 10


def npi_check_digit(first_nine: str) -> int:
    """The NPI's tenth digit for its first nine (reference, "Practitioner identity")."""
    return luhn_check_digit(NPI_PREFIX + first_nine)


# --- outcome measures -----------------------------------------------------------------------

# Reference, "Outcome measures that are free to use": PEG is three 0-10 items (pain average,
# interference with enjoyment of life, with general activity), its score their mean (Krebs et
# al. 2009, J Gen Intern Med 24:733-738).
PEG_ITEMS = ("pain", "enjoyment", "activity")


def peg_score(pain: int | None, enjoyment: int | None, activity: int | None) -> Fraction | None:
    """The PEG score, the mean of its three items, exactly; None unless all three were asked."""
    if pain is None or enjoyment is None or activity is None:
        return None
    return Fraction(pain + enjoyment + activity, 3)


# PGIC 1 and 2 ("very much improved", "much improved"): the responders by the patient's own
# global impression (reference: PGIC, the anchor in Farrar et al. 2001).
PGIC_IMPROVED = (1, 2)
