"""Clinical rules on plain values: outcome bands, billing code suggestions, dose totals.

Pure functions (no database, no printing), each rule cited to ../shared/reference/clinical.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tplog import vocab

# --- outcomes -------------------------------------------------------------------------------

# IMMPACT (Dworkin et al. 2008, J Pain 9:105-121): >= 30 % moderately important,
# >= 50 % substantially important; below 30 % the issue calls it "little".
MODERATE_PERCENT = 30
SUBSTANTIAL_PERCENT = 50


def band(percent: float | None) -> str | None:
    """The IMMPACT band of a % reduction; None when the reduction is undefined."""
    if percent is None:
        return None
    if percent >= SUBSTANTIAL_PERCENT:
        return "substantial"
    if percent >= MODERATE_PERCENT:
        return "moderate"
    return "little"


def relief_at(pain_before: float, pain_later: int) -> float | None:
    """% relief still there later: (pain before the visit - pain reported) / pain before."""
    if pain_before == 0:
        return None
    return (pain_before - pain_later) * 100.0 / pain_before


# --- billing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CptSuggestion:
    code: str
    muscles: tuple[str, ...]  # the distinct muscles counted, by name

    @property
    def text(self) -> str:
        # Reference "Billing codes (CPT)": count distinct muscles; left and right of one
        # muscle count once (most payer guidance); one code per day.
        return (f"CPT {self.code} suggested: {len(self.muscles)} distinct muscle(s) "
                f"({', '.join(self.muscles)}); left and right of one muscle count once. "
                "A suggestion, not a coverage determination.")


def cpt_suggestion(muscle_keys: Iterable[str], drugs: Iterable[str | None]) -> CptSuggestion | None:
    """20552 for 1-2 muscles, 20553 for 3 or more (Anthem CG-SURG-17; The Rheumatologist
    Coding Corner 53). Dry-needled sites are not injections and are not counted; None when
    nothing was injected."""
    counted: dict[str, str] = {}
    for key, drug in zip(muscle_keys, drugs, strict=True):
        if drug is not None and not vocab.DRUG_BY_KEY[drug].injects:
            continue
        muscle = vocab.MUSCLE_BY_KEY[key]
        counted.setdefault(muscle.counted_as,
                           "trapezius" if muscle.billing_muscle else muscle.name.lower())
    if not counted:
        return None
    names = tuple(sorted(counted.values()))
    return CptSuggestion("20553" if len(names) >= 3 else "20552", names)


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

# With no weight on record, tplog checks against the limit of a 50 kg adult (the rule).
UNKNOWN_WEIGHT_KG = 50.0


@dataclass(frozen=True)
class DoseCheck:
    anaesthetic: str
    total_mg: float
    limit_mg: float
    basis: str  # how the limit was reached, shown with any warning

    @property
    def over(self) -> bool:
        return self.total_mg > self.limit_mg + 1e-9  # exactly at the limit is within it

    @property
    def warning(self) -> str:
        return (f"{self.anaesthetic} {self.total_mg:g} mg this visit is over the limit of "
                f"{self.limit_mg:g} mg ({self.basis})")


def dose_totals(points: Iterable[tuple[str | None, float | None]]) -> dict[str, float]:
    """Total mg of each local anaesthetic from (drug key, volume mL) pairs: mg/mL x mL."""
    totals: dict[str, float] = {}
    for drug_key, volume in points:
        if drug_key is None or volume is None:
            continue
        drug = vocab.DRUG_BY_KEY[drug_key]
        if drug.anaesthetic is None or drug.mg_per_ml is None:
            continue
        totals[drug.anaesthetic] = round(totals.get(drug.anaesthetic, 0.0)
                                         + drug.mg_per_ml * volume, 4)
    return totals


def dose_checks(points: Iterable[tuple[str | None, float | None]], weight_kg: float | None,
                limits: Mapping[str, DoseLimit] = DEFAULT_DOSE_LIMITS) -> list[DoseCheck]:
    checks = []
    for anaesthetic, total in sorted(dose_totals(points).items()):
        limit = limits[anaesthetic]
        weight = weight_kg if weight_kg is not None else UNKNOWN_WEIGHT_KG
        by_weight = limit.mg_per_kg * weight
        weight_text = (f"{weight:g} kg" if weight_kg is not None
                       else f"weight unknown, taken as {UNKNOWN_WEIGHT_KG:g} kg")
        if by_weight <= limit.max_mg:
            basis = f"{limit.mg_per_kg:g} mg/kg x {weight_text}; {limit.source}"
        else:
            basis = f"absolute maximum {limit.max_mg:g} mg; {limit.source}"
        checks.append(DoseCheck(anaesthetic, total, min(by_weight, limit.max_mg), basis))
    return checks
