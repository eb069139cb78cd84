"""The body chart in the PDF letter, drawn with fpdf2's own lines, shapes and text from
tplog.export.bodychart's geometry: the same picture as the chart's SVG (same panels, regions,
markers, labels and legend, in the same order, colours and strokes).

Handing fpdf2 the SVG instead cost a seventh of the letter's time: fpdf2 parses each chart's
SVG and then lays out every element through its general drawing model (style inheritance,
transforms), 23 times for a patient of 22 visits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tplog.export import bodychart
from tplog.points import Point

if TYPE_CHECKING:
    from fpdf import FPDF

PT_PER_MM = 72 / 25.4


def _rgb(colour: str) -> tuple[int, int, int]:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


class _Canvas:
    """SVG units (bodychart's) to the page: `scale` mm a unit, from the corner (x, y)."""

    def __init__(self, pdf: FPDF, font: str, x: float, y: float, width: float) -> None:
        self.pdf, self.font, self.x, self.y = pdf, font, x, y
        self.scale = width / bodychart.WIDTH

    def at(self, points: Iterable[bodychart.XY]) -> list[tuple[float, float]]:
        return [(self.x + px * self.scale, self.y + py * self.scale) for px, py in points]

    def stroke(self, colour: str, width: float, dash: tuple[float, float] | None = None) -> None:
        self.pdf.set_draw_color(*_rgb(colour))
        self.pdf.set_line_width(width * self.scale)
        if dash is None:
            self.pdf.set_dash_pattern()
        else:
            self.pdf.set_dash_pattern(dash[0] * self.scale, dash[1] * self.scale)

    def fill(self, colour: str) -> None:
        self.pdf.set_fill_color(*_rgb(colour))

    def text(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
             colour: str | None = None, middle: bool = False) -> None:
        pdf = self.pdf
        pdf.set_font(self.font, "B" if bold else "", size * self.scale * PT_PER_MM)
        pdf.set_text_color(*_rgb(colour or "#000"))
        left = self.x + x * self.scale
        if middle:
            left -= pdf.get_string_width(text) / 2
        pdf.text(left, self.y + y * self.scale, text)

    def shape(self, band: bodychart.Band, x: float, y: float,
              r: float = bodychart.RADIUS) -> None:
        """A band's marker (bodychart._shape)."""
        pdf = self.pdf
        self.fill(band.fill)
        self.stroke(bodychart.MARKER_STROKE, bodychart.MARKER_STROKE_WIDTH,
                    bodychart.DASHED_MARKER if band.shape == "dashed" else None)
        if band.shape == "square":
            s = r * 0.78
            (left, top), = self.at([(x - s, y - s)])
            pdf.rect(left, top, 2 * s * self.scale, 2 * s * self.scale, style="DF")
        elif band.shape == "diamond":
            pdf.polygon(self.at([(x, y - r), (x + r, y), (x, y + r), (x - r, y)]), style="DF")
        elif band.shape == "triangle":
            top, base, half = y - r, y + r * 0.62, r * 0.95
            pdf.polygon(self.at([(x, top), (x + half, base), (x - half, base)]), style="DF")
        else:
            (left, top), = self.at([(x - (r - 1), y - (r - 1))])
            size = 2 * (r - 1) * self.scale
            pdf.ellipse(left, top, size, size, style="DF")


def _panel(canvas: _Canvas, panel: bodychart.Panel, injected: set[tuple[str, str]]) -> None:
    pdf = canvas.pdf
    canvas.fill(bodychart.OUTLINE_FILL)
    canvas.stroke(bodychart.OUTLINE_STROKE, bodychart.OUTLINE_STROKE_WIDTH)
    with pdf.local_context(stroke_join_style="round"):
        pdf.polygon(canvas.at(bodychart.outline(panel)), style="DF")
    canvas.stroke(bodychart.LANDMARK_STROKE, bodychart.LANDMARK_STROKE_WIDTH)
    for line, closed in bodychart.landmarks(panel):
        if closed:
            pdf.polygon(canvas.at(line), style="D")
        else:
            pdf.polyline(canvas.at(line), style="D")
    for _muscle, _side, polygon, deep in bodychart.regions(panel, injected):
        canvas.fill(bodychart.REGION_FILL)
        canvas.stroke(bodychart.REGION_STROKE, bodychart.REGION_STROKE_WIDTH,
                      bodychart.DEEP_REGION if deep else None)
        with pdf.local_context(fill_opacity=bodychart.REGION_OPACITY):
            pdf.polygon(canvas.at(polygon), style="DF")
    for label in bodychart.labels(panel):
        canvas.text(label.x, label.y, label.text, label.size, bold=label.bold,
                    colour=label.colour, middle=True)


def body_chart(pdf: FPDF, font: str, points: Sequence[Point], x: float, y: float,
               width: float) -> None:
    """The chart of one visit's points, `width` mm wide, its top left corner at (x, y)."""
    canvas = _Canvas(pdf, font, x, y, width)
    injected = {(p.muscle, p.side) for p in points}
    # SVG's line ends (butt: fpdf2's pages start with projecting square caps, which would
    # close a dashed line's gaps); the letter's colours, line width and font after the chart.
    with pdf.local_context(stroke_cap_style="butt"):
        for panel in bodychart.PANELS:
            _panel(canvas, panel, injected)
        for marker in bodychart.place(points):
            p = marker.point
            band = bodychart.BAND_BY_KEY[p.band]
            canvas.shape(band, marker.x, marker.y)
            canvas.text(marker.x, marker.y + bodychart.number_drop(band), str(p.position),
                        bodychart.number_size(p.position), bold=True, middle=True)
        for item in bodychart.legend(bodychart.HEIGHT - 88):
            if item.band is not None:
                canvas.shape(item.band, item.x, item.y, bodychart.LEGEND_RADIUS)
            canvas.text(item.text_x, item.text_y, item.text, item.size, colour=item.colour)
