"""The body chart: each injected point marked where its muscle is, on the patient's own side,
by the band of its pain change (shape and colour both).

Five panels, drawn from the geometry in tplog.export.anatomy (kept as data, so that tests
can check it): the body from the front and from the back, the head and neck from each side
(its muscles are too close together to read on the whole body), and the pelvic floor from
below (its muscles are internal, so they get a panel of their own instead of a spot on the
skin).

Coordinates are the patient's LEFT side, in each panel's own units: on the body and the pelvic
floor, x is the distance from the midline towards the patient's left; on the head, x is the
distance forward (towards the face). The right side mirrors the left. Seen from the front (and
from below, the patient lying on the back) the patient's left is on the viewer's right; seen
from the back it is on the viewer's left. Every panel is labelled L and R (or by its side), so
a reader never has to work that out.

Each muscle has a region (the muscle's outline, shaded when it was injected) and up to three
anchors inside it: the first point in a muscle and side goes to the first anchor, the next to
the next; a point whose anchor is taken, or beyond the third, goes to the nearest free spot
inside the region, so no marker hides another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from math import cos, hypot, pi, sin

from tplog.export.anatomy import BACK, FRONT, HEAD, LANDMARKS, OUTLINES, PELVIS, SITES, XY, Polygon
from tplog.points import Point

# --- the panels -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Panel:
    """One picture: what it shows (`view`), whose side when it shows one side only, its title,
    and where it sits: local (x, y) -> (origin_x + flip * x * scale, origin_y + y * scale)."""

    name: str
    view: str
    side: str | None
    title: str
    origin_x: float
    origin_y: float
    scale: float
    flip: int  # +1: the local +x to the viewer's right

    def screen(self, x: float, y: float, side: str) -> XY:
        local_x = x if self.side is not None or side == "L" else -x
        return (self.origin_x + self.flip * local_x * self.scale,
                self.origin_y + y * self.scale)

    def screen_polygon(self, polygon: Iterable[XY], side: str = "L") -> Polygon:
        return tuple(self.screen(x, y, side) for x, y in polygon)


_MAIN_TOP, _INSET_TOP = 40.0, 740.0
PANELS: tuple[Panel, ...] = (
    Panel("front", FRONT, None, "Front", 150, _MAIN_TOP, 1.55, +1),
    Panel("back", BACK, None, "Back", 450, _MAIN_TOP, 1.55, -1),
    # Looking at the patient's right side, the face points to the viewer's right.
    Panel("head-right", HEAD, "R", "Head and neck, right side", 30, _INSET_TOP, 2.5, +1),
    Panel("head-left", HEAD, "L", "Head and neck, left side", 380, _INSET_TOP, 2.5, -1),
    Panel("pelvis", PELVIS, None, "Pelvic floor, from below", 505, _INSET_TOP + 12, 2.2, +1),
)
PANEL_BY_NAME = {p.name: p for p in PANELS}
WIDTH, HEIGHT = 620, 1090


def panels_showing(muscle: str, side: str) -> Panel:
    """The panel where a point of this muscle and side is marked."""
    view = SITES[muscle].view
    return next(p for p in PANELS if p.view == view and p.side in (None, side))


def outline(panel: Panel) -> Polygon:
    """The body's outline in the panel, in the SVG's coordinates."""
    return panel.screen_polygon(OUTLINES[panel.view])


def region(muscle: str, side: str) -> Polygon:
    """The muscle's region for that side, in the SVG's coordinates."""
    return panels_showing(muscle, side).screen_polygon(SITES[muscle].region, side)


# --- the markers ----------------------------------------------------------------------------

RADIUS = 8.0  # every marker fits in a circle this big (SVG units)
GAP = 1.0  # between two markers


@dataclass(frozen=True)
class Marker:
    point: Point
    panel: Panel
    x: float
    y: float


def inside(polygon: Sequence[XY], x: float, y: float) -> bool:
    """Even-odd rule: a ray to the right crosses the outline an odd number of times."""
    crossings = False
    for (x1, y1), (x2, y2) in zip(polygon, (*polygon[1:], polygon[0]), strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            crossings = not crossings
    return crossings


def _free(x: float, y: float, taken: Sequence[XY]) -> bool:
    return all(hypot(x - tx, y - ty) >= 2 * RADIUS + GAP for tx, ty in taken)


def _spot(point: Point, nth: int, taken: list[XY]) -> tuple[Panel, XY]:
    """The nth point of this muscle and side: its anchor if free, else the nearest free spot
    in the region (spiralling out from the anchors), else (a crowded muscle) the spot in the
    region farthest from the other markers."""
    panel = panels_showing(point.muscle, point.side)
    site = SITES[point.muscle]
    anchors = [panel.screen(x, y, point.side) for x, y in site.anchors]
    first = anchors[nth % len(anchors)]
    if nth < len(anchors) and _free(*first, taken):
        return panel, first
    area = region(point.muscle, point.side)
    body = outline(panel)
    best, room = first, -1.0
    for ring in range(1, 40):
        for step in range(6 * ring):
            angle = 2 * pi * step / (6 * ring)
            for ax, ay in anchors:
                x, y = ax + 2.5 * ring * cos(angle), ay + 2.5 * ring * sin(angle)
                if not (inside(area, x, y) and inside(body, x, y)):
                    continue
                if _free(x, y, taken):
                    return panel, (x, y)
                nearest = min(hypot(x - tx, y - ty) for tx, ty in taken)
                if nearest > room:
                    best, room = (x, y), nearest
    return panel, best


def place(points: Sequence[Point]) -> list[Marker]:
    """Where each point's marker goes: first points at their first anchors (so a muscle's
    first point is always in the same place), then the rest."""
    seen: dict[tuple[str, str], int] = {}
    order = []
    for p in points:
        nth = seen.get((p.muscle, p.side), 0)
        seen[(p.muscle, p.side)] = nth + 1
        order.append((nth, p))
    taken: list[XY] = []
    markers: dict[int, Marker] = {}
    for index in sorted(range(len(order)), key=lambda i: order[i][0]):
        nth, p = order[index]
        panel, (x, y) = _spot(p, nth, taken)
        taken.append((x, y))
        markers[index] = Marker(p, panel, x, y)
    return [markers[i] for i in range(len(order))]


# --- the bands ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Band:
    key: str | None  # clinical.band_of
    label: str
    shape: str
    fill: str


# IMMPACT bands (reference: Dworkin 2008) and "worse" (pain that rose: reference, "Pain scale
# and outcome thresholds"). Shape and colour both carry the band, so it reads in greyscale and
# to a colour-blind reader: Okabe-Ito hues, lightened or darkened so that the fills' WCAG
# relative luminances are 0.18, 0.39, 0.59, 0.80 and 1.0 (at least 0.2 apart), all light enough
# for black numbers (contrast >= 4.5).
BANDS: tuple[Band, ...] = (
    Band("substantial", ">= 50 % less pain", "circle", "#008762"),
    Band("moderate", "30-49 % less pain", "square", "#4EB1E8"),
    Band("little", "< 30 % less pain", "diamond", "#F4EB70"),
    Band("worse", "more pain", "triangle", "#FFC031"),
    Band(None, "not known (no pain after, or none before)", "dashed", "#FFFFFF"),
)
BAND_BY_KEY = {b.key: b for b in BANDS}


# How the chart is drawn, in SVG units (the SVG here and tplog.export.pdf_chart both use these).
OUTLINE_FILL, OUTLINE_STROKE, OUTLINE_STROKE_WIDTH = "#f6f1ea", "#555", 1.4
LANDMARK_STROKE, LANDMARK_STROKE_WIDTH = "#9a8f84", 0.9
REGION_FILL, REGION_OPACITY = "#c9b8d8", 0.45
REGION_STROKE, REGION_STROKE_WIDTH = "#7a5c99", 0.8
DEEP_REGION = (3.0, 2.0)  # dash and gap
MARKER_STROKE, MARKER_STROKE_WIDTH = "#222", 1.2
DASHED_MARKER = (2.5, 1.5)
LEGEND_RADIUS = 7.0


@dataclass(frozen=True)
class Label:
    x: float  # the middle of the text
    y: float  # its baseline
    text: str
    size: float
    bold: bool = False
    colour: str | None = None  # None: black
    side: str | None = None  # the L or R beside a panel of both sides


@dataclass(frozen=True)
class LegendItem:
    band: Band | None  # None: a line of the note under the bands
    x: float
    y: float
    text_x: float
    text_y: float
    text: str
    size: float
    colour: str | None = None


def _number(value: float) -> str:
    return f"{value}"


def _shape(band: Band, x: float, y: float, r: float = RADIUS) -> str:
    common = f'fill="{band.fill}" stroke="{MARKER_STROKE}" ' \
             f'stroke-width="{_number(MARKER_STROKE_WIDTH)}"'
    if band.shape == "square":
        s = r * 0.78
        return f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" ' \
               f'height="{2 * s:.1f}" {common}/>'
    if band.shape == "diamond":
        return (f'<polygon points="{x:.1f},{y - r:.1f} {x + r:.1f},{y:.1f} {x:.1f},'
                f'{y + r:.1f} {x - r:.1f},{y:.1f}" {common}/>')
    if band.shape == "triangle":
        top, base, half = y - r, y + r * 0.62, r * 0.95
        return (f'<polygon points="{x:.1f},{top:.1f} {x + half:.1f},{base:.1f} '
                f'{x - half:.1f},{base:.1f}" {common}/>')
    dash = ' stroke-dasharray="{} {}"'.format(*DASHED_MARKER) if band.shape == "dashed" \
        else ""
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 1:.1f}" {common}{dash}/>'


def number_size(position: int) -> float:
    """The font size of a marker's number (two digits smaller)."""
    return 9 if position < 10 else 7.5


def number_drop(band: Band) -> float:
    """From a marker's centre down to its number's baseline."""
    return 3.2 if band.shape != "triangle" else 4.5


def _marker(m: Marker) -> str:
    p, band = m.point, BAND_BY_KEY[m.point.band]
    title = escape(f"{p.position}. {p.muscle_name} {'left' if p.side == 'L' else 'right'}: "
                   f"pain {p.pain_before} → {'?' if p.pain_after is None else p.pain_after}"
                   f" ({band.label})")
    size = number_size(p.position)
    dy = number_drop(band)
    return (f'<g class="point" data-muscle="{p.muscle}" data-side="{p.side}" '
            f'data-view="{m.panel.view}" data-panel="{m.panel.name}" '
            f'data-band="{p.band or "unknown"}" data-x="{m.x:.1f}" data-y="{m.y:.1f}"'
            f'{_midline(m.panel)}>'
            f'<title>{title}</title>{_shape(band, m.x, m.y)}'
            f'<text x="{m.x:.1f}" y="{m.y + dy:.1f}" font-size="{size}" font-weight="bold" '
            f'text-anchor="middle" fill="#000">{p.position}</text></g>')


# --- drawing --------------------------------------------------------------------------------

def _path(points: Iterable[XY], closed: bool) -> str:
    coords = " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
    return f"M{coords}{' Z' if closed else ''}"


def landmarks(panel: Panel) -> list[tuple[Polygon, bool]]:
    """The panel's landmark lines (clavicles, spine, ...), each with whether it is closed."""
    lines = []
    for line in LANDMARKS[panel.view]:
        closed = line[0] == line[-1]
        sides = ("L",) if panel.side is not None or all(x == 0 for x, _ in line) else "LR"
        for side in sides:
            lines.append((panel.screen_polygon(line, side), closed))
    return lines


def regions(panel: Panel, injected: set[tuple[str, str]]) -> list[tuple[str, str, Polygon,
                                                                         bool]]:
    """The injected muscles' regions in this panel: muscle, side, region, whether deep."""
    return [(muscle, side, region(muscle, side), muscle in _DEEP)
            for muscle, side in sorted(injected) if panels_showing(muscle, side) is panel]


def _panel(panel: Panel, injected: set[tuple[str, str]]) -> str:
    parts = [f'<g class="panel" data-panel="{panel.name}">',
             f'<path class="outline" d="{_path(outline(panel), True)}" '
             f'fill="{OUTLINE_FILL}" stroke="{OUTLINE_STROKE}" '
             f'stroke-width="{_number(OUTLINE_STROKE_WIDTH)}" stroke-linejoin="round"/>']
    for drawn, closed in landmarks(panel):
        parts.append(f'<path class="landmark" d="{_path(drawn, closed)}" fill="none" '
                     f'stroke="{LANDMARK_STROKE}" '
                     f'stroke-width="{_number(LANDMARK_STROKE_WIDTH)}"/>')
    for muscle, side, polygon, deep in regions(panel, injected):
        dash = ' stroke-dasharray="{:g} {:g}"'.format(*DEEP_REGION) if deep else ""
        parts.append(f'<path class="region" data-muscle="{muscle}" data-side="{side}" '
                     f'd="{_path(polygon, True)}" fill="{REGION_FILL}" '
                     f'fill-opacity="{_number(REGION_OPACITY)}" stroke="{REGION_STROKE}" '
                     f'stroke-width="{_number(REGION_STROKE_WIDTH)}"{dash}/>')
    parts.append(_labels(panel))
    parts.append("</g>")
    return "".join(parts)


# Muscles under others (their regions dashed: seen through what covers them).
_DEEP = frozenset({"lateral-pterygoid", "medial-pterygoid", "anterior-scalene",
                   "suboccipitals", "pectoralis-minor", "subscapularis", "multifidus",
                   "quadratus-lumborum", "gluteus-minimus", "piriformis", "iliopsoas",
                   "longissimus", "iliocostalis", "rhomboids", "obturator-internus"})


def labels(panel: Panel) -> list[Label]:
    """The panel's title, then which way the face points (one side) or L and R (both)."""
    top = panel.origin_y - 14
    found = [Label(_centre(panel), top, panel.title, 12, bold=True)]
    if panel.side is not None:  # one side: say which way the face points
        face = "face →" if panel.flip > 0 else "← face"
        return [*found, Label(_centre(panel), top + 14, face, 10, colour="#555")]
    reach = 44 if panel.view == PELVIS else 62
    height = 20 if panel.view == PELVIS else 70
    return [*found, *(Label(*panel.screen(reach, height, side), side, 13, bold=True,
                            side=side) for side in "LR")]


def _labels(panel: Panel) -> str:
    parts = []
    for label in labels(panel):
        bold = ' font-weight="bold"' if label.bold else ""
        fill = f' fill="{label.colour}"' if label.colour else ""
        side = f' class="side-label" data-side="{label.side}"' if label.side else ""
        parts.append(f'<text x="{label.x:.1f}" y="{label.y:.1f}" text-anchor="middle" '
                     f'font-size="{label.size}"{bold}{fill}{side}>{escape(label.text)}</text>')
    return "".join(parts)


def _midline(panel: Panel) -> str:
    """Where the panel's midline is (panels of one side have none)."""
    return "" if panel.side is not None else f' data-midline="{panel.origin_x:.1f}"'


def _centre(panel: Panel) -> float:
    if panel.side is None:
        return panel.origin_x
    return panel.origin_x + panel.flip * 30 * panel.scale


_NOTE = ("L and R are the patient's left and right: from the front and from below the "
         "patient's left is on your right; from the back, on your left. Shaded: the "
         "muscles injected (dashed: under other muscles).")


def legend(top: float) -> list[LegendItem]:
    """Each band's shape and label, two a row, then the note in two lines."""
    items = []
    for i, band in enumerate(BANDS):
        x, y = 20 + 300 * (i % 2), top + 22 * (i // 2)
        items.append(LegendItem(band, x, y, x + 14, y + 4, band.label, 11))
    for line, text in enumerate((_NOTE[:96], _NOTE[96:])):
        items.append(LegendItem(None, 20, top, 20, top + 70 + 14 * line, text, 10, "#444"))
    return items


def _legend(top: float) -> str:
    parts = []
    for item in legend(top):
        fill = f' fill="{item.colour}"' if item.colour else ""
        text = (f'<text x="{item.text_x}" y="{item.text_y}" font-size="{item.size}"{fill}>'
                f'{escape(item.text)}</text>')
        if item.band is None:
            parts.append(text)
            continue
        parts.append(f'<g class="legend-band" data-band="{item.band.key or "unknown"}" '
                     f'data-fill="{item.band.fill}">'
                     f'{_shape(item.band, item.x, item.y, LEGEND_RADIUS)}{text}</g>')
    return "".join(parts)


def svg(points: Sequence[Point]) -> str:
    """The body chart of one visit's points, as inline SVG."""
    markers = place(points)
    injected = {(p.muscle, p.side) for p in points}
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="body-chart" role="img" '
            f'aria-label="Body chart of the injected trigger points" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
            'font-family="sans-serif" style="max-width: 100%; height: auto">'
            + "".join(_panel(panel, injected) for panel in PANELS)
            + "".join(_marker(m) for m in markers)
            + _legend(HEIGHT - 88) + "</svg>")
