"""The visit summary as a PDF letter: tplog.export.summary's description (the same as the HTML
page's) laid out by fpdf2, which is pure Python: DejaVu Sans embedded (subset; shipped in
tplog/export/fonts with its licence), the body chart drawn with fpdf2's shapes from its geometry
(tplog.export.pdf_chart) and the trend chart from its SVG, both as vectors, A4 or Letter.

Every page carries the patient (name and MRN, or the research id) and the clinic at the top,
and the title with "Page x of y" at the foot. The first page opens with the letterhead and
goes straight on to the first visit; a visit's points table breaks between rows, never inside
one, and repeats its header row on the next page; the chart stands beside the table.

What the font cannot show is not left out silently: a tab is the space it stands for, other
control characters show nothing anyway, and a letter with any other character DejaVu Sans has
no glyph for (Chinese, Japanese, Korean, an emoji in a name or note), or with right-to-left
letters (Hebrew, Arabic: fpdf2 without a shaping engine would print them the wrong way round,
Arabic unjoined), is refused, naming the characters, for the HTML export instead (a browser
prints it with the system's fonts).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from importlib import resources
from typing import IO, TYPE_CHECKING, Any

from tplog import clinical
from tplog.errors import BadInput
from tplog.export import bodychart, pdf_chart, pdf_table, pdf_text
from tplog.export import summary as summaries
from tplog.export.select import ExportVisit

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = "DejaVu"
# The points table's columns (summary.COLUMNS), relative widths; the table takes what the
# chart beside it leaves.
WIDTHS = (4, 22, 8, 28, 15, 10, 20, 14, 14, 16, 6)
CHART_MM = 42  # the body chart's width beside the facts and table (its height follows its drawing)
CHART_RATIO = bodychart.HEIGHT / bodychart.WIDTH
MARGIN_MM = 12
BODY_PT, SMALL_PT, TABLE_PT = 8.5, 7.5, 7
LINE_MM = 4.0


def _letter_class() -> type[FPDF]:
    from fpdf import FPDF

    class Letter(FPDF):
        """The running header (patient, clinic) and footer (title, page x of y)."""

        running = ""
        clinic = ""
        footer_text = ""

        def header(self) -> None:
            self.set_font(FONT, "", SMALL_PT)
            self.set_text_color(70)
            width = self.epw / 2
            self.cell(width, 4, self.running, align="L")
            self.cell(width, 4, self.clinic, align="R")
            self.ln(5)
            self.set_draw_color(150)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(2)
            self.set_text_color(0)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Right-to-left letters met in the text (Hebrew, Arabic): fpdf2 without a
            # shaping engine lays them out left to right, Arabic unjoined.
            self.backwards: set[str] = set()

        def normalize_text(self, text: str) -> str:
            if not text.isascii():
                self.backwards.update(char for char in text
                                      if unicodedata.bidirectional(char) in ("R", "AL"))
            # The font has no glyph for a tab: the space it stands for.
            return super().normalize_text(text.replace("\t", " "))

        def footer(self) -> None:
            self.set_y(-10)
            self.set_font(FONT, "", SMALL_PT)
            self.set_text_color(70)
            self.cell(self.epw - 30, 4, self.footer_text, align="L")
            self.cell(30, 4, f"Page {self.page_no()} of {{nb}}", align="R")
            self.set_text_color(0)

    return Letter


def _font_files() -> tuple[Any, Any]:
    fonts = resources.files("tplog.export") / "fonts"
    return fonts / "DejaVuSans.ttf", fonts / "DejaVuSans-Bold.ttf"


def _run_on(pdf: FPDF, height: float, text: str) -> None:
    if pdf_text.plain(text):
        pdf_text.run_on(pdf, text, height)
    else:
        pdf.write(height, text)


def _paragraph(pdf: FPDF, text: str, *, size: float = BODY_PT, bold: str = "",
               colour: int = 0, strong: bool = False) -> None:
    """A paragraph, `bold` its leading words (or all of it, `strong`)."""
    from fpdf.enums import XPos, YPos

    pdf.set_text_color(colour)
    pdf.set_font(FONT, "B" if strong else "", size)
    height = size * 0.45
    if bold:
        pdf.set_font(FONT, "B", size)
        _run_on(pdf, height, bold + " ")
        pdf.set_font(FONT, "", size)
        _run_on(pdf, height, text)
        pdf.ln(height + 0.6)
    elif pdf_text.plain(text):
        pdf_text.block(pdf, text, height)
        pdf.ln(0.6)
    else:
        pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.6)
    pdf.set_text_color(0)


def _svg(pdf: FPDF, svg: str, x: float, y: float, width: float) -> None:
    # The charts' text in the embedded font: fpdf2 maps "sans-serif" to a core font, which
    # has no arrows (the charts' "face →") and would not be embedded.
    svg = svg.replace('font-family="sans-serif"', f'font-family="{FONT}"')
    # A marker's <title> is the HTML's hover text; fpdf2 would warn about each one on stderr.
    svg = re.sub(r"<title>.*?</title>", "", svg, flags=re.S)
    pdf.image(io.BytesIO(svg.encode("utf-8")), x=x, y=y, w=width)


def _visit(pdf: FPDF, visit: summaries.VisitPart, table: pdf_table.Layout) -> None:
    """The heading across the page; under it the facts and the points table on the left and
    the body chart on the right; then the record and notes across the page again."""
    chart_height = CHART_MM * CHART_RATIO
    # The heading, the chart, the facts and the first rows go together: a visit never begins
    # at the foot of a page with its table on the next.
    if pdf.get_y() + 12 + max(chart_height, 4.5 * len(visit.facts) + 14) \
            > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(1.5)
    pdf.set_draw_color(150)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    _paragraph(pdf, visit.heading, size=10, strong=True)
    if visit.amended:
        _paragraph(pdf, visit.amended, colour=110)
    top, page = pdf.get_y(), pdf.page_no()
    pdf_chart.body_chart(pdf, FONT, visit.points, pdf.w - pdf.r_margin - CHART_MM, top,
                         CHART_MM)
    pdf.set_right_margin(MARGIN_MM + CHART_MM + 3)  # the facts and table beside the chart
    for fact in visit.facts:
        _paragraph(pdf, fact.text, bold=f"{fact.label}:")
    pdf.ln(0.5)
    pdf_table.points_table(pdf, table, WIDTHS, summaries.COLUMNS, visit.rows)
    pdf.set_right_margin(MARGIN_MM)
    if pdf.page_no() == page:  # the chart may reach below the table's end
        pdf.set_y(max(pdf.get_y(), top + chart_height))
    pdf.ln(1)
    for fact in visit.record:
        _paragraph(pdf, fact.text, bold=f"{fact.label}:")
    for note in visit.notes:
        _paragraph(pdf, note, size=SMALL_PT, colour=80)


def _patient(pdf: FPDF, patient: summaries.PatientPart, document: summaries.Summary,
             first: bool, table: pdf_table.Layout) -> None:
    pdf.running = patient.running  # type: ignore[attr-defined]
    if not first:
        pdf.add_page()
    _paragraph(pdf, patient.who, size=11, strong=True)
    _paragraph(pdf, patient.details)
    if patient.trend:
        _paragraph(pdf, "Pain across visits (mean of the points, 0-10)", size=9, strong=True)
        width = 95.0
        if pdf.get_y() + width * 180 / 420 > pdf.page_break_trigger:
            pdf.add_page()
        top = pdf.get_y()
        _svg(pdf, patient.trend, pdf.l_margin, top, width)
        pdf.set_y(top + width * 180 / 420 + 1)
    for visit in patient.visits:
        _visit(pdf, visit, table)
    pdf.ln(2)
    _paragraph(pdf, patient.aftercare, size=SMALL_PT, colour=80)
    pdf.ln(6)
    if pdf.get_y() + 14 > pdf.page_break_trigger:
        pdf.add_page()
    _paragraph(pdf, document.sign_off)
    practitioner = document.letterhead.practitioner
    if practitioner:
        npi = document.letterhead.npi
        _paragraph(pdf, practitioner + (f" · NPI {npi}" if npi else ""), size=SMALL_PT,
                   colour=80)


def render(document: summaries.Summary) -> bytes:
    from fpdf.enums import XPos, YPos

    pdf = _letter_class()(orientation="P", unit="mm",
                          format="A4" if document.paper == "a4" else "Letter")
    regular, bold = _font_files()
    with resources.as_file(regular) as regular_path, resources.as_file(bold) as bold_path:
        pdf.add_font(FONT, "", str(regular_path))
        pdf.add_font(FONT, "B", str(bold_path))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_title(document.title)
    pdf.set_creator("tplog")
    pdf.set_subject(summaries.TITLE)
    if document.letterhead.practitioner:
        pdf.set_author(document.letterhead.practitioner)
    pdf.clinic = document.letterhead.clinic or ""  # type: ignore[attr-defined]
    pdf.footer_text = document.title  # type: ignore[attr-defined]
    if document.patients:
        pdf.running = document.patients[0].running  # type: ignore[attr-defined]
    pdf.add_page()
    head = document.letterhead
    if head.clinic:
        _paragraph(pdf, head.clinic, size=13, strong=True)
    for line in head.lines:
        _paragraph(pdf, line, colour=60)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 6, summaries.TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _paragraph(pdf, document.prepared + ".", size=SMALL_PT, colour=80)
    table = pdf_table.Layout(FONT, TABLE_PT, line_height=TABLE_PT * 0.42, padding=0.6)
    for index, patient in enumerate(document.patients):
        _patient(pdf, patient, document, first=index == 0, table=table)
    _refuse_what_is_lost(pdf)
    return bytes(pdf.output())


def _refuse_what_is_lost(pdf: FPDF) -> None:
    """BadInput naming the characters written that the font has no glyph for (fpdf2 would
    leave them out of the letter, with a warning), but control characters; or, else, the
    right-to-left letters (printed the wrong way round)."""
    lost = sorted({chr(code) for font in pdf.fonts.values()
                   for code in getattr(font, "missing_glyphs", ())
                   if unicodedata.category(chr(code))[0] != "C"})
    if lost:
        raise BadInput(f"the PDF's font has no glyph for {_named(lost)} (in the letter's "
                       f"text): {_USE_HTML}")
    backwards = sorted(pdf.backwards)  # type: ignore[attr-defined]
    if backwards:
        raise BadInput(f"the PDF cannot lay out right-to-left text ({_named(backwards)}, in "
                       f"the letter's text): {_USE_HTML}")


_USE_HTML = "export --format html instead (a browser prints it with its own fonts)"


def _named(chars: list[str]) -> str:
    more = f" and {len(chars) - 5} more" if len(chars) > 5 else ""
    return ", ".join(f"{char} (U+{ord(char):04X})" for char in chars[:5]) + more


def letter_bytes(visits: Iterable[ExportVisit], *, deidentified: bool,
                 shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
                 rules: clinical.Rules | None = None, clinic: Any = None,
                 paper: str | None = None) -> bytes:
    """The PDF of the visits, whole (BadInput for what its font cannot show): `tplog export`
    makes it before it records the export, so that a letter refused is not a disclosure."""
    return render(summaries.document(
        visits, deidentified=deidentified, shifted_dates=shifted_dates,
        rules=rules or clinical.Rules(), clinic=clinic, paper=paper, on_point=on_point))


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: clinical.Rules | None = None, clinic: Any = None,
          paper: str | None = None) -> None:
    """The PDF's bytes, through the binary stream under `out` (a file tplog.files writes
    whole, or stdout when it is not a terminal)."""
    data = letter_bytes(visits, deidentified=deidentified, shifted_dates=shifted_dates,
                        on_point=on_point, rules=rules, clinic=clinic, paper=paper)
    out.flush()
    out.buffer.write(data)  # type: ignore[attr-defined]
    out.buffer.flush()  # type: ignore[attr-defined]
