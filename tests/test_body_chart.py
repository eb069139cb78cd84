"""The body chart's geometry (issue 15), checked on the SVG it draws: every muscle's marker
inside the body and inside its muscle, on the patient's own side; no marker over another;
several points in one muscle spread out; bands told apart by shape and by luminance."""

from __future__ import annotations

import re
from itertools import combinations
from math import hypot
from xml.etree import ElementTree

import pytest

from tplog import vocab
from tplog.export import bodychart
from tplog.points import Point

SVG = "{http://www.w3.org/2000/svg}"


def contains(polygon, x, y):
    """Even-odd point in polygon, written here rather than taken from the code under test."""
    inside = False
    n = len(polygon)
    for i in range(n):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross:
                inside = not inside
    return inside


def path_points(d):
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+) (-?[\d.]+)", d)]


class Chart:
    """A drawn chart, read back: its markers, the body outline of each panel and the region
    of each injected muscle and side."""

    def __init__(self, points=None, *, text=None):
        self.text = bodychart.svg(points) if text is None else text
        root = ElementTree.fromstring(self.text)
        self.outlines = {}
        self.regions = {}
        for panel in root.iter(f"{SVG}g"):
            if panel.get("class") != "panel":
                continue
            for path in panel.iter(f"{SVG}path"):
                if path.get("class") == "outline":
                    self.outlines[panel.get("data-panel")] = path_points(path.get("d"))
                elif path.get("class") == "region":
                    self.regions[(path.get("data-muscle"), path.get("data-side"))] = \
                        path_points(path.get("d"))
        self.markers = [g for g in root.iter(f"{SVG}g") if g.get("class") == "point"]
        self.legend = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend-band"]

    @staticmethod
    def centre(marker):
        return float(marker.get("data-x")), float(marker.get("data-y"))


def every_muscle(sides="LR", times=1):
    points, n = [], 0
    for side in sides:
        for muscle in vocab.MUSCLES:
            for _ in range(times):
                n += 1
                points.append(Point(muscle=muscle.key, side=side, pain_before=7,
                                    pain_after=(7, 3, 4, 8, None)[n % 5], position=n))
    return points


def assert_on_its_side(marker):
    side, view = marker.get("data-side"), marker.get("data-view")
    if view == "head":  # one panel for each side of the head
        assert marker.get("data-panel") == ("head-left" if side == "L" else "head-right")
        return
    x = float(marker.get("data-x"))
    midline = float(marker.get("data-midline"))
    # From the front (and from below, lying on the back) the patient's left is on the
    # viewer's right; from the back, on the viewer's left.
    on_viewers_right = x > midline
    assert on_viewers_right == ((side == "L") == (view in ("front", "pelvis"))), marker.attrib


def assert_placed(chart, marker):
    x, y = Chart.centre(marker)
    key = (marker.get("data-muscle"), marker.get("data-side"))
    assert contains(chart.outlines[marker.get("data-panel")], x, y), ("outside the body", key)
    assert contains(chart.regions[key], x, y), ("outside its muscle", key)
    assert_on_its_side(marker)


def assert_apart(markers):
    for a, b in combinations(markers, 2):
        (ax, ay), (bx, by) = Chart.centre(a), Chart.centre(b)
        assert hypot(ax - bx, ay - by) >= 2 * bodychart.RADIUS, (a.attrib, b.attrib)


def test_every_muscle_of_the_vocabulary_has_a_place_on_the_chart():
    assert set(bodychart.SITES) == {m.key for m in vocab.MUSCLES}


@pytest.mark.parametrize("muscle", [m.key for m in vocab.MUSCLES])
@pytest.mark.parametrize("side", ["L", "R"])
def test_each_muscle_is_marked_inside_the_body_in_its_muscle_on_its_side(muscle, side):
    chart = Chart([Point(muscle=muscle, side=side, pain_before=6, pain_after=2, position=1)])
    (marker,) = chart.markers
    assert marker.get("data-muscle") == muscle and marker.get("data-side") == side
    assert_placed(chart, marker)


def test_every_muscle_on_both_sides_in_one_visit_no_marker_over_another():
    points = every_muscle()
    chart = Chart(points)
    assert len(chart.markers) == len(points) == 2 * len(vocab.MUSCLES)
    for marker in chart.markers:
        assert_placed(chart, marker)
    assert_apart(chart.markers)
    # The points are numbered as in the visit's table.
    assert [int(m.find(f"{SVG}text").text) for m in chart.markers] == \
        [p.position for p in points]


@pytest.mark.parametrize("muscle", [m.key for m in vocab.MUSCLES])
def test_three_points_in_one_muscle_and_side_are_three_markers_inside_it(muscle):
    points = [Point(muscle=muscle, side="R", pain_before=5, pain_after=2, position=n)
              for n in (1, 2, 3)]
    chart = Chart(points)
    assert len(chart.markers) == 3
    for marker in chart.markers:
        assert_placed(chart, marker)
    assert_apart(chart.markers)


def test_a_crowded_visit_still_places_every_point_in_its_muscle():
    # Every muscle, both sides, three times: over 300 markers. Where a muscle has no room
    # left they may touch, but each stays in its own muscle.
    chart = Chart(every_muscle(times=3))
    assert len(chart.markers) == 6 * len(vocab.MUSCLES)
    for marker in chart.markers:
        assert_placed(chart, marker)


def relative_luminance(colour):
    """WCAG 2.x relative luminance of an #RRGGBB colour."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_bands_differ_by_shape_and_by_luminance_with_dark_numbers():
    chart = Chart(every_muscle())
    fills = {g.get("data-band"): g.get("data-fill") for g in chart.legend}
    assert set(fills) == {"substantial", "moderate", "little", "worse", "unknown"}
    for a, b in combinations(fills.values(), 2):
        assert abs(relative_luminance(a) - relative_luminance(b)) >= 0.20, (a, b)
    for fill in fills.values():  # black numbers on every fill: WCAG AA contrast
        assert (relative_luminance(fill) + 0.05) / 0.05 >= 4.5, fill
    # Each band its own shape (so greyscale and colour-blind readers tell them apart), and
    # each marker drawn with its band's shape and fill.
    shapes = {}
    for marker in chart.markers:
        shape = next(child for child in marker if child.tag != f"{SVG}title")
        kind = (shape.tag, shape.get("stroke-dasharray"), len(shape.get("points", "").split()))
        shapes.setdefault(marker.get("data-band"), set()).add(kind)
        assert shape.get("fill") == fills[marker.get("data-band")]
        assert marker.find(f"{SVG}text").get("fill") == "#000"
    assert all(len(kinds) == 1 for kinds in shapes.values())
    assert len({kinds.pop() for kinds in shapes.values()}) == 5


def test_outlines_differ_front_and_back_and_the_sides_are_labelled():
    chart = Chart([])
    assert chart.outlines["front"] != chart.outlines["back"]
    front = [x - 150 for x, _ in chart.outlines["front"]]
    assert max(front) > 95  # hands reach out beside the hips
    root = ElementTree.fromstring(chart.text)
    labels = {(t.get("data-side"), float(t.get("x"))) for t in root.iter(f"{SVG}text")
              if t.get("class") == "side-label"}
    # Front (midline 150): L on the right; back (midline 450): L on the left.
    assert ("L", round(150 + 62 * 1.55, 1)) in {(s, round(x, 1)) for s, x in labels}
    assert ("L", round(450 - 62 * 1.55, 1)) in {(s, round(x, 1)) for s, x in labels}
