"""The pain trend across visits (issue 15): a time axis spaced by days with at most eight
labels, titled axes, the legend outside the plot, before and after told apart without colour;
de-identified to the year only, the axis counts days."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from xml.etree import ElementTree

import pytest

from tests.conftest import built_once
from tplog.export import trendchart

SVG = "{http://www.w3.org/2000/svg}"


def parse(text):
    return ElementTree.fromstring(text)


def by_class(root, name):
    return [e for e in root.iter() if e.get("class") == name]


def thirty_visits():
    # Irregular gaps, 1 to 30 days, over about a year.
    days, day = [], 0
    for n in range(30):
        days.append(day)
        day += 1 + (n * 7) % 30
    before = tuple(float(6 + n % 4) for n in range(30))
    after = tuple(None if n % 9 == 4 else float(2 + n % 3) for n in range(30))
    return days, before, after


def label_width(text):
    return 6.0 * len(text)  # generous for 10 px sans-serif


@pytest.mark.parametrize("first_date", [dt.date(2025, 3, 3), None])
def test_thirty_visits_few_labels_days_to_scale_legend_outside(first_date):
    days, before, after = thirty_visits()
    root = parse(trendchart.svg(trendchart.Trend(tuple(days), before, after, first_date)))
    labels = by_class(root, "x-label")
    assert 2 <= len(labels) <= 8
    # Labels do not touch each other.
    for left_label, right_label in itertools.pairwise(labels):
        gap = float(right_label.get("x")) - float(left_label.get("x"))
        assert gap > (label_width(left_label.text) + label_width(right_label.text)) / 2
    if first_date is None:
        assert all(re.fullmatch(r"visit \d+", t.text) for t in labels)
    else:
        assert labels[0].text == "2025-03-03"
    # Every visit's marks at x proportional to its day.
    span = days[-1]
    area = by_class(root, "plot-area")[0]
    left, width = float(area.get("x")), float(area.get("width"))
    top, height = float(area.get("y")), float(area.get("height"))
    marks = by_class(root, "before-mark")
    assert [int(m.get("data-day")) for m in marks] == days
    for mark in marks + by_class(root, "after-mark"):
        x = float(mark.get("data-x"))
        assert x == pytest.approx(left + width * int(mark.get("data-day")) / span, abs=0.06)
    assert len(by_class(root, "after-mark")) == sum(a is not None for a in after)
    # Labels at x proportional to their day too.
    for label in labels:
        assert float(label.get("x")) == pytest.approx(
            left + width * int(label.get("data-day")) / span, abs=0.06)
    # The legend lies wholly outside the plot area.
    legend = by_class(root, "legend")[0]
    for element in legend.iter():
        for attribute in ("x", "x1", "x2", "cx"):
            if element.get(attribute) is not None:
                assert float(element.get(attribute)) > left + width
    # Axes titled.
    assert by_class(root, "y-title")[0].text == "Mean pain (0-10)"
    assert by_class(root, "x-title")[0].text == ("Visits in order (dates removed)"
                                                 if first_date is None else "Date of the visit")
    # Within the plot vertically: 0-10 maps into it.
    for mark in marks:
        shape = mark[0]
        assert top <= float(shape.get("cy")) <= top + height


def test_before_and_after_differ_without_colour():
    days, before, after = thirty_visits()
    root = parse(trendchart.svg(trendchart.Trend(tuple(days), before, after, None)))
    before_line = by_class(root, "before")[0]
    after_line = by_class(root, "after")[0]
    assert before_line.get("stroke-dasharray") is None
    assert after_line.get("stroke-dasharray")  # dashed
    assert {m[0].tag for m in by_class(root, "before-mark")} == {f"{SVG}circle"}
    assert {m[0].tag for m in by_class(root, "after-mark")} == {f"{SVG}rect"}
    assert {m[0].get("fill") for m in by_class(root, "after-mark")} == {"#fff"}  # open


def test_tick_spacing_stays_within_eight_labels():
    for span in (0, 1, 6, 7, 13, 30, 90, 200, 365, 1000, 5000, 20000):
        ticks = trendchart.tick_days(span)
        assert ticks[0] == 0 and len(ticks) <= 8 and ticks[-1] <= span


@built_once
def three_visits(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    # Day 0, day 14 (across the new year), day 70.
    for date, after in (("2025-12-22", "3"), ("2026-01-05", "4"), ("2026-03-02", "2")):
        clinic.ok("log", "P0001", "--date", date,
                  "--point", f"upper-trapezius:L pre=7 post={after}",
                  "--point", "obturator-internus:R pre=5")
    return clinic


def trend_of(page):
    return parse(re.search(r'<svg[^>]*class="trend-chart".*?</svg>', page, re.S).group(0))


def test_html_trend_spaces_visits_by_days(three_visits):
    root = trend_of(three_visits.ok("export", "P0001", "-f", "html").stdout)
    marks = by_class(root, "before-mark")
    assert [int(m.get("data-day")) for m in marks] == [0, 14, 70]
    xs = [float(m.get("data-x")) for m in marks]
    assert (xs[1] - xs[0]) * 5 == pytest.approx(xs[2] - xs[0], abs=0.3)
    assert [t.text for t in by_class(root, "x-label")][0] == "2025-12-22"


def test_year_only_trend_spaces_visits_in_order_and_shows_no_date(three_visits):
    """Days between visits beside their years would give away months (day 0 in 2025, day 14
    in 2026: the last two weeks of December): a year-only export orders, never dates."""
    page = three_visits.ok("export", "P0001", "-f", "html", "--deidentify").stdout
    chart = re.search(r'<svg[^>]*class="trend-chart".*?</svg>', page, re.S).group(0)
    root = trend_of(page)
    assert [int(m.get("data-day")) for m in by_class(root, "before-mark")] == [0, 1, 2]
    labels = [t.text for t in by_class(root, "x-label")]
    assert labels == ["visit 1", "visit 2", "visit 3"]
    assert "Visits in order (dates removed)" in chart
    assert "2025" not in chart and "2026" not in chart and "day 14" not in chart
    assert "2025-12-22" not in page and "12-22" not in page
