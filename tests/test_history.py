"""tplog history and tplog visit show."""

import json

import pytest

from tests.conftest import assert_refused, built_once


@built_once
def treated(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--date", "2026-01-10", "--point",
              "upper-trapezius:L pre=8 post=4", "--point", "deltoid:R pre=6 post=6")
    clinic.ok("log", "P0001", "--date", "2026-03-05", "--point", "deltoid:R pre=5 post=1")
    clinic.ok("log", "P0002", "--date", "2026-02-01", "--point", "masseter:L pre=4 post=2")
    clinic.ok("log", "P0001", "--date", "2026-02-07", "--point",
              "upper-trapezius:L pre=6 post=3 twitch=yes")
    return clinic


def history(clinic, *args):
    return json.loads(clinic.ok("history", "P0001", *args, "--json").stdout)


def test_history_is_newest_first_with_the_change_in_pain(treated):
    found = history(treated)
    assert found["patient"]["mrn"] == "P0001" and found["patient"]["visit_count"] == 3
    assert [v["visit_date"] for v in found["visits"]] == ["2026-03-05", "2026-02-07",
                                                          "2026-01-10"]
    oldest = found["visits"][-1]
    assert [(p["muscle"], p["pain_change"]) for p in oldest["points"]] == \
        [("upper-trapezius", -4), ("deltoid", 0)]
    # The reduction of mean pain, (14 - 10) / 14, not the mean of 50 % and 0 %.
    assert oldest["reduction_of_mean_percent"] == pytest.approx(400 / 14)
    assert oldest["mean_pain_change"] == pytest.approx(-2.0)
    table = treated.ok("history", "P0001").stdout
    assert (table.index("Visit 2  2026-03-05") < table.index("Visit 4  2026-02-07")
            < table.index("Visit 1  2026-01-10"))
    assert "8 → 4" in table and "50%" in table and "masseter" not in table


def test_history_filters_by_dates_and_muscle(treated):
    dates = [v["visit_date"] for v in history(treated, "--since", "2026-02-01",
                                              "--until", "2026-02-28")["visits"]]
    assert dates == ["2026-02-07"]
    by_muscle = history(treated, "--muscle", "upper-trapezius")["visits"]
    assert [v["visit_date"] for v in by_muscle] == ["2026-02-07", "2026-01-10"]
    assert all(p["muscle"] == "upper-trapezius" for v in by_muscle for p in v["points"])


def test_history_of_a_patient_without_visits(treated):
    treated.ok("patient", "add", "New Patient", "--dob", "1970-01-01")
    assert history_of(treated, "P0003")["visits"] == []
    assert "No visits match." in treated.ok("history", "P0003").stdout


def history_of(clinic, mrn):
    return json.loads(clinic.ok("history", mrn, "--json").stdout)


@pytest.mark.parametrize("args, code, fragments", [
    (["P0404"], 1, ["no patient with MRN 'P0404'"]),
    (["P0001", "--since", "last week"], 2, ["--since 'last week' is not a date"]),
    (["P0001", "--until", "2026-1-1"], 2, ["--until '2026-1-1' is not a date"]),
    (["P0001", "--muscle", "trapezius"], 2, ["unknown muscle 'trapezius'", "did you mean"]),
])
def test_history_refusals(treated, args, code, fragments):
    assert_refused(treated.run("history", *args), code, *fragments)


def test_visit_show_and_json_output_is_one_document(treated):
    shown = treated.ok("visit", "show", "2", "--json")
    visit = json.loads(shown.stdout)  # nothing else on stdout
    assert visit["id"] == 2 and visit["mrn"] == "P0001"
    assert visit["points"][0]["percent_reduction"] == pytest.approx(80.0)
    assert "deltoid R" in treated.ok("visit", "show", "2").stdout


def test_unknown_visit_exits_1(treated):
    assert_refused(treated.run("visit", "show", "404"), 1, "no visit with id 404")


def test_a_visit_id_that_is_not_a_number_exits_2(treated):
    assert_refused(treated.run("visit", "show", "first"), 2, "visit id 'first' is not allowed")
