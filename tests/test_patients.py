"""tplog patient add | list | show, on the real CLI and a real database."""

import json

import pytest

from tests.conftest import assert_refused


def test_add_assigns_mrns_in_order_and_keeps_a_given_one(clinic):
    assert clinic.ok("patient", "add", "Ada Lovelace").stdout.strip() == "P0001"
    assert clinic.ok("patient", "add", "Grace Hopper", "--mrn", "CL-77").stdout.strip() == "CL-77"
    assert clinic.ok("patient", "add", "Mary Somerville").stdout.strip() == "P0002"
    rows = clinic.sql("SELECT mrn, name FROM patient ORDER BY id")
    assert rows == [("P0001", "Ada Lovelace"), ("CL-77", "Grace Hopper"),
                    ("P0002", "Mary Somerville")]


def test_show_gives_demographics_as_table_and_json(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-12-10", "--sex", "female",
              "--weight-kg", "61.5")
    table = clinic.ok("patient", "show", "P0001").stdout
    assert "Ada Lovelace" in table and "1970-12-10" in table and "61.5" in table
    shown = json.loads(clinic.ok("patient", "show", "P0001", "--json").stdout)
    # The pre-procedure screen (issue 16): nothing recorded yet for a new patient.
    screen = shown.pop("screen")
    assert (screen["allergies"], screen["allergies_recorded"], screen["anticoagulants"]) == (
        [], False, None)
    assert shown == {"mrn": "P0001", "name": "Ada Lovelace", "date_of_birth": "1970-12-10",
                     "sex": "female", "weight_kg": 61.5, "visit_count": 0,
                     "last_visit_date": None}


def test_list_searches_names_and_mrns(clinic):
    for name in ("Ada Lovelace", "Grace Hopper", "Ada Yonath"):
        clinic.ok("patient", "add", name)
    found = json.loads(clinic.ok("patient", "list", "--search", "ada", "--json").stdout)
    assert [p["name"] for p in found] == ["Ada Lovelace", "Ada Yonath"]
    found = json.loads(clinic.ok("patient", "list", "--search", "p0002", "--json").stdout)
    assert [p["name"] for p in found] == ["Grace Hopper"]
    table = clinic.ok("patient", "list").stdout
    assert "3 patient(s)" in table and "Grace Hopper" in table


def test_a_name_with_brackets_is_shown_as_typed(clinic):
    clinic.ok("patient", "add", "Pat [bold]Smith[/bold]")
    assert "Pat [bold]Smith[/bold]" in clinic.ok("patient", "list").stdout


@pytest.mark.parametrize("args, fragments", [
    (["--dob", "1970-13-01"], ["date of birth '1970-13-01'", "YYYY-MM-DD"]),
    (["--dob", "2999-01-01"], ["date of birth 2999-01-01 is in the future"]),
    (["--sex", "x"], ["sex 'x' is not allowed", "female|male|other|unknown"]),
    (["--weight-kg", "-3"], ["weight '-3' is not allowed"]),
    (["--weight-kg", "sixty"], ["weight 'sixty' is not allowed", "kilograms"]),
    (["--mrn", "has space"], ["MRN 'has space' is not allowed"]),
    (["--mrn", ""], ["MRN '' is not allowed"]),
])
def test_bad_demographics_are_refused_and_nothing_is_written(clinic, args, fragments):
    result = clinic.run("patient", "add", "Ada Lovelace", *args)
    assert_refused(result, 2, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1
    assert clinic.count("patient") == 0


def test_empty_name_is_refused(clinic):
    assert_refused(clinic.run("patient", "add", "  "), 2, "name '' is not allowed")
    assert clinic.count("patient") == 0


def test_duplicate_mrn_is_refused_with_exit_1(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--mrn", "A1")
    assert_refused(clinic.run("patient", "add", "Someone Else", "--mrn", "A1"), 1,
                   "MRN A1 is already taken")
    assert clinic.sql("SELECT name FROM patient") == [("Ada Lovelace",)]


def test_unknown_mrn_exits_1(clinic):
    clinic.ok("patient", "add", "Ada Lovelace")
    assert_refused(clinic.run("patient", "show", "P0404"), 1, "no patient with MRN 'P0404'")


def test_each_patient_shows_their_own_weight_never_another_patients(clinic):
    """A patient never weighed shows no weight in the list and in show, even when another
    patient was weighed (the latest-weight query once took any patient's weight); a merged
    duplicate's weight still counts for the patient it was merged into."""
    clinic.ok("patient", "add", "Ann Abel", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Bob Baker", "--dob", "1971-01-01")
    clinic.ok("patient", "weight", "P0001", "70", "--on", "2026-01-01")
    listed = {p["mrn"]: p["weight_kg"]
              for p in json.loads(clinic.ok("patient", "list", "--json").stdout)}
    assert listed == {"P0001": 70.0, "P0002": None}
    bob = json.loads(clinic.ok("patient", "show", "P0002", "--json").stdout)
    assert bob["weight_kg"] is None
    clinic.ok("patient", "weight", "P0002", "82", "--on", "2026-02-01")
    listed = {p["mrn"]: p["weight_kg"]
              for p in json.loads(clinic.ok("patient", "list", "--json").stdout)}
    assert listed == {"P0001": 70.0, "P0002": 82.0}
