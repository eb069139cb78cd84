"""The printed visit summary (issue 15): the HTML page as Chromium prints it and tplog's own PDF
letter, on A4 and Letter: pages that fit, the patient and "Page x of y" on every page, the
letterhead, the whole record of each visit, and a page that reflows on a phone."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import assert_refused

HEADER = ("mrn", "patient_name", "date_of_birth", "sex", "weight_kg", "visit", "visit_date",
          "age_at_visit", "practitioner", "conditions", "visit_note", "point", "muscle", "side",
          "pain_before", "pain_after", "twitch_response", "soreness", "numbness", "drug",
          "volume_ml")
MUSCLES = ("upper-trapezius", "levator-scapulae", "rhomboids", "infraspinatus",
           "gluteus-medius", "quadratus-lumborum", "piriformis", "splenius-capitis",
           "sternocleidomastoid", "deltoid")
NAMES = ("Upper trapezius", "Levator scapulae", "Rhomboids", "Infraspinatus",
         "Gluteus medius", "Quadratus lumborum", "Piriformis", "Splenius capitis",
         "Sternocleidomastoid", "Deltoid")
# Chromium on a busy machine: it is waited for, and only a real hang ends the wait.
HANG = 1200


def _import(clinic, tmp_path: Path, visits: int, points: int) -> list[tuple[str, str, int, int]]:
    """One patient, Mary Major (MRN P0001), with `visits` visits of `points` points each,
    through `tplog import`; returns the points as (muscle, side, before, after)."""
    rows, logged = [], []
    for visit in range(1, visits + 1):
        for point in range(1, points + 1):
            muscle = MUSCLES[(point - 1) % len(MUSCLES)]
            side = "L" if point % 2 else "R"
            before, after = 3 + (point + visit) % 7, (point + visit) % 3
            logged.append((muscle, side, before, after))
            rows.append(["P0001", "Mary Major", "1961-05-04", "female", "70", str(visit),
                         f"2025-{1 + (visit - 1) // 2:02d}-{1 + 14 * ((visit - 1) % 2):02d}",
                         "", "Dr Okafor", "myofascial-pain-other-site", "", str(point), muscle,
                         side, str(before), str(after), "yes", "mild", "no", "lidocaine-1",
                         "0.5"])
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    source = tmp_path / "visits.csv"
    source.write_text(text.getvalue(), encoding="utf-8")
    clinic.ok("import", str(source))
    return logged


def _letterhead(clinic, paper: str) -> None:
    for key, value in (("practitioner", "Dr Okafor"), ("clinic.name", "Northside Pain Clinic"),
                       ("clinic.address", "12 High Street\\nSpringfield"),
                       ("clinic.credentials", "MD, FAAPMR"), ("clinic.npi", "1234567893"),
                       ("clinic.paper", paper)):
        clinic.ok("config", "set", key, value)


def _browser() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed here (.ci/run installs Debian's chromium), so "
                    "the HTML is not printed")
    return browser


def _chromium(tmp_path: Path, *args: str) -> str:
    result = subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu",
                             "--no-first-run", "--disable-background-networking",
                             "--disable-component-update",
                             f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
                            check=True, capture_output=True, text=True, timeout=HANG)
    return result.stdout


def _printed(tmp_path: Path, page: Path) -> Path:
    pdf = page.with_suffix(".chromium.pdf")
    _chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    return pdf


def _pages(pdf: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(pdf).pages]


def _squeezed(text: str) -> str:
    """Text without whitespace: a table cell may wrap a muscle's name over two lines."""
    return "".join(text.split())


def _holds_every_point(text: str, logged: list[tuple[str, str, int, int]]) -> None:
    squeezed = _squeezed(text)
    for muscle, _side, before, after in logged:
        assert _squeezed(NAMES[MUSCLES.index(muscle)]) in squeezed, muscle
        assert _squeezed(f"{before} → {after}") in squeezed, (muscle, before, after)
    assert "left" in text and "right" in text


def _export(clinic, tmp_path: Path, fmt: str, *args: str) -> Path:
    target = tmp_path / f"summary.{fmt}"
    clinic.ok("export", "P0001", "-f", fmt, "-o", str(target), *args)
    return target


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_one_visit_of_ten_points_fits_one_page_with_letterhead_and_every_point(
        sqlite_clinic, tmp_path, paper):
    logged = _import(sqlite_clinic, tmp_path, visits=1, points=10)
    _letterhead(sqlite_clinic, paper)
    own = _export(sqlite_clinic, tmp_path, "pdf")
    assert own.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(own)
    (page,) = _pages(own)
    width = float(reader.pages[0].mediabox.width)
    assert round(width) == (595 if paper == "a4" else 612)  # points: A4 210 mm, Letter 8.5 in
    assert "Mary Major" in reader.metadata.title and "2025-01-01" in reader.metadata.title
    for words in ("Northside Pain Clinic", "12 High Street", "Springfield",
                  "Dr Okafor, MD, FAAPMR", "NPI 1234567893", "MRN P0001", "Page 1 of 1",
                  "Visit 1:", "Signature:", "Date:"):
        assert words in page, (words, page)
    _holds_every_point(page, logged)
    printed = _printed(tmp_path, _export(sqlite_clinic, tmp_path, "html"))
    (html_page,) = _pages(printed)
    assert "Northside Pain Clinic" in html_page and "Visit 1:" in html_page
    assert "Mary Major · MRN P0001" in html_page and "Page 1 of 1" in html_page
    _holds_every_point(html_page, logged)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_twenty_two_visits_fit_twelve_pages_each_naming_the_patient_and_its_number(
        sqlite_clinic, tmp_path, paper):
    logged = _import(sqlite_clinic, tmp_path, visits=22, points=5)
    sqlite_clinic.ok("config", "set", "clinic.name", "Northside Pain Clinic")
    own = _export(sqlite_clinic, tmp_path, "pdf", "--paper", paper)
    pages = _pages(own)
    assert 1 < len(pages) <= 12, len(pages)
    for number, text in enumerate(pages, start=1):
        assert "Mary Major" in text and "MRN P0001" in text, number
        assert f"Page {number} of {len(pages)}" in text, (number, text)
    # Not a blank first page: the letterhead, the trend and the first visit are on it.
    assert "Northside Pain Clinic" in pages[0] and "Visit 1:" in pages[0]
    assert "Pain across visits" in pages[0]
    _holds_every_point("\n".join(pages), logged)
    printed = _pages(_printed(tmp_path, _export(sqlite_clinic, tmp_path, "html", "--paper",
                                                paper)))
    assert 1 < len(printed) <= 12, len(printed)
    assert "Visit 1:" in printed[0]  # the header and the first visit on the first page
    for number, text in enumerate(printed, start=1):
        assert "Mary Major · MRN P0001" in text and f"Page {number} of {len(printed)}" in text
    _holds_every_point("\n".join(printed), logged)


def test_the_page_reflows_on_a_phone(sqlite_clinic, tmp_path):
    _import(sqlite_clinic, tmp_path, visits=3, points=10)
    page = _export(sqlite_clinic, tmp_path, "html")
    text = page.read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    # A headless window is never narrower than 500 px: the page is measured in a frame of a
    # phone's 390 px (srcdoc: same origin as the test's own page, which reads its width).
    import html

    measured = tmp_path / "measured.html"
    measured.write_text(
        '<!DOCTYPE html><html><body><iframe id="phone" width="390" height="900" srcdoc="'
        + html.escape(text, quote=True) + '"></iframe><script>'
        "document.getElementById('phone').onload = function () { document.body.setAttribute("
        "'data-width', this.contentDocument.documentElement.scrollWidth); };"
        "</script></body></html>", encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", measured.as_uri())
    width = int(re.search(r'data-width="(\d+)"', dom).group(1))
    assert width <= 390, width


def test_the_file_is_named_after_the_patient_and_dates(sqlite_clinic, tmp_path,
                                                       monkeypatch):
    _import(sqlite_clinic, tmp_path, visits=3, points=2)
    folder = tmp_path / "letters"
    folder.mkdir()
    result = sqlite_clinic.ok("export", "P0001", "-f", "html", "-o", str(folder))
    name = "visit-summary_Mary-Major_P0001_2025-01-01_to_2025-02-01"
    page = folder / f"{name}.html"
    assert str(page) in result.stderr
    assert ("<title>Trigger point injection visit summary: Mary Major · MRN P0001, "
            "2025-01-01 to 2025-02-01</title>") in page.read_text(encoding="utf-8")
    monkeypatch.chdir(folder)  # a pdf without --output: named, in the current folder
    sqlite_clinic.ok("export", "P0001", "-f", "pdf")
    assert (folder / f"{name}.pdf").read_bytes().startswith(b"%PDF-")
    sqlite_clinic.ok("export", "P0001", "-f", "pdf", "--deidentify", "-o", str(folder))
    (research,) = [p.name for p in folder.glob("visit-summary_Research-id-R*_2025.pdf")]
    assert "Mary" not in research and "P0001" not in research
    events = sqlite_clinic.sql("SELECT target FROM audit_event WHERE action = 'export'")
    assert any(target.endswith(f"to {folder / name}.pdf") for (target,) in events), events


@pytest.mark.parametrize(("args", "fragment"), [
    (["-f", "csv", "--paper", "a4"], "--paper goes with --format html or pdf"),
    (["-f", "pdf", "--paper", "a5"], "--paper 'a5' is not allowed; use a4|letter"),
])
def test_paper_refusals(sqlite_clinic, tmp_path, args, fragment):
    _import(sqlite_clinic, tmp_path, visits=1, points=1)
    events = sqlite_clinic.count("audit_event")
    assert_refused(sqlite_clinic.run("export", "P0001", *args), 2, fragment)
    assert sqlite_clinic.count("audit_event") == events


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("clinic.npi", "1234567890", "give the 10-digit NPI"),
    ("clinic.paper", "a5", "use a4 or letter"),
    ("clinic.name", "Two\tlines", "control character"),
])
def test_letterhead_settings_are_checked(sqlite_clinic, key, value, fragment):
    assert_refused(sqlite_clinic.run("config", "set", key, value), 2, fragment)


def test_the_whole_record_is_in_the_html_and_the_pdf(clinic, tmp_path):
    clinic.ok("config", "set", "practitioner", "Dr Okafor")  # who amends, in the trail
    clinic.ok("patient", "add", "Mary Major", "--dob", "1961-05-04", "--sex", "female",
              "--weight-kg", "60")
    # 300 mg of lidocaine: over 60 kg x 4.5 mg/kg = 270 mg, confirmed with --yes.
    clinic.ok("log", "P0001", "--date", "2026-03-02", "--practitioner", "Dr Okafor", "--yes",
              "--point", "gluteus-medius:L pre=7 post=3 drug=lidocaine-1 ml=30")
    clinic.ok("visit", "amend", "1", "--reason", "pain after misread", "--set", "1 post=2",
              "--yes", "--practitioner", "Dr Okafor")
    clinic.ok("followup", "1", "--pain", "3", "--on", "2026-03-16", "--note", "phone call",
              "--yes", "--practitioner", "Dr Okafor")
    clinic.ok("visit", "addendum", "1", "Patient asked for a copy.", "--practitioner",
              "Dr Okafor")
    html = _export(clinic, tmp_path, "html").read_text(encoding="utf-8")
    pdf = _squeezed("\n".join(_pages(_export(clinic, tmp_path, "pdf"))))
    for said in ("Follow-up 2026-03-16", "14 days after: pain 3/10, relief 57 %",
                 "Relief", "lasted at least 14 day(s)",
                 "Addendum", "Patient asked for a copy.",
                 "Amended: revision 2", "by Dr Okafor", "reason: pain after misread",
                 "Warning when logged", "confirmed with --yes",
                 "lidocaine 300 mg of 270 mg"):
        assert said in html, said
        assert _squeezed(said) in pdf, said
    assert html.count("Amended: revision 2") == 1


def test_a_hostile_name_is_text_in_the_page_and_its_running_header(sqlite_clinic, tmp_path):
    name = 'Ada "</style><script>alert(1)</script> \\" Lovelace'
    sqlite_clinic.ok("patient", "add", name, "--dob", "1950-12-10")
    sqlite_clinic.ok("log", "P0001", "--date", "2026-03-01", "--point", "deltoid:L pre=5 post=2")
    page = _export(sqlite_clinic, tmp_path, "html").read_text(encoding="utf-8")
    assert "<script>" not in page and page.count("</style>") == 1
    assert "&lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    printed = _pages(_printed(tmp_path, tmp_path / "summary.html"))
    assert all('Ada "</style><script>alert(1)</script> \\" Lovelace · MRN P0001' in text
               for text in printed), printed


def test_a_pdf_that_would_leave_characters_out_is_refused_naming_them(clinic, tmp_path):
    """DejaVu Sans has no Chinese: fpdf2 would leave the name out of the letter, with a
    warning. Refused, naming the characters, exit 2, no file and no export in the trail (the
    letter is made before the export is recorded); the HTML, which a browser prints with its
    own fonts, holds the name."""
    clinic.ok("patient", "add", "王小明", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--point", "deltoid:L pre=5 post=2")
    target = tmp_path / "summary.pdf"
    events = clinic.count("audit_event")
    before = sorted(tmp_path.iterdir())
    result = clinic.run("export", "P0001", "-f", "pdf", "-o", str(target))
    assert_refused(result, 2, "the PDF's font has no glyph for 小 (U+5C0F), 明 (U+660E), "
                              "王 (U+738B)", "export --format html instead")
    assert sorted(tmp_path.iterdir()) == before  # nothing written, not even in part
    assert clinic.count("audit_event") == events
    # Into a folder (the file named after the patient) and with --all, the same.
    for where in (["-o", str(tmp_path)], ["--all", "-o", str(tmp_path)]):
        args = ["export", *(["P0001"] if "--all" not in where else []), "-f", "pdf", *where]
        assert_refused(clinic.run(*args), 2, "no glyph for 小 (U+5C0F)")
    assert sorted(tmp_path.iterdir()) == before and clinic.count("audit_event") == events
    assert "王小明" in _export(clinic, tmp_path, "html").read_text(encoding="utf-8")


def test_a_tab_in_a_note_is_a_space_in_the_pdf(sqlite_clinic, tmp_path):
    sqlite_clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    sqlite_clinic.ok("log", "P0001", "--date", "2026-03-01", "--note", "left\tside first",
                     "--point", "deltoid:L pre=5 post=2")
    result = sqlite_clinic.ok("export", "P0001", "-f", "pdf", "-o",
                              str(tmp_path / "summary.pdf"))
    assert "missing" not in result.stderr  # fpdf2's warning of glyphs left out
    assert "left side first" in "\n".join(_pages(tmp_path / "summary.pdf"))


@pytest.mark.parametrize(("note", "named"), [
    ("שלום", "ש (U+05E9)"),   # Hebrew
    ("مرحبا", "ا (U+0627)"),  # Arabic: the font has the letters, unjoined
])
def test_right_to_left_text_is_refused_in_a_pdf_not_printed_backwards(sqlite_clinic, tmp_path,
                                                                       note, named):
    sqlite_clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    sqlite_clinic.ok("log", "P0001", "--date", "2026-03-01", "--note", note,
                     "--point", "deltoid:L pre=5 post=2")
    events = sqlite_clinic.count("audit_event")
    before = sorted(tmp_path.iterdir())
    assert_refused(sqlite_clinic.run("export", "P0001", "-f", "pdf", "-o",
                                     str(tmp_path / "summary.pdf")),
                   2, "the PDF cannot lay out right-to-left text", named,
                   "export --format html instead")
    assert sorted(tmp_path.iterdir()) == before
    assert sqlite_clinic.count("audit_event") == events
    assert note in _export(sqlite_clinic, tmp_path, "html").read_text(encoding="utf-8")
