"""Plain, read-only results that services hand to the renderers and to --json."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

from tplog import clinical, vocab
from tplog.parse import Lot
from tplog.points import Point
from tplog.procedure import Measurement, Procedure


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite keeps no time zone; tplog always writes UTC, so say so on the way out."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class PatientView:
    mrn: str
    name: str
    date_of_birth: dt.date | None
    sex: str | None
    weight_kg: float | None
    visit_count: int
    last_visit_date: dt.date | None
    merged_into: str | None = None  # a duplicate's: the MRN of the patient it was merged into


@dataclass(frozen=True)
class PractitionerView:
    id: int
    name: str
    credentials: str | None
    npi: str | None
    created_at: dt.datetime

    @property
    def signed(self) -> str:
        """"Name, credentials" as a letterhead or a signature gives it."""
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


Peg = tuple[int, int, int]  # pain, enjoyment of life, general activity: each 0-10


def peg_score(peg: Peg | None) -> float | None:
    """The PEG score (the mean of the three items), to 0.1 as the measure is read."""
    score = None if peg is None else clinical.peg_score(*peg)
    return None if score is None else round(float(score), 1)


@dataclass(frozen=True)
class VoidView:
    reason: str
    voided_at: dt.datetime
    voided_by: str
    practitioner: str


@dataclass(frozen=True)
class AddendumView:
    id: int
    text: str
    created_at: dt.datetime
    created_by: str
    practitioner: str


@dataclass(frozen=True)
class WarningView:
    kind: str
    message: str
    confirmation: str | None


@dataclass(frozen=True)
class FollowUpView:
    id: int
    pain: int
    reported_on: dt.date
    note: str | None
    practitioner: str
    peg: Peg | None = None
    pgic: int | None = None  # 1-7, tplog.vocab.PGIC

    @property
    def peg_score(self) -> float | None:
        return peg_score(self.peg)


@dataclass(frozen=True)
class AdverseEventView:
    """Something that went wrong after a visit (tplog.vocab.ADVERSE_EVENT_KINDS)."""

    id: int
    kind: str
    severity: str | None
    occurred_on: dt.date
    outcome: str | None
    note: str | None
    practitioner: str

    @property
    def kind_name(self) -> str:
        known = vocab.ADVERSE_EVENT_BY_KEY.get(self.kind)
        return known.name if known is not None else self.kind

    @property
    def described(self) -> str:
        """One line: "2026-03-01 Vasovagal reaction, mild, resolved: felt faint"."""
        details = ", ".join(d for d in (self.severity, self.outcome) if d)
        return (f"{self.occurred_on} {self.kind_name}" + (f", {details}" if details else "")
                + (f": {self.note}" if self.note else ""))


@dataclass(frozen=True)
class AllergyView:
    id: int
    substance: str
    reaction: str | None
    since: dt.date | None
    drugs: tuple[str, ...]  # the drug keys it rules out (vocab.allergy_drugs); () for others

    @property
    def described(self) -> str:
        return (self.substance + (f" ({self.reaction})" if self.reaction else "")
                + (f", since {self.since}" if self.since else "") + f" [allergy {self.id}]")


@dataclass(frozen=True)
class AnticoagulantView:
    drug: str | None  # None: use recorded without naming the drug
    since: dt.date | None


@dataclass(frozen=True)
class ScreenView:
    """A patient's pre-procedure screen as it stands: allergies not ended, anticoagulants or
    antiplatelets on, the latest bleeding-disorder answer. None: never recorded."""

    mrn: str
    allergies: tuple[AllergyView, ...] = ()
    allergies_recorded: bool = False  # any allergy record, ended ones included
    anticoagulants: tuple[AnticoagulantView, ...] | None = None
    anticoagulants_off_since: dt.date | None = None
    bleeding_disorder: bool | None = None
    bleeding_note: str | None = None

    @property
    def lines(self) -> tuple[str, ...]:
        """The screen as the clinician reads it, one line per question."""
        allergies = ("; ".join(a.described for a in self.allergies) if self.allergies
                     else "none current" if self.allergies_recorded else "none recorded")
        if self.anticoagulants is None:
            anticoagulants = "not recorded"
        elif self.anticoagulants:
            anticoagulants = "on " + "; ".join(
                (a.drug or "(drug not named)") + (f" since {a.since}" if a.since else "")
                for a in self.anticoagulants)
        else:
            anticoagulants = "off" + (f" since {self.anticoagulants_off_since}"
                                      if self.anticoagulants_off_since else "")
        bleeding = ("not recorded" if self.bleeding_disorder is None
                    else "yes" if self.bleeding_disorder else "no")
        if self.bleeding_note:
            bleeding += f" ({self.bleeding_note})"
        return (f"Allergies: {allergies}", f"Anticoagulant/antiplatelet: {anticoagulants}",
                f"Bleeding disorder: {bleeding}")


@dataclass(frozen=True)
class RevisionView:
    """One version of a visit's record, with what changed from the one before."""

    number: int
    visit_date: dt.date
    practitioner: str
    conditions: tuple[str, ...]
    note: str | None
    reason: str | None
    created_at: dt.datetime
    created_by: str
    points: tuple[Point, ...]
    changes: tuple[str, ...] = ()
    procedure: Procedure = Procedure()
    range_of_motion: tuple[Measurement, ...] = ()
    peg: Peg | None = None


@dataclass(frozen=True)
class VisitView:
    """A visit as its latest revision says, with its voiding and addenda."""

    id: int
    mrn: str
    patient_name: str
    visit_date: dt.date
    practitioner: str
    conditions: tuple[str, ...]
    note: str | None
    created_at: dt.datetime  # when the visit was first logged
    created_by: str
    points: tuple[Point, ...]
    revision: int = 1
    void: VoidView | None = None
    addenda: tuple[AddendumView, ...] = ()
    revisions: tuple[RevisionView, ...] = ()  # filled only when asked for
    warnings: tuple[WarningView, ...] = ()
    follow_ups: tuple[FollowUpView, ...] = ()
    # The patient's day: every non-voided visit on this date (this one included), the
    # day's local anaesthetics against the limits, and the day's billing suggestions.
    day_visits: tuple[int, ...] = ()
    dose: clinical.DoseCheck | None = None
    cpt: tuple[clinical.CptSuggestion, ...] = ()
    # The procedure as documented, and the ranges of motion measured (revision 0010).
    procedure: Procedure = Procedure()
    range_of_motion: tuple[Measurement, ...] = ()
    # Each drug's lot and expiry; each steroid's mg here and in the 12 months to the visit.
    lots: tuple[Lot, ...] = ()
    steroids: tuple[clinical.SteroidDose, ...] = ()
    peg: Peg | None = None  # PEG asked at the visit (revision 0013)
    # The record of the practitioner named, when there is one (linked by the name).
    practitioner_record: PractitionerView | None = None

    @property
    def peg_score(self) -> float | None:
        return peg_score(self.peg)

    @property
    def practitioner_signed(self) -> str:
        """"Name, credentials" (the name alone without a record or credentials)."""
        record = self.practitioner_record
        return record.signed if record is not None else self.practitioner
    pregnant: str | None = None  # yes, no, unknown; None: not asked (revision 0012)
    adverse_events: tuple[AdverseEventView, ...] = ()

    @property
    def dose_unconfirmed(self) -> bool:
        """The day's dose needs confirmation by the records as they are now (a weight or a
        same-day visit added since, say), and none was recorded when this visit was saved."""
        return (self.dose is not None and self.dose.needs_confirmation
                and not any(w.kind == "dose" and w.confirmation for w in self.warnings))

    @property
    def change(self) -> clinical.Change | None:
        """The change in mean pain over the points with a pain after (not a mean of the
        points' percentages: reference, outcome thresholds)."""
        return clinical.change_of_mean((p.pain_before, p.pain_after) for p in self.points)

    @property
    def percent_reduction(self) -> float | None:
        change = self.change
        return None if change is None else change.percent

    @property
    def band(self) -> str | None:
        change = self.change
        return None if change is None else change.band

    @property
    def mean_pain_before(self) -> Fraction:
        return Fraction(sum(p.pain_before for p in self.points), len(self.points))

    def days_after(self, follow_up: FollowUpView) -> int:
        return (follow_up.reported_on - self.visit_date).days

    def relief_at(self, follow_up: FollowUpView) -> float | None:
        """% relief at a follow-up, against the visit's mean pain before injection."""
        return clinical.relief_at(self.mean_pain_before, follow_up.pain)

    @property
    def relief_days(self) -> int | None:
        """Days the unbroken run of follow-ups at >= 30 % relief lasted; None without
        follow-ups or when relief is undefined."""
        return clinical.relief_lasted(self.mean_pain_before, self.visit_date,
                                      [(f.reported_on, f.pain) for f in self.follow_ups])

    @property
    def dose_totals(self) -> dict[str, float]:
        """This visit's own mg of each local anaesthetic."""
        return {name: float(mg) for name, mg in
                clinical.dose_totals([part for p in self.points for part in p.doses]).items()}


@dataclass(frozen=True)
class AdverseEventRate:
    """One kind of adverse event (or all of them) over the visits summarised."""

    kind: str  # a key of vocab.ADVERSE_EVENT_KINDS, or "all"
    name: str
    events: int
    points: int  # injected at the visits summarised

    @property
    def per_thousand_points(self) -> float | None:
        return None if not self.points else 1000 * self.events / self.points


@dataclass(frozen=True)
class SummaryRow:
    group: str
    visits: int
    points: int
    mean_pain_before: float | None
    mean_pain_after: float | None  # both means over the points with a pain after
    # (mean before - mean after) / mean before, in %: reference, outcome thresholds.
    reduction_of_mean: float | None
    median_reduction: float | None  # the median of the points' % reductions
    share_30: float | None  # share of the points with a pain after that improved >= 30 %
    share_50: float | None
    share_worse: float | None  # ... where pain rose
    twitch_rate: float | None  # share of points with a recorded twitch that had one
    reduction_with_twitch: float | None = None  # reduction of mean pain, twitch recorded yes
    reduction_without_twitch: float | None = None  # ... recorded no
    mean_relief_days: float | None = None  # over visits with follow-ups
    visits_followed_up: int = 0
    # Per sign of the trigger point (points.SIGNS, by name): the reduction of mean pain of
    # the points recorded with it, and of those recorded without it.
    reduction_by_sign: dict[str, tuple[float | None, float | None]] = field(
        default_factory=dict)
