"""The PDF letter's paragraphs, broken into lines as fpdf2's `multi_cell` and `write` break
them (at the last space that fits, else inside a word too long for the line) and drawn where
they draw them, with each character measured once.

fpdf2's line breaker measures the whole line so far again at each character it adds, so a
line costs the square of its length; the letter's paragraphs (the dose, the billing
suggestion, the cautions) were two fifths of its drawing time. Text with anything but plain
spaces to break at (a newline, a soft hyphen, a tab, another kind of space) is left to fpdf2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from fpdf import FPDF

# Each document's character widths, by font (family, style, size in points): a letter has a
# handful of fonts and a few hundred distinct characters.
_WIDTHS: WeakKeyDictionary[FPDF, dict[tuple[str, str, float], dict[str, float]]] = \
    WeakKeyDictionary()

_TOLERANCE = 1e-9  # fpdf2's FloatTolerance: a line is too long by more than this
# What fpdf2 breaks at or on besides a plain space (fpdf.line_break): left to fpdf2.
_SPECIAL = frozenset("\n\u000c\u00ad\u200b\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                     "\u2008\u2009\u200a\u205f\u3000\t")


def plain(text: str) -> bool:
    """Whether the text breaks only at plain spaces (else fpdf2 lays it out)."""
    return bool(text) and _SPECIAL.isdisjoint(text)


def wrap(pdf: FPDF, text: str, first: float, rest: float) -> list[str]:
    """The lines of `text` in the current font: the first line at most `first` wide (text
    width, the cell margins already taken off), the others `rest`."""
    fonts = _WIDTHS.setdefault(pdf, {})
    widths = fonts.setdefault((pdf.font_family, pdf.font_style, pdf.font_size_pt), {})
    lines: list[str] = []
    line: list[str] = []
    width = 0.0
    space = -1  # where the line's last space is
    most = first
    for char in text:
        char_width = widths.get(char)
        if char_width is None:
            char_width = widths[char] = pdf.get_string_width(char)
        if width + char_width - most > _TOLERANCE:
            if char == " ":  # the break falls on a space: it goes
                lines.append("".join(line))
                line, width, space, most = [], 0.0, -1, rest
                continue
            if space >= 0:  # back to the last space: it goes, the rest starts the next line
                lines.append("".join(line[:space]))
                line = line[space + 1:]
            else:  # one word longer than the line: broken where it overflows
                lines.append("".join(line))
                line = []
            width = sum(widths[c] for c in line)
            space, most = -1, rest
            if width + char_width - most > _TOLERANCE:  # the word's end still overflows
                lines.append("".join(line))
                line, width = [], 0.0
        if char == " ":
            space = len(line)
        line.append(char)
        width += char_width
    if line or not lines:
        lines.append("".join(line))
    return lines


def _line(pdf: FPDF, x: float, text: str, height: float) -> float:
    """One line of text at x (before the cell margin), on the current line of this height,
    as fpdf2's line renderer puts it (a new page first if it does not fit: x kept). Returns
    where the text ends."""
    if pdf.will_page_break(height):
        pdf.add_page()
    pdf.text(x + pdf.c_margin, pdf.get_y() + 0.5 * height + 0.3 * pdf.font_size, text)
    return x + pdf.get_string_width(text)


def block(pdf: FPDF, text: str, height: float) -> None:
    """`multi_cell(0, height, text)` from the current position to the right margin, then the
    next line at the left margin: the lines of a plain text (see `plain`)."""
    x = pdf.get_x()
    width = pdf.w - pdf.r_margin - x - 2 * pdf.c_margin
    for line in wrap(pdf, text, width, width):
        _line(pdf, x, line, height)
        pdf.set_y(pdf.get_y() + height)


def run_on(pdf: FPDF, text: str, height: float) -> None:
    """`write(height, text)`: from the current position on, wrapping to the left margin;
    the position left where the text ends."""
    x = pdf.get_x()
    full = pdf.w - pdf.r_margin - pdf.l_margin - 2 * pdf.c_margin
    lines = wrap(pdf, text, pdf.w - pdf.r_margin - x - 2 * pdf.c_margin, full)
    for number, line in enumerate(lines):
        if number:
            x = pdf.l_margin
            pdf.set_y(pdf.get_y() + height)
        x = _line(pdf, x, line, height)
    pdf.set_x(x)
