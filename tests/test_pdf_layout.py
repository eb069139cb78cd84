"""The PDF letter lays out its paragraphs and table cells itself (tplog.export.pdf_text,
tplog.export.pdf_table) rather than through fpdf2's line breaker, which is slow: its lines
must be fpdf2's lines, word for word, or the letter would reflow. Checked against fpdf2 itself
on generated text, in the letter's own font."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tplog.export import pdf, pdf_text

SAME = settings(max_examples=300, deadline=None, derandomize=True, database=None)
# A paragraph of several lines that runs onto the next page from low on the first.
LONG = ["Sternocleidomastoid", "upper", "trapezius", "8", "→", "3", "(-5", "points,", "63 %",
        "less)", "Bupivacaine", "0.25", "mL"] * 6
# Words as the letter has them: names, numbers, units, arrows, a word longer than a line.
WORDS = st.lists(st.one_of(
    st.sampled_from(["Upper", "trapezius", "left", "right", "8", "→", "3", "(-5", "points,",
                     "63 %", "less)", "Bupivacaine", "0.25", "mL", "mg/kg", "—", "x", "CPT",
                     "20553", "Sternocleidomastoid", "levator-scapulae", "Ünïcødé"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789.,;:()%-", min_size=1,
            max_size=60)), min_size=1, max_size=40)


@pytest.fixture(scope="module")
def letter():
    document = pdf._letter_class()(orientation="P", unit="mm", format="A4")
    regular, bold = pdf._font_files()
    document.add_font(pdf.FONT, "", str(regular))
    document.add_font(pdf.FONT, "B", str(bold))
    document.add_page()
    return document


@SAME
@given(words=WORDS, spaces=st.lists(st.sampled_from([" ", "  "]), min_size=40, max_size=40),
       width=st.floats(min_value=8, max_value=186), bold=st.booleans(),
       size=st.sampled_from([pdf.BODY_PT, pdf.SMALL_PT, pdf.TABLE_PT, 10, 11]))
def test_lines_break_where_fpdf2_breaks_them(letter, words, spaces, width, bold, size):
    text = "".join(word + space for word, space in zip(words, spaces, strict=False)).rstrip()
    letter.set_font(pdf.FONT, "B" if bold else "", size)
    theirs = letter.multi_cell(w=width, h=4, text=text, dry_run=True, output="LINES")
    inner = width - 2 * letter.c_margin
    assert pdf_text.wrap(letter, text, inner, inner) == theirs


def test_a_table_cell_wraps_as_fpdf2_wraps_it(letter):
    """The table's heading row at its narrowest (a letter with the chart beside the table)."""
    from tplog.export import pdf_table, summary

    layout = pdf_table.Layout(pdf.FONT, pdf.TABLE_PT, line_height=3, padding=0.6)
    total = sum(pdf.WIDTHS)
    letter.set_font(pdf.FONT, "B", pdf.TABLE_PT)
    for column, (share, heading) in enumerate(zip(pdf.WIDTHS, summary.COLUMNS, strict=True)):
        width = 130 * share / total
        theirs = letter.multi_cell(w=width, h=3, text=heading, padding=0.6, dry_run=True,
                                   output="LINES")
        assert list(pdf_table._lines(letter, layout, True, column, width, heading)) == theirs


def _blank():
    document = pdf._letter_class()(orientation="P", unit="mm", format="A4")
    regular, bold = pdf._font_files()
    document.add_font(pdf.FONT, "", str(regular))
    document.add_font(pdf.FONT, "B", str(bold))
    document.set_margins(pdf.MARGIN_MM, pdf.MARGIN_MM, pdf.MARGIN_MM)
    document.set_auto_page_break(True, margin=14)
    return document


@pytest.fixture(scope="module")
def pair():
    """fpdf2's document and ours, each example starting on a new page of them: reading the
    fonts for a new document every example took most of these tests' time."""
    return _blank(), _blank()


def _fresh_pages(pair):
    for document in pair:
        document.add_page()
    return [document.page_no() for document in pair]


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(words=WORDS, indent=st.floats(min_value=0, max_value=120),
       down=st.floats(min_value=0, max_value=270))
@example(words=LONG, indent=37.5, down=262.0)
@example(words=LONG, indent=0.0, down=0.0)
def test_run_on_text_ends_where_fpdf2s_write_ends(pair, words, indent, down):
    """A bold label then its text (`write` twice): the text wraps to the left margin and goes
    on to the next page where fpdf2's does, and ends at the same place."""
    text = " ".join(words)
    theirs, ours = pair
    first = _fresh_pages(pair)
    for document in (theirs, ours):
        document.set_font(pdf.FONT, "", pdf.BODY_PT)
        document.set_xy(document.l_margin + indent, document.t_margin + down)
    theirs.write(4, text)
    pdf_text.run_on(ours, text, 4)
    assert (ours.page_no() - first[1], ours.get_x(), ours.get_y()) == \
        pytest.approx((theirs.page_no() - first[0], theirs.get_x(), theirs.get_y()))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(words=WORDS, down=st.floats(min_value=0, max_value=270))
@example(words=LONG, down=262.0)
@example(words=LONG, down=0.0)
def test_a_block_ends_where_fpdf2s_multi_cell_ends(pair, words, down):
    text = " ".join(words)
    theirs, ours = pair
    first = _fresh_pages(pair)
    for document in (theirs, ours):
        document.set_font(pdf.FONT, "", pdf.BODY_PT)
        document.set_y(document.t_margin + down)
    theirs.multi_cell(0, 4, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf_text.block(ours, text, 4)
    assert (ours.page_no() - first[1], ours.get_x(), ours.get_y()) == \
        pytest.approx((theirs.page_no() - first[0], theirs.get_x(), theirs.get_y()))
