"""Tables fit the terminal they are printed on (issue 14): at 80 and 120 columns no line is
wider than the terminal, no key, band or "N%" is broken over two lines, tables grow to the
width, captions start at the left edge, and a history says what its visits share once."""

import re

import pytest
from typer.testing import CliRunner

from tests.conftest import built_once
from tplog.cli import app

LONG_KEYS = ["bupivacaine-0.25", "quadratus-lumborum", "sternocleidomastoid",
             "tensor-fasciae-latae", "dry-needling", "myofascial-pain-other-site",
             "tension-headache-chronic"]
BANDS = ["substantial", "moderate", "little", "worse"]
NOTE = "Tolerated well; will call in two weeks to report how long the relief lasted"


@built_once
def long_keys(clinic):
    """Visits whose keys, bands and percentages are as wide as they come."""
    clinic.ok("patient", "add", "Ada Augusta King, Countess of Lovelace", "--dob", "1970-01-01",
              "--weight-kg", "60", "--sex", "female")
    clinic.ok("log", "P0001", "--date", "2026-01-10", "-c", "myofascial-pain", "-c",
              "tension-headache-chronic", "--note", NOTE,
              "-p", "quadratus-lumborum:L pre=8 post=4 twitch=yes soreness=moderate "
                    "drug=bupivacaine-0.25 ml=2",
              "-p", "sternocleidomastoid:R pre=10 post=0 drug=bupivacaine-0.25 ml=1.5 "
                    "numbness=yes",
              "-p", "tensor-fasciae-latae:L pre=7 post=3 drug=lidocaine-1 ml=1",
              "-p", "upper-trapezius:L pre=2 post=7 drug=dry-needling",
              "-p", "upper-trapezius:R pre=6 post=5 drug=bupivacaine-0.25 ml=1")
    clinic.ok("log", "P0001", "--date", "2026-02-10", "--note", NOTE,
              "-p", "quadratus-lumborum:L pre=8 post=2 drug=bupivacaine-0.25 ml=2",
              "-p", "rhomboids:R pre=7 post=3 drug=bupivacaine-0.25 ml=1")
    clinic.ok("followup", "1", "--yes", "--pain", "3", "--on", "2026-01-20",
              "--note", "much better")
    return clinic


def shown(clinic, width, *args):
    result = CliRunner().invoke(app, ["--db", clinic.url, *args], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result.stdout


COMMANDS = [
    ("history", "P0001"), ("history", "P0001", "--brief"), ("visit", "show", "1"),
    ("visit", "show", "1", "--revisions"), ("patient", "list"), ("patient", "show", "P0001"),
    ("summary",), *[("summary", "--by", by) for by in ("muscle", "region", "condition",
                                                       "practitioner", "month", "drug")],
    ("muscles",), ("drugs",), ("conditions",), ("audit", "log"), ("trend", "P0001"),
]


def words_whole(text, words):
    """Each word that is in the output appears whole on some line: none is only in pieces."""
    lines = text.splitlines()
    return [w for w in words if w in text.replace("\n", "") and not any(w in line
                                                                         for line in lines)]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_table_fits_the_terminal_and_breaks_no_key(long_keys, command, width):
    out = shown(long_keys, width, *command)
    too_wide = [line for line in out.splitlines() if len(line) > width]
    assert not too_wide, too_wide
    # Nothing split across lines: keys, band words, "N%" (a % cut from its number would
    # leave a line ending in digits with the next starting "%").
    assert not words_whole(out, LONG_KEYS + BANDS), out
    assert not re.search(r"\d\n\s*%", out), out
    for line in out.splitlines():
        stripped = line.strip()
        assert not re.fullmatch(r"-?\d+%?", stripped) or stripped in {"1", "2"}, (line, out)


def test_keys_and_percentages_are_whole_where_they_used_to_split(long_keys):
    for width in (80, 120):
        out = shown(long_keys, width, "visit", "show", "1")
        for line in ("quadratus-lumborum L", "sternocleidomastoid R", "tensor-fasciae-latae L"):
            row = next(r for r in out.splitlines() if r.startswith(line))
            assert "bupivacaine-0.25" in row or "lidocaine-1" in row or "dry-needling" in row
        rhomboids = next(r for r in shown(long_keys, width, "visit", "show", "2").splitlines()
                         if r.startswith("rhomboids R"))
        # The band beside its % on the row it belongs to, never under it on a line of its own.
        assert re.search(r"57%\s+(substantial|subst\.)", rhomboids), rhomboids


def test_at_80_columns_the_band_is_shortened_and_at_120_it_is_whole(long_keys):
    narrow = shown(long_keys, 80, "visit", "show", "1")
    assert "100% subst." in narrow and "subst.: substantial" in narrow
    wide = shown(long_keys, 120, "visit", "show", "1")
    row = next(r for r in wide.splitlines() if r.startswith("sternocleidomastoid R"))
    assert "10 → 0 (-10)" in row and "100% substantial" in row, row


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_tables_grow_to_a_wide_terminal(long_keys, command):
    out = shown(long_keys, 120, *command)
    assert max(len(line) for line in out.splitlines()) > 100, out
    if command[0] != "patient" or command[1] != "show":  # the panel has no header rule
        assert "─" * 101 in out, out


@pytest.mark.parametrize("width", [80, 120])
def test_captions_start_at_the_left_edge(long_keys, width):
    for command, start in [(("visit", "show", "1"), "Reduc.: % reduction"),
                           (("summary",), "Pre/Post:"), (("muscles",), "— = no verified"),
                           (("conditions",), "Codes are suggestions"),
                           (("trend", "P0001"), "Before/After:")]:
        out = shown(long_keys, width, *command)
        assert any(line.startswith(start) for line in out.splitlines()), (start, out)


@pytest.mark.parametrize("width", [80, 120])
def test_history_says_the_legend_the_cpt_rule_and_the_aftercare_once(long_keys, width):
    out = shown(long_keys, width, "history", "P0001")
    flat = " ".join(out.split())
    for once in ("Reduc.: % reduction in pain", "= not recorded", "LTR: local twitch response",
                 "left and right of a muscle count as two",
                 "A suggestion, not a coverage determination.",
                 "tell the patient to seek care at once",
                 "keep the patient under observation before discharge"):
        assert flat.count(once) == 1, (once, out)
    # Each visit still names its own codes and its sites over the thorax.
    assert flat.count("CPT 20553 (injection) suggested") == 1
    assert flat.count("CPT 20552 (injection) suggested") == 1
    assert "Injected over the thorax: rhomboids R" in flat
    assert "(visit(s) 2, 1)" in flat
    assert flat.count(NOTE) == 2 and flat.count("much better") == 1
    # The end notes come after the last visit.
    assert flat.index("tell the patient to seek care") > flat.index("Visit 1 ")


def test_one_visit_shown_alone_keeps_its_full_caution_and_rule(long_keys):
    flat = " ".join(shown(long_keys, 80, "visit", "show", "1").split())
    assert "left and right of a muscle count as two" in flat
    assert "BOTH sides of the chest in one visit" in flat
    assert flat.count("A suggestion, not a coverage determination.") == 2  # 20553 and 20560


@pytest.mark.parametrize("width", [80, 120])
def test_brief_history_is_one_line_a_visit(long_keys, width):
    long_keys.ok("visit", "void", "2", "--yes", "--reason", "entered twice")
    out = shown(long_keys, width, "history", "P0001", "--brief", "--include-void")
    rows = [line for line in out.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert len(rows) == 2, out
    newest, oldest = rows
    assert newest.startswith("2026-02-10") and newest.rstrip().endswith("2 void")
    assert re.search(r"quadratus-lumborum L(, rhomboids R| \+1 more) ", newest), newest
    assert "7.5 → 2.5" in newest and re.search(r"67% (substantial|subst\.)", newest)
    assert oldest.startswith("2026-01-10") and oldest.rstrip().endswith("1")
    assert "6.6 → 3.8" in oldest and "42% moderate" in oldest
    # Whole sites, as many as fit, then how many more (a muscle on both sides counts once).
    assert re.search(r"quadratus-lumborum L(, [a-z-]+ [LR+]+)* \+\d more ", oldest), oldest
    if width == 120:
        assert "quadratus-lumborum L, sternocleidomastoid R" in oldest
    wide = shown(long_keys, 160, "history", "P0001", "--brief")
    assert ("quadratus-lumborum L, sternocleidomastoid R, tensor-fasciae-latae L, "
            "upper-trapezius L+R ") in wide
    assert "Warning" not in out and "CPT" not in out and "Dose" not in out


def test_brief_refuses_json(long_keys):
    from tests.conftest import assert_refused

    assert_refused(long_keys.run("history", "P0001", "--brief", "--json"), 2,
                   "--brief", "--json")


def test_log_says_each_warning_and_the_caution_once(long_keys):
    # On a terminal stdout and stderr share the screen: the findings shown before saving are
    # not repeated in the visit printed after.
    result = long_keys.run("log", "P0001", "--date", "2026-02-12",
                           "-p", "rhomboids:R pre=5 post=1",
                           "-p", "quadratus-lumborum:L pre=8 post=2 drug=bupivacaine-0.25 ml=2")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    screen = " ".join((result.stderr + result.stdout).split())
    assert screen.count("rhomboids R was injected on 2026-02-10") == 1, screen
    assert screen.count("tell the patient to seek care at once") == 1, screen
    # ...and the record keeps them: `visit show` says them.
    later = " ".join(shown(long_keys, 80, "visit", "show", "3").split())
    assert "Warning when logged: rhomboids R was injected on 2026-02-10" in later
    assert "tell the patient to seek care at once" in later


@pytest.mark.parametrize("width", [80, 120])
def test_log_output_fits_and_breaks_no_key(long_keys, width):
    result = CliRunner().invoke(
        app, ["--db", long_keys.url, "log", "P0001", "--date", "2026-03-01", "-p",
              "sternocleidomastoid:R pre=10 post=0 drug=bupivacaine-0.25 ml=12.5 "
              "soreness=severe numbness=yes twitch=yes", "-p",
              "tensor-fasciae-latae:L pre=3 post=10 drug=bupivacaine-0.25 ml=1"],
        env={"COLUMNS": str(width)})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = result.stdout
    assert all(len(line) <= width for line in out.splitlines()), out
    assert not words_whole(out, LONG_KEYS + BANDS), out
    assert "-233%" in out and "12.5" in out


def test_a_very_narrow_terminal_still_shows_every_value(long_keys):
    # Below what whole keys need, rich folds them rather than cutting anything off.
    out = shown(long_keys, 40, "visit", "show", "1")
    assert all(len(line) <= 40 for line in out.splitlines()), out
    # The last column is there (nothing cropped), the keys folded within their columns.
    rows = [line.split() for line in out.splitlines()]
    assert any(line[:2] == ["stern", "10"] and line[-1] == "1.5" for line in rows), out
    assert any(line[-1:] == ["0.25"] for line in rows), out
