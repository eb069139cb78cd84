"""Plain, read-only results that services hand to the renderers and to --json."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tplog import vocab
from tplog.entry import percent_reduction


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


@dataclass(frozen=True)
class PointView:
    position: int
    muscle: str
    side: str
    pain_before: int
    pain_after: int | None
    twitch_response: bool | None
    soreness: str | None
    numbness: bool | None
    drug: str | None
    volume_ml: float | None

    @property
    def muscle_name(self) -> str:
        return vocab.MUSCLE_BY_KEY[self.muscle].name

    @property
    def region(self) -> str:
        return vocab.MUSCLE_BY_KEY[self.muscle].region

    @property
    def pain_change(self) -> int | None:
        return None if self.pain_after is None else self.pain_after - self.pain_before

    @property
    def percent_reduction(self) -> float | None:
        return percent_reduction(self.pain_before, self.pain_after)


@dataclass(frozen=True)
class VoidView:
    reason: str
    voided_at: dt.datetime
    voided_by: str
    practitioner: str


@dataclass(frozen=True)
class AddendumView:
    text: str
    created_at: dt.datetime
    created_by: str
    practitioner: str


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
    points: tuple[PointView, ...]
    changes: tuple[str, ...] = ()


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
    points: tuple[PointView, ...]
    revision: int = 1
    void: VoidView | None = None
    addenda: tuple[AddendumView, ...] = ()
    revisions: tuple[RevisionView, ...] = ()  # filled only when asked for

    @property
    def mean_percent_reduction(self) -> float | None:
        """Mean of the points' % reductions, over the points where it is defined."""
        defined = [p.percent_reduction for p in self.points if p.percent_reduction is not None]
        return sum(defined) / len(defined) if defined else None


@dataclass(frozen=True)
class SummaryRow:
    group: str
    visits: int
    points: int
    mean_pain_before: float | None
    mean_pain_after: float | None
    mean_percent_reduction: float | None
    share_30: float | None  # share of points with a defined % reduction that reached >= 30 %
    share_50: float | None
    twitch_rate: float | None  # share of points with a recorded twitch that had one
