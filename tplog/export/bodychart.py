"""The body chart: front and back outlines as inline SVG, each injected point marked at its
muscle on the patient's own side, coloured by pain reduction.

Positions are given for the patient's LEFT side as (view, distance from the midline, height);
the right side mirrors them. Seen from the front the patient's left is on the viewer's right;
seen from the back it is on the viewer's left. Each view is labelled L and R so a reader
never has to work that out.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from tplog.points import Point

FRONT, BACK = "front", "back"

# key: (view, dx from the midline towards the patient's left, y), on a 200 x 420 figure.
POSITIONS: dict[str, tuple[str, float, float]] = {
    "masseter": (FRONT, 13, 50),
    "temporalis": (FRONT, 20, 30),
    "sternocleidomastoid": (FRONT, 9, 78),
    "anterior-scalene": (FRONT, 17, 84),
    "pectoralis-major": (FRONT, 30, 122),
    "pectoralis-minor": (FRONT, 40, 110),
    "serratus-anterior": (FRONT, 50, 150),
    "intercostals": (FRONT, 34, 158),
    "subscapularis": (FRONT, 52, 118),
    "deltoid": (FRONT, 64, 106),
    "iliopsoas": (FRONT, 22, 232),
    "tensor-fasciae-latae": (FRONT, 42, 240),
    "vastus-lateralis": (FRONT, 40, 292),
    "brachioradialis": (FRONT, 80, 198),
    "suboccipitals": (BACK, 8, 56),
    "splenius-capitis": (BACK, 13, 66),
    "levator-scapulae": (BACK, 22, 84),
    "upper-trapezius": (BACK, 38, 94),
    "middle-trapezius": (BACK, 26, 122),
    "lower-trapezius": (BACK, 16, 152),
    "rhomboids": (BACK, 17, 130),
    "supraspinatus": (BACK, 45, 106),
    "infraspinatus": (BACK, 42, 132),
    "teres-minor": (BACK, 56, 128),
    "teres-major": (BACK, 54, 146),
    "latissimus-dorsi": (BACK, 42, 172),
    "erector-spinae": (BACK, 8, 186),
    "longissimus": (BACK, 12, 200),
    "iliocostalis": (BACK, 19, 196),
    "quadratus-lumborum": (BACK, 24, 212),
    "gluteus-medius": (BACK, 42, 234),
    "gluteus-minimus": (BACK, 48, 244),
    "gluteus-maximus": (BACK, 28, 254),
    "piriformis": (BACK, 22, 244),
    "levator-ani": (BACK, 5, 268),
    "forearm-extensors": (BACK, 80, 204),
    "gastrocnemius": (BACK, 24, 352),
}

WIDTH, HEIGHT = 200, 420
CENTRE = WIDTH / 2

# Colour by the IMMPACT bands (Dworkin 2008): >= 50 % green, 30-49 % amber, < 30 % red.
COLOURS = {"substantial": "#1a9850", "moderate": "#f39c12", "little": "#d73027",
           None: "#8c8c8c"}
LEGEND = (("substantial", ">= 50 % less pain"), ("moderate", "30-49 % less pain"),
          ("little", "< 30 % less pain"), (None, "not known (no pain after, or none before)"))

_OUTLINE = (
    '<circle cx="100" cy="38" r="24"/>'
    '<path d="M88 60 L88 74 L112 74 L112 60"/>'
    '<path d="M58 82 Q100 70 142 82 L160 110 L150 190 L146 226 L154 250 L138 262 L128 410 '
    'L108 410 L104 270 L96 270 L92 410 L72 410 L62 262 L46 250 L54 226 L50 190 L40 110 Z"/>'
    '<path d="M40 110 L28 210 L20 232 L30 236 L40 212 L56 140"/>'
    '<path d="M160 110 L172 210 L180 232 L170 236 L160 212 L144 140"/>'
)


def screen_x(view: str, side: str, dx: float) -> float:
    """Where a point of the patient's `side` falls for a viewer of `view`."""
    towards_patients_left = 1 if view == FRONT else -1
    return CENTRE + (dx if side == "L" else -dx) * towards_patients_left


def _figure(view: str, points: Sequence[Point], offset: float) -> str:
    left_x, right_x = screen_x(view, "L", 84), screen_x(view, "R", 84)
    marks = []
    for p in points:
        where, dx, y = POSITIONS[p.muscle]
        if where != view:
            continue
        x = screen_x(view, p.side, dx)
        title = escape(f"{p.position}. {p.muscle} {p.side}: pain {p.pain_before} → "
                       f"{'?' if p.pain_after is None else p.pain_after}")
        marks.append(
            f'<g class="point" data-muscle="{p.muscle}" data-side="{p.side}" '
            f'data-view="{view}"><circle cx="{x:.1f}" cy="{y:.1f}" r="7" '
            f'fill="{COLOURS[p.band]}" stroke="#222" stroke-width="1"><title>{title}</title>'
            f'</circle><text x="{x:.1f}" y="{y + 3.5:.1f}" font-size="9" text-anchor="middle" '
            f'fill="#fff">{p.position}</text></g>')
    return (f'<g transform="translate({offset},0)">'
            f'<text x="{CENTRE}" y="14" text-anchor="middle" font-size="12">'
            f'{"Front" if view == FRONT else "Back"}</text>'
            f'<text x="{left_x}" y="72" text-anchor="middle" font-size="12" '
            f'font-weight="bold">L</text>'
            f'<text x="{right_x}" y="72" text-anchor="middle" font-size="12" '
            f'font-weight="bold">R</text>'
            f'<g fill="#f4efe9" stroke="#555" stroke-width="1.5">{_OUTLINE}</g>'
            f'{"".join(marks)}</g>')


def svg(points: Sequence[Point]) -> str:
    legend = "".join(
        f'<circle cx="{20 + 110 * (i % 2)}" cy="{HEIGHT + 18 + 18 * (i // 2)}" r="6" '
        f'fill="{COLOURS[band]}"/><text x="{30 + 110 * (i % 2)}" '
        f'y="{HEIGHT + 22 + 18 * (i // 2)}" font-size="10">{escape(text)}</text>'
        for i, (band, text) in enumerate(LEGEND))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="body-chart" role="img" '
            f'aria-label="Body chart of the injected trigger points" '
            f'viewBox="0 0 {2 * WIDTH + 20} {HEIGHT + 60}" width="{2 * WIDTH + 20}" '
            f'height="{HEIGHT + 60}" font-family="sans-serif">'
            f'{_figure(FRONT, points, 0)}{_figure(BACK, points, WIDTH + 20)}{legend}</svg>')


def trend_svg(dates: Sequence[str], before: Sequence[float],
              after: Sequence[float | None]) -> str:
    """Mean pain before and after at each visit, oldest first, as a small line chart."""
    width, height, left, top = 420, 180, 30, 10
    step = (width - left - 20) / max(1, len(dates) - 1)

    def y(value: float) -> float:
        return top + (10 - value) * (height - top - 30) / 10

    def line(values: Sequence[float | None], colour: str, label: str) -> str:
        coords = [(left + i * step, y(v)) for i, v in enumerate(values) if v is not None]
        path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
        dots = "".join(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{colour}"/>'
                       for x, yy in coords)
        return (f'<polyline class="{label}" points="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="2"/>{dots}')

    ticks = "".join(f'<text x="{left - 6}" y="{y(v) + 3:.1f}" font-size="9" '
                    f'text-anchor="end">{v}</text>' for v in (0, 5, 10))
    labels = "".join(f'<text x="{left + i * step:.1f}" y="{height - 8}" font-size="8" '
                     f'text-anchor="middle">{escape(d)}</text>' for i, d in enumerate(dates))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" role="img" '
            f'aria-label="Pain before and after each visit" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" font-family="sans-serif">{ticks}{labels}'
            f'{line(before, "#d73027", "before")}{line(after, "#1a9850", "after")}'
            f'<text x="{width - 110}" y="18" font-size="10" fill="#d73027">pain before</text>'
            f'<text x="{width - 110}" y="32" font-size="10" fill="#1a9850">pain after</text>'
            '</svg>')
