"""The pain trend across one patient's visits, as inline SVG: mean pain before and after each
visit on a time axis spaced by days.

Before and after differ without colour (a solid line with filled circles, a dashed line with
open squares), the legend sits outside the plot, and the time axis carries at most
MOST_LABELS labels however many visits there are. A de-identified export that shows dates as
the year only spaces the visits in their order ("visit 1", "visit 2"), not by days: days
between visits beside the visits' years give away months (day 0 in 2025 and day 14 in 2026
put the first visit in the last two weeks of December), which Safe Harbor removes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from tplog.export.select import ExportVisit

MOST_LABELS = 8
MOST_DATE_LABELS = 6  # an ISO date ("visit 113" too) is wide: fewer fit without touching
# Tick spacings tried, smallest first: a day, two, a week, two, four, eight, 13 weeks, 26, 52.
_STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 364, 728, 1456)

WIDTH, HEIGHT = 600, 250
# The plot area; the legend is to its right, outside it.
PLOT_LEFT, PLOT_TOP, PLOT_RIGHT, PLOT_BOTTOM = 56, 14, 440, 196
LEGEND_LEFT = 458

BEFORE_COLOUR, AFTER_COLOUR = "#B84A00", "#0072B2"  # Okabe-Ito vermillion (darkened), blue


@dataclass(frozen=True)
class Trend:
    """One patient's visits on the time axis: days since the first (or, with the dates
    removed, their order), and the mean pain before
    and after (None: no pain after recorded)."""

    days: tuple[int, ...]
    before: tuple[float, ...]
    after: tuple[float | None, ...]
    first_date: dt.date | None  # None: label the axis in days (the dates are not shown)


def of_visits(visits: Sequence[ExportVisit]) -> Trend:
    """The trend of one patient's visits, oldest first."""
    relative = visits[0].year_only
    if relative:
        days = tuple(range(len(visits)))  # in order: see the module's docstring
    else:
        days = tuple((v.visit_date - visits[0].visit_date).days for v in visits)
    before = tuple(sum(p.pain_before for p in v.points) / len(v.points) for v in visits)
    after = tuple((sum(a) / len(a)) if (a := [p.pain_after for p in v.points
                                             if p.pain_after is not None]) else None
                  for v in visits)
    return Trend(days, before, after, None if relative else visits[0].visit_date)


def tick_days(span: int, most: int = MOST_LABELS) -> list[int]:
    """Days (from 0) to label: evenly spaced, at most `most` of them."""
    step = next((s for s in _STEPS if span // s + 1 <= most), None)
    if step is None:
        step = -(-span // (most - 1))
    return list(range(0, span + 1, step))


def label(day: int, first_date: dt.date | None) -> str:
    if first_date is None:
        return f"visit {day + 1}"
    return (first_date + dt.timedelta(days=day)).isoformat()


def x_of(day: int, span: int) -> float:
    if span == 0:
        return (PLOT_LEFT + PLOT_RIGHT) / 2
    return PLOT_LEFT + day * (PLOT_RIGHT - PLOT_LEFT) / span


def y_of(pain: float) -> float:
    return PLOT_BOTTOM - pain * (PLOT_BOTTOM - PLOT_TOP) / 10


def _marker(series: str, x: float, y: float) -> str:
    if series == "before":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{BEFORE_COLOUR}"/>'
    return (f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="#fff" '
            f'stroke="{AFTER_COLOUR}" stroke-width="1.5"/>')


def _series(series: str, trend: Trend, values: Sequence[float | None], span: int) -> str:
    colour = BEFORE_COLOUR if series == "before" else AFTER_COLOUR
    dash = "" if series == "before" else ' stroke-dasharray="6 4"'
    # A visit without the value breaks the line: nothing is drawn as if it were known.
    runs: list[list[tuple[int, float, float]]] = [[]]
    for day, value in zip(trend.days, values, strict=True):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((day, x_of(day, span), y_of(value)))
    coords = [c for run in runs for c in run]
    line = "".join(f'<polyline class="{series}" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for _, x, y in run)
                   + f'" fill="none" stroke="{colour}" stroke-width="1.8"{dash}/>'
                   for run in runs if len(run) > 1)
    dots = "".join(f'<g class="{series}-mark" data-day="{day}" data-x="{x:.1f}">'
                   f'{_marker(series, x, y)}</g>' for day, x, y in coords)
    return line + dots


def svg(trend: Trend) -> str:
    """The trend as inline SVG."""
    span = max(trend.days) - min(trend.days) if trend.days else 0
    grid = "".join(
        f'<line x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}" '
        f'stroke="#ddd" stroke-width="0.8"/><text x="{PLOT_LEFT - 6}" y="{y_of(v) + 3.5:.1f}" '
        f'font-size="10" text-anchor="end" class="y-label">{v}</text>'
        for v in range(0, 11, 2))
    ticks = "".join(
        f'<line x1="{x_of(d, span):.1f}" x2="{x_of(d, span):.1f}" y1="{PLOT_BOTTOM}" '
        f'y2="{PLOT_BOTTOM + 4}" stroke="#444"/>'
        f'<text class="x-label" data-day="{d}" x="{x_of(d, span):.1f}" '
        f'y="{PLOT_BOTTOM + 16}" font-size="10" text-anchor="middle">'
        f'{escape(label(d, trend.first_date))}</text>' for d in tick_days(
            span, MOST_DATE_LABELS))
    x_title = ("Date of the visit" if trend.first_date is not None
               else "Visits in order (dates removed)")
    axes = (f'<rect class="plot-area" x="{PLOT_LEFT}" y="{PLOT_TOP}" '
            f'width="{PLOT_RIGHT - PLOT_LEFT}" height="{PLOT_BOTTOM - PLOT_TOP}" fill="none" '
            'stroke="#444" stroke-width="1"/>'
            f'<text class="x-title" x="{(PLOT_LEFT + PLOT_RIGHT) / 2}" y="{HEIGHT - 14}" '
            f'font-size="11" text-anchor="middle">{x_title}</text>'
            f'<text class="y-title" x="14" y="{(PLOT_TOP + PLOT_BOTTOM) / 2}" font-size="11" '
            f'text-anchor="middle" transform="rotate(-90 14 {(PLOT_TOP + PLOT_BOTTOM) / 2})">'
            "Mean pain (0-10)</text>")
    legend = (f'<g class="legend" data-x="{LEGEND_LEFT}">'
              f'<line x1="{LEGEND_LEFT}" x2="{LEGEND_LEFT + 26}" y1="30" y2="30" '
              f'stroke="{BEFORE_COLOUR}" stroke-width="1.8"/>'
              f'{_marker("before", LEGEND_LEFT + 13, 30)}'
              f'<text x="{LEGEND_LEFT + 32}" y="34" font-size="11">pain before</text>'
              f'<line x1="{LEGEND_LEFT}" x2="{LEGEND_LEFT + 26}" y1="52" y2="52" '
              f'stroke="{AFTER_COLOUR}" stroke-width="1.8" stroke-dasharray="6 4"/>'
              f'{_marker("after", LEGEND_LEFT + 13, 52)}'
              f'<text x="{LEGEND_LEFT + 32}" y="56" font-size="11">pain after</text></g>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" role="img" '
            f'aria-label="Mean pain before and after each visit" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
            'font-family="sans-serif" style="max-width: 100%; height: auto">'
            f"{grid}{axes}{ticks}"
            f'{_series("before", trend, trend.before, span)}'
            f'{_series("after", trend, trend.after, span)}{legend}</svg>')
