"""Issue 13: arbitrary text anywhere a user types or a file brings it in.

Hypothesis feeds any Unicode (control characters, lone surrogates as a mis-encoded argv
brings them, huge strings) to `--point` specs, names, notes, dates and CSV cells. Whatever
comes in: exit 0 or a documented code, never a traceback, one line on a refusal, and nothing
written when refused. Derandomized, so that CI runs the same examples every time.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tplog.cli import app

DOCUMENTED = {0, 1, 2, 3, 5}
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Any code point, surrogates included (argv decoded with surrogateescape holds them).
anything = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF),
                   max_size=300)
spec_like = st.builds(lambda muscle, side, rest: f"{muscle}:{side} {rest}",
                      st.sampled_from(["deltoid", "upper-trapezius", "masseter", "x"]),
                      st.sampled_from(["L", "R", "l", "", "LR"]), anything)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("fuzz") / "clinic.db")
    run(path, "patient", "add", "Ann Lee", "--dob", "1970-01-01", "--weight-kg", "60")
    return path


def run(database: str, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["--db", database, *args], input=input)


def state(database: str) -> tuple:
    import sqlite3

    connection = sqlite3.connect(database)
    try:
        return tuple(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("patient", "visit", "visit_revision", "injected_point",
                                   "audit_event", "follow_up", "patient_weight"))
    finally:
        connection.close()


def assert_clean(database: str, before: tuple, result) -> None:
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.stderr[-300:])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code != 0:
        assert state(database) == before
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr[:500]
        assert len(result.stderr) < 1000


@FUZZ
@given(spec=st.one_of(anything, spec_like))
def test_any_point_spec(database, spec):
    before = state(database)
    assert_clean(database, before, run(database, "log", "P0001", "--point", spec,
                                       "--yes"))


@FUZZ
@given(name=anything, born=anything)
def test_any_name_and_birth_date(database, name, born):
    before = state(database)
    assert_clean(database, before, run(database, "patient", "add", name, "--dob", born))


@FUZZ
@given(note=anything, date=st.one_of(anything, st.dates().map(str)))
def test_any_note_and_visit_date(database, note, date):
    before = state(database)
    assert_clean(database, before, run(database, "log", "P0001", "--point",
                                       "deltoid:L pre=5 post=2", "--note", note,
                                       "--date", date, "--yes"))


@FUZZ
@given(text=anything)
def test_any_lookup_reason_and_follow_up(database, text):
    before = state(database)
    assert_clean(database, before, run(database, "history", text))
    assert_clean(database, before, run(database, "visit", "void", "1", "--yes", "--reason", text))
    before = state(database)
    assert_clean(database, before, run(database, "followup", "1", "--yes", "--pain", text))


HEADER = ["mrn", "patient_name", "date_of_birth", "sex", "weight_kg", "visit", "visit_date",
          "age_at_visit", "practitioner", "conditions", "visit_note", "point", "muscle", "side",
          "pain_before", "pain_after", "twitch_response", "soreness", "numbness", "drug",
          "volume_ml"]
ROW = ["Z0001", "Example Patient", "1970-01-31", "female", "62", "1", "2026-01-15", "",
       "Dr Example", "tension-headache", "first visit", "1", "upper-trapezius", "L", "7", "3",
       "yes", "mild", "no", "lidocaine-1", "1"]


@FUZZ
@given(column=st.integers(0, len(HEADER) - 1), cell=anything)
def test_any_csv_cell(database, tmp_path_factory, column, cell):
    row = list(ROW)
    row[column] = cell
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, row])
    path = Path(tmp_path_factory.mktemp("csv")) / "visits.csv"
    path.write_bytes(out.getvalue().encode("utf-8", errors="surrogateescape"))
    before = state(database)
    result = run(database, "import", str(path))
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.stderr[-300:])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code != 0:
        assert state(database) == before
