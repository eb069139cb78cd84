"""The PDF letter's points table, drawn cell by cell: each row's lines are broken once and its
height worked out once, then its boxes and text drawn.

fpdf2's `table()` draws the same thing (all borders, the heading row bold on grey and repeated
at the top of each page it runs onto, text at the top left of a cell and centred as a block in
its row) but lays out every cell twice, a dry run for the row's height and then for real,
through `multi_cell`, whose line breaker measures the whole line so far at every character.
That was two fifths of the letter's drawing time. Here a cell's text is broken into lines as
fpdf2 would break it (tplog.export.pdf_text, each character measured once), once per distinct
text, column and style in the letter (the heading row, a muscle's name, a drug's name and the
bands come back visit after visit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from tplog.export import pdf_text

if TYPE_CHECKING:
    from fpdf import FPDF

HEADING_FILL = 235  # grey under the heading row


@dataclass
class Layout:
    """The table's font and spacing, and the lines already broken (by bold, column, text)."""

    font: str
    size: float
    line_height: float
    padding: float
    broken: dict[tuple[bool, int, str], tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Row:
    lines: tuple[tuple[str, ...], ...]  # each cell's lines
    height: float
    bold: bool


def _lines(pdf: FPDF, layout: Layout, bold: bool, column: int, width: float,
           text: str) -> tuple[str, ...]:
    key = (bold, column, text)
    lines = layout.broken.get(key)
    if lines is None:
        inner = width - 2 * layout.padding  # the padding stands in for the cell margins
        if not text:
            lines = ()
        elif pdf_text.plain(text):
            lines = tuple(pdf_text.wrap(pdf, text, inner, inner))
        else:  # fpdf2's own word wrap
            from fpdf.util import Padding

            broken = pdf.multi_cell(w=width, h=layout.line_height, text=text,
                                    padding=Padding.new(layout.padding), align="L",
                                    dry_run=True, output="LINES")
            lines = tuple(cast(list[str], broken))
        layout.broken[key] = lines
    return lines


def _row(pdf: FPDF, layout: Layout, widths: Sequence[float], cells: Sequence[str],
         bold: bool) -> _Row:
    pdf.set_font(layout.font, "B" if bold else "", layout.size)
    lines = tuple(_lines(pdf, layout, bold, column, width, text)
                  for column, (width, text) in enumerate(zip(widths, cells, strict=True)))
    most = max((len(cell) for cell in lines), default=0)
    height = most * layout.line_height + 2 * layout.padding if most else layout.line_height
    return _Row(lines, height, bold)


def _draw(pdf: FPDF, layout: Layout, widths: Sequence[float], row: _Row) -> None:
    pdf.set_font(layout.font, "B" if row.bold else "", layout.size)
    if row.bold:
        with pdf.local_context(fill_color=HEADING_FILL):
            _cells(pdf, layout, widths, row)
    else:
        _cells(pdf, layout, widths, row)
    pdf.set_xy(pdf.l_margin, pdf.get_y() + row.height)


def _cells(pdf: FPDF, layout: Layout, widths: Sequence[float], row: _Row) -> None:
    x, top = pdf.l_margin, pdf.get_y()
    # The baseline of a line of text in a box of one line's height (as fpdf2's cell puts it).
    baseline = 0.5 * layout.line_height + 0.3 * pdf.font_size
    for width, lines in zip(widths, row.lines, strict=True):
        pdf.rect(x, top, width, row.height, style="DF" if row.bold else "D")
        text_top = top + (row.height - len(lines) * layout.line_height) / 2
        for number, line in enumerate(lines):
            pdf.text(x + layout.padding, text_top + number * layout.line_height + baseline,
                     line)
        x += width


def points_table(pdf: FPDF, layout: Layout, relative_widths: Sequence[float],
                 heading: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """The table across the width between the margins, from the current line: a row never
    breaks over a page, and the heading row is drawn again at the top of the next page. Never
    the heading row alone at the foot of a page."""
    total = sum(relative_widths)
    widths = [pdf.epw * share / total for share in relative_widths]
    head = _row(pdf, layout, widths, heading, bold=True)
    body = [_row(pdf, layout, widths, cells, bold=False) for cells in rows]
    if pdf.will_page_break(head.height + (body[0].height if body else 0)):
        pdf.add_page()
    _draw(pdf, layout, widths, head)
    for row in body:
        if pdf.will_page_break(row.height):
            pdf.add_page()
            _draw(pdf, layout, widths, head)
        _draw(pdf, layout, widths, row)
    pdf.set_font(layout.font, "", layout.size)
