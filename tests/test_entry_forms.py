"""Issue 14: the forms a clinician types are understood, and what is not says why.

Dates as `today`, `yesterday`, `-3d`, `3 days ago`; an impossible date names its reason;
MRNs in any case; muscles with spaces or by name; unique starts of closed sets (`--sex F`,
`soreness=mod`); a did-you-mean for a mistyped command.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.conftest import assert_refused, built_once


@built_once
def patient(clinic):
    clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12", "--weight-kg", "64")
    return clinic


def logged_date(clinic, visit_id):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)["visit_date"]


@pytest.mark.parametrize("typed, days_back", [("today", 0), ("yesterday", 1), ("-3d", 3),
                                               ("3 days ago", 3), ("1 day ago", 1),
                                               ("3d ago", 3), ("Today", 0)])
def test_relative_dates(patient, typed, days_back):
    patient.ok("log", "P0001", "--date", typed, "--point", "deltoid:L pre=5 post=2", "--yes")
    expected = dt.date.today() - dt.timedelta(days=days_back)
    assert logged_date(patient, 1) == expected.isoformat()


@pytest.mark.parametrize("typed, reason", [
    ("2026-11-31", "November 2026 has 30 days"),
    ("2025-02-29", "February 2025 has 28 days"),
    ("2026-13-01", "there is no month 13"),
    ("30/11/2026", "use YYYY-MM-DD, today, yesterday or -3d"),
    ("20261130", "use YYYY-MM-DD"),
    ("0026-11-30", "before 1900-01-01"),
])
def test_an_impossible_date_says_why(patient, typed, reason):
    before = patient.counts()
    result = patient.run("log", "P0001", "--date", typed, "--point", "deltoid:L pre=5")
    assert_refused(result, 2, f"date '{typed}' ", reason)
    assert patient.counts() == before


def test_a_leap_day_is_a_date(patient):
    patient.ok("log", "P0001", "--date", "2024-02-29", "--point", "deltoid:L pre=5", "--yes")
    assert logged_date(patient, 1) == "2024-02-29"


def test_an_imported_file_takes_iso_dates_only(patient, tmp_path):
    template = patient.ok("import", "--template").stdout.splitlines()
    source = tmp_path / "visits.csv"
    source.write_text(template[0] + "\n" + template[1].replace("2026-01-15", "yesterday")
                      + "\n", encoding="utf-8")
    assert_refused(patient.run("import", str(source)), 2, "visit_date 'yesterday'",
                   "use YYYY-MM-DD")


def test_mrns_in_any_case(patient):
    patient.ok("log", "p0001", "--point", "deltoid:L pre=5 post=2", "--yes")
    history = json.loads(patient.ok("history", "p0001", "--json").stdout)
    assert history["patient"]["mrn"] == "P0001" and len(history["visits"]) == 1


@pytest.mark.parametrize("spec", ["upper trapezius:L pre=5", "Upper trapezius:L pre=5",
                                  "UPPER-TRAPEZIUS:l pre=5", "upper  trapezius :L pre=5"])
def test_muscles_with_spaces_or_by_name(patient, spec):
    patient.ok("log", "P0001", "--point", spec, "--yes")
    (point,) = json.loads(patient.ok("visit", "show", "1", "--json").stdout)["points"]
    assert (point["muscle"], point["side"]) == ("upper-trapezius", "L")


@pytest.mark.parametrize("typed, stored", [("F", "female"), ("m", "male"), ("O", "other"),
                                           ("u", "unknown"), ("Female", "female")])
def test_sex_by_its_first_letter(clinic, typed, stored):
    clinic.ok("patient", "add", "Ann Lee", "--sex", typed)
    assert json.loads(clinic.ok("patient", "show", "P0001", "--json").stdout)["sex"] == stored


def test_unique_starts_of_closed_sets(patient):
    patient.ok("log", "P0001", "--point", "deltoid:L pre=5 soreness=mod", "--yes")
    (point,) = json.loads(patient.ok("visit", "show", "1", "--json").stdout)["points"]
    assert point["soreness"] == "moderate"
    assert "csv" not in patient.ok("export", "P0001", "--format", "JS").stdout[:20]
    result = patient.run("log", "P0001", "--point", "deltoid:L pre=5 soreness=m")
    assert_refused(result, 2, "soreness 'm' could be mild or moderate")


@pytest.mark.parametrize(("typed", "suggested"), [
    (["histroy", "P0001"], "No such command 'histroy'; did you mean history?"),
    (["hist", "P0001"], "No such command 'hist'; did you mean history?"),
    (["visit", "shwo", "1"], "No such command 'shwo'; did you mean show?"),
    (["patient", "ad", "Ada"], "No such command 'ad'; did you mean add?"),
    (["audit", "verfy"], "No such command 'verfy'; did you mean verify?"),
])
def test_a_mistyped_command_gets_a_suggestion(clinic, typed, suggested):
    before = clinic.counts()
    result = clinic.run(*typed)
    assert result.exit_code == 2
    assert suggested in result.stderr
    assert clinic.counts() == before


@pytest.mark.parametrize(("option", "typed", "suggested"), [
    ("--drug", "bupi", "did you mean bupivacaine-0.25, bupivacaine-0.5?"),
    ("--drug", "lido", "did you mean lidocaine-0.5, lidocaine-1, lidocaine-2?"),
])
def test_a_cut_short_key_gets_the_keys_it_starts(patient, option, typed, suggested):
    result = patient.run("log", "P0001", "--point", "deltoid:L pre=5", option, typed)
    assert_refused(result, 2, f"unknown drug {typed!r}", suggested)
    assert patient.count("visit") == 0


def test_a_muscle_named_by_a_part_of_its_key_gets_suggestions(patient):
    result = patient.run("log", "P0001", "--point", "trap:L pre=5")
    assert_refused(result, 2, "unknown muscle 'trap'; did you mean upper-trapezius, "
                              "middle-trapezius, lower-trapezius?")
