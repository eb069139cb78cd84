"""A summary's figures from what its points recorded: pain before, pain after and the signs.

Pain is a whole number 0-10 (a CHECK on both columns) and a sign was recorded yes, no or not
at all, so a point's findings take one of 11 x 12 x 3^4 values, its code (`code`). In the
pass that counts a group's visits (one sort of the points), the database lists the group's
codes; here they are counted by value (SQL has no aggregate that does: a histogram) into
cells, the points with one pain before and one pain after (`cells`), and every figure of
the summary is a sum over those: the means and shares, the reduction of mean pain with and
without each sign, the median of the % reductions (each cell's points share one).

Each figure comes out as the database computed it before (services.summary, git history):
the sums are whole numbers, exact in a double, and a mean or share is one correctly rounded
division, so these are the same floats, bit for bit; the median is each database's own
definition of it (`median`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func

from tplog.clinical import MODERATE_PERCENT, SUBSTANTIAL_PERCENT, reduction
from tplog.models import InjectedPoint
from tplog.points import SIGNS

# A code's pain after when none was recorded: past the 0-10 scale, so no pain's.
NO_PAIN_AFTER = 11


def code(point: type[InjectedPoint]) -> ColumnElement[Any]:
    """A point's findings as one whole number, in SQL: pain before and after in base 12,
    then each sign (points.SIGNS, in order) in base 3: 0 recorded yes, 1 no, 2 not at all.
    Read back by `cells`."""
    found: ColumnElement[Any] = (point.pain_before * 12
                                 + func.coalesce(point.pain_after, NO_PAIN_AFTER))
    for sign in SIGNS:
        column = getattr(point, sign.name)
        found = found * 3 + case((column.is_(True), 0), (column.is_(False), 1), else_=2)
    return found


def cells(codes: Iterable[str]) -> list[Cell]:
    """The cells of a group's points from their codes (`code`, as text)."""
    by_pain: dict[tuple[int, int | None], tuple[int, dict[str, list[int]]]] = {}
    for text, points in Counter(codes).items():
        number = int(text)
        recorded = {}
        for sign in reversed(SIGNS):
            number, recorded[sign.name] = divmod(number, 3)
        before, after = divmod(number, 12)
        key = (before, None if after == NO_PAIN_AFTER else after)
        counted, signs = by_pain.get(key, (0, {sign.name: [0, 0] for sign in SIGNS}))
        for name, state in recorded.items():
            if state < 2:  # 0: recorded with the sign, 1: without it
                signs[name][state] += points
        by_pain[key] = (counted + points, signs)
    return [Cell(before, after, points, {name: (yes, no) for name, (yes, no) in signs.items()})
            for (before, after), (points, signs) in by_pain.items()]


@dataclass(frozen=True)
class Cell:
    """A group's points with one pain before and one pain after (None: not recorded)."""

    pain_before: int
    pain_after: int | None
    points: int
    # Per sign (points.SIGNS, by name): how many were recorded with it, how many without.
    signs: Mapping[str, tuple[int, int]]

    @property
    def paired(self) -> bool:
        return self.pain_after is not None

    @property
    def percent(self) -> float | None:
        """The % reduction of each of these points, as the database computed it: a double,
        (before - after) * 100 / before. Reference: % reduction = (pre - post) / pre x 100,
        undefined (None) when pre = 0 or without a post."""
        if self.pain_after is None or self.pain_before <= 0:
            return None
        return float(self.pain_before - self.pain_after) * 100 / self.pain_before


@dataclass(frozen=True)
class Figures:
    mean_pain_before: float | None
    mean_pain_after: float | None
    reduction_of_mean: float | None
    median_reduction: float | None
    share_30: float | None
    share_50: float | None
    share_worse: float | None
    twitch_rate: float | None
    reduction_by_sign: dict[str, tuple[float | None, float | None]]


def figures(cells: Iterable[Cell], dialect: str) -> Figures:
    cells = list(cells)
    paired = [cell for cell in cells if cell.paired]
    points = sum(cell.points for cell in cells)
    counted = sum(cell.points for cell in paired)

    def of_paired(count: int) -> float | None:
        # A share of the points with a pain after (None without any, as AVG of no rows).
        return None if counted == 0 else count / counted

    # IMMPACT (Dworkin 2008): >= 30 % moderately, >= 50 % substantially important. Every
    # share is of the points with a pain after, so that improved and worse never add up to
    # more than all.
    def moved(cell: Cell, percent: int) -> bool:
        # Integer arithmetic, so exactly 30 % counts as 30 %.
        drop = cell.pain_before - (cell.pain_after or 0)
        return cell.pain_before > 0 and drop * 100 >= percent * cell.pain_before

    twitch_yes = sum(cell.signs["twitch_response"][0] for cell in cells)
    twitch_no = sum(cell.signs["twitch_response"][1] for cell in cells)
    return Figures(
        mean_pain_before=None if points == 0
        else sum(cell.pain_before * cell.points for cell in cells) / points,
        mean_pain_after=None if counted == 0
        else sum((cell.pain_after or 0) * cell.points for cell in paired) / counted,
        reduction_of_mean=_reduction_of_mean(paired, lambda cell: cell.points),
        median_reduction=median([(cell.percent, cell.points) for cell in paired
                                 if cell.percent is not None], dialect),
        share_30=of_paired(sum(c.points for c in paired if moved(c, MODERATE_PERCENT))),
        share_50=of_paired(sum(c.points for c in paired if moved(c, SUBSTANTIAL_PERCENT))),
        share_worse=of_paired(sum(c.points for c in paired
                                  if (c.pain_after or 0) > c.pain_before)),
        twitch_rate=None if twitch_yes + twitch_no == 0
        else twitch_yes / (twitch_yes + twitch_no),
        reduction_by_sign={sign.name: (
            _reduction_of_mean(paired, lambda cell, name=sign.name: cell.signs[name][0]),
            _reduction_of_mean(paired, lambda cell, name=sign.name: cell.signs[name][1]))
            for sign in SIGNS})


def _reduction_of_mean(paired: list[Cell], weight) -> float | None:  # type: ignore[no-untyped-def]
    """(mean before - mean after) / mean before over the points `weight` counts in each cell,
    in %, exactly (clinical.reduction); None without such points or at a mean before of 0."""
    counted = [(cell, weight(cell)) for cell in paired]
    if not any(count for _, count in counted):
        return None
    exact = reduction(sum(cell.pain_before * count for cell, count in counted),
                      sum((cell.pain_after or 0) * count for cell, count in counted))
    return None if exact is None else float(exact * 100)


def median(counted: list[tuple[float, int]], dialect: str) -> float | None:
    """The median of values given with how many times each occurs (None of none). Of an even
    count, between the two middle values as the database summarised them before: SQLite
    averaged the two, (a + b) / 2; PostgreSQL's percentile_cont(0.5) interpolates,
    a + 0.5 * (b - a). The two differ in the last bit for some pairs, which --json shows."""
    total = sum(count for _, count in counted)
    if total == 0:
        return None
    # 1-based ranks of the middle value(s): one rank when the count is odd.
    low_rank, high_rank = (total + 1) // 2, (total + 2) // 2
    low = high = None
    seen = 0
    for value, count in sorted(counted):
        seen += count
        if low is None and seen >= low_rank:
            low = value
        if seen >= high_rank:
            high = value
            break
    assert low is not None and high is not None
    if low_rank == high_rank:
        return low
    if dialect == "postgresql":
        return low + 0.5 * (high - low)
    return (low + high) / 2
