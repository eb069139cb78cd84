"""tplog due: visits old enough with no follow-up yet, not voided, oldest first; one query."""

import json

import pytest
from sqlalchemy import event, text

from tests.conftest import assert_refused, built_once
from tplog import db

POINT = "upper-trapezius:L pre=6 post=2"


@built_once
def waiting(clinic):
    """Visits 1-5 of two patients, 30, 20, 15, 10 and 40 days ago; visit 3 has a follow-up,
    visit 5 is voided."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--mrn", "A1")
    clinic.ok("patient", "add", "Bea Boole", "--dob", "1971-01-01", "--mrn", "B2")
    for mrn, days, points in (("A1", 30, [POINT]), ("B2", 20, [POINT, "deltoid:R pre=4"]),
                              ("A1", 15, [POINT]), ("B2", 10, [POINT]), ("A1", 40, [POINT])):
        clinic.ok("log", mrn, *[arg for p in points for arg in ("-p", p)], "--date",
                  f"-{days}d", "--yes")
    clinic.ok("followup", "3", "--pain", "2", "--yes")
    clinic.ok("visit", "void", "5", "--reason", "entered twice", "--yes")
    return clinic


def _due(clinic, *args: str) -> list[dict]:
    return json.loads(clinic.ok("due", *args, "--json").stdout)["visits"]


def test_due_lists_old_visits_without_follow_up_oldest_first(waiting):
    found = _due(waiting)
    assert [(v["visit"], v["mrn"], v["days_since"]) for v in found] == [
        (1, "A1", 30), (2, "B2", 20)]
    assert found[1]["sites"] == ["deltoid R", "upper-trapezius L"]
    assert found[1]["patient_name"] == "Bea Boole"
    assert set(found[0]) == {"visit", "mrn", "patient_name", "visit_date", "sites",
                             "days_since"}  # no phone or other contact
    table = waiting.ok("due").stdout
    assert table.index("Ada Lovelace") < table.index("Bea Boole")
    assert "2 visit(s) 14+ days old with no follow-up" in " ".join(table.split())


def test_days_chooses_how_old(waiting):
    assert [v["visit"] for v in _due(waiting, "--days", "10")] == [1, 2, 4]
    assert [v["visit"] for v in _due(waiting, "--days", "25")] == [1]
    assert _due(waiting, "--days", "31") == []
    assert "No visit 31 or more days old" in waiting.ok("due", "--days", "31").stderr


def test_the_config_files_followup_due_days_is_the_default(waiting):
    waiting.ok("config", "set", "followup.due_days", "25")
    assert [v["visit"] for v in _due(waiting)] == [1]
    assert json.loads(waiting.ok("due", "--json").stdout)["days"] == 25


def test_a_follow_up_takes_a_visit_off_the_list(waiting):
    waiting.ok("followup", "1", "--pain", "3", "--yes")
    assert [v["visit"] for v in _due(waiting)] == [2]


@pytest.mark.parametrize("days", ["x", "-1", "1.5", "99999999"])
def test_bad_days_are_refused(waiting, days):
    assert_refused(waiting.run("due", "--days", days), 2, f"--days '{days}'",
                   "whole number of days")


def test_due_is_one_indexed_query(waiting):
    import datetime as dt

    from sqlalchemy.orm import Session

    from tplog.services.due import due, due_query

    engine = db.make_engine(db.locate(waiting.url))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    try:
        with Session(engine) as s:
            statements.clear()
            assert [v.visit_id for v in due(s, days=14)] == [1, 2]
            selects = [q for q in statements if not q.startswith("BEGIN")]
            assert len(selects) == 1  # not a query per visit
            query = due_query(dt.date.today() - dt.timedelta(days=14))
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row) for row in s.execute(text("EXPLAIN " * (
                waiting.backend == "postgresql") + ("EXPLAIN QUERY PLAN " * (
                    waiting.backend == "sqlite")) + sql)))
            if waiting.backend == "sqlite":  # PostgreSQL plans a table this small by scans
                assert "ix_follow_up_visit" in plan and "SCAN follow_up" not in plan
    finally:
        engine.dispose()
