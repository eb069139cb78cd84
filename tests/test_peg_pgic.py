"""PEG (three 0-10 items, score their mean; Krebs et al. 2009) at visits and follow-ups, PGIC
(1-7, Farrar et al. 2001) at follow-ups: entry, refusals, history, summary figures from known
data, and the exports (CSV read back by import, FHIR validated)."""

import csv
import io
import json
from fractions import Fraction

import pytest

from tests.conftest import assert_refused, built_once
from tplog import clinical
from tplog.parse import parse_pgic

POINT = "upper-trapezius:L pre=6 post=2"


def _written(clinic) -> tuple[int, ...]:
    return tuple(clinic.count(t) for t in ("visit_revision", "follow_up", "audit_event",
                                           "practitioner"))


@built_once
def logged(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "-p", POINT, "--date", "-20d", "--practitioner", "Dr Lee")
    return clinic


def test_peg_score_is_the_mean_of_the_three_items():
    assert clinical.peg_score(6, 5, 7) == 6
    assert clinical.peg_score(3, 3, 4) == Fraction(10, 3)
    assert clinical.peg_score(3, None, 4) is None


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("7", 7), ("very much improved", 1), ("Much-Improved", 2), ("much i", 2),
    ("minimally w", 5), ("no", 4), ("very much w", 7)])
def test_pgic_takes_a_number_or_its_words(text, value):
    assert parse_pgic(text) == value


def test_log_with_peg_is_stored_and_shown(logged):
    result = logged.ok("log", "P0001", "-p", POINT, "--peg", "6, 5,7", "--json")
    peg = json.loads(result.stdout)["peg"]
    assert peg == {"pain": 6, "enjoyment": 5, "activity": 7, "score": 6.0}
    assert "PEG 6.0 (pain 6, enjoyment 5, activity 7)" in logged.ok("visit", "show",
                                                                     "2").stdout
    assert "PEG 6.0" in logged.ok("history", "P0001").stdout
    assert json.loads(logged.ok("visit", "show", "1", "--json").stdout)["peg"] is None
    assert "holds" in logged.ok("audit", "verify").stdout


def test_followup_with_peg_and_pgic(logged):
    result = logged.ok("followup", "1", "--pain", "3", "--peg", "3,3,4", "--pgic", "much imp",
                       "--yes", "--json")
    follow_up = json.loads(result.stdout)["follow_up"]
    assert follow_up["peg"] == {"pain": 3, "enjoyment": 3, "activity": 4, "score": 3.3}
    assert follow_up["pgic"] == {"value": 2, "text": "much improved"}
    shown = " ".join(logged.ok("visit", "show", "1").stdout.split())  # lines as wrapped: one
    assert "PEG 3.3 (pain 3, enjoyment 3, activity 4)" in shown
    assert "PGIC 2 much improved" in shown
    assert "holds" in logged.ok("audit", "verify").stdout


def test_trend_shows_peg_over_time_at_visits_and_follow_ups(logged):
    logged.ok("visit", "amend", "1", "--peg", "8,8,8", "--reason", "PEG was asked")
    logged.ok("followup", "1", "--pain", "3", "--on", "-10d", "--peg", "5,4,3", "--yes")
    logged.ok("log", "P0001", "-p", POINT, "--date", "-5d", "--peg", "2,2,2")
    logged.ok("log", "P0001", "-p", POINT, "--date", "-2d", "--peg", "9,9,9")
    logged.ok("visit", "void", "3", "--reason", "wrong patient", "--yes")
    pegs = json.loads(logged.ok("trend", "P0001", "--json").stdout)["peg"]
    assert [(p["visit"], p["follow_up"], p["score"]) for p in pegs] == [
        (1, None, 8.0), (1, 1, 4.0), (2, None, 2.0)]
    text = " ".join(logged.ok("trend", "P0001").stdout.split())
    assert "PEG, 3 time(s)" in text and "first 8.0, last 2.0" in text


def test_amend_records_a_peg_as_a_change(logged):
    logged.ok("visit", "amend", "1", "--peg", "7,7,7", "--reason", "PEG was asked")
    revisions = json.loads(logged.ok("visit", "show", "1", "--revisions", "--json").stdout)
    assert revisions["peg"]["score"] == 7.0
    assert "PEG: not recorded → 7,7,7" in revisions["revisions"][1]["changes"]
    assert_refused(logged.run("visit", "amend", "1", "--peg", "7,7,7", "--reason", "again"),
                   2, "changes nothing")
    assert "holds" in logged.ok("audit", "verify").stdout


@pytest.mark.parametrize("command, fragments", [
    (["log", "P0001", "-p", POINT, "--peg", "6,5"], ["--peg '6,5'", "three whole numbers"]),
    (["log", "P0001", "-p", POINT, "--peg", "6,5,11"], ["--peg '6,5,11'", "0-10"]),
    (["log", "P0001", "-p", POINT, "--peg", "6,5,7,1"], ["--peg '6,5,7,1'"]),
    (["log", "P0001", "-p", POINT, "--peg", "a,b,c"], ["--peg 'a,b,c'"]),
    (["log", "P0001", "-p", POINT, "--peg", "-1,5,5"], ["--peg '-1,5,5'"]),
    (["followup", "1", "--pain", "3", "--yes", "--peg", "3,3"], ["--peg '3,3'"]),
    (["followup", "1", "--pain", "3", "--yes", "--pgic", "8"],
     ["--pgic '8'", "use 1-7 or the words", "very much improved"]),
    (["followup", "1", "--pain", "3", "--yes", "--pgic", "0"], ["--pgic '0'"]),
    (["followup", "1", "--pain", "3", "--yes", "--pgic", "better"], ["--pgic 'better'"]),
    (["followup", "1", "--pain", "3", "--yes", "--pgic", "much"],
     ["--pgic 'much' could be 'much improved' or 'much worse'"]),
    (["visit", "amend", "1", "--reason", "x", "--peg", "11,1,1"], ["--peg '11,1,1'"]),
])
def test_bad_peg_or_pgic_is_refused_and_nothing_is_written(logged, command, fragments):
    before = _written(logged)
    result = logged.run(*command, "--practitioner", "Dr New") if command[0] != "visit" \
        else logged.run(*command)
    assert_refused(result, 2, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1
    assert _written(logged) == before


def test_the_database_refuses_a_peg_item_out_of_range(logged):
    with pytest.raises(Exception, match="(?i)check"):
        logged.sql("INSERT INTO follow_up (visit_id, pain, reported_on, created_at, "
                   "created_by, practitioner, pgic) VALUES (1, 3, '2026-01-01', "
                   "'2026-01-01 10:00:00', 'x', 'x', 9)")


def test_summary_figures_from_known_data(clinic):
    clinic.ok("patient", "add", "Ada", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Bea", "--dob", "1971-01-01")
    clinic.ok("patient", "add", "Cy", "--dob", "1972-01-01")
    # Ada: first visit's PEG 6.0, follow-up 3.0 (PGIC 1): change -3.
    clinic.ok("log", "P0001", "-p", POINT, "--date", "-40d", "--peg", "6,6,6")
    clinic.ok("followup", "1", "--pain", "2", "--on", "-30d", "--peg", "3,3,3", "--pgic", "1",
              "--yes")
    # Bea: first visit 8.0, a later visit 6.0, its follow-up 5.0 (the latest): change -3;
    # PGIC 4 and 2 on the two follow-ups.
    clinic.ok("log", "P0002", "-p", POINT, "--date", "-40d", "--peg", "8,8,8")
    clinic.ok("followup", "2", "--pain", "4", "--on", "-35d", "--pgic", "no change", "--yes")
    clinic.ok("log", "P0002", "-p", POINT, "--date", "-20d", "--peg", "6,6,6")
    clinic.ok("followup", "3", "--pain", "3", "--on", "-10d", "--peg", "5,5,5", "--pgic",
              "much improved", "--yes")
    # Cy: one PEG only, no change to measure; a voided visit's PGIC is left out.
    clinic.ok("log", "P0003", "-p", POINT, "--date", "-40d", "--peg", "9,9,9")
    clinic.ok("log", "P0003", "-p", POINT, "--date", "-30d", "--peg", "1,1,1")
    clinic.ok("followup", "5", "--pain", "1", "--on", "-25d", "--pgic", "7", "--yes")
    clinic.ok("visit", "void", "5", "--reason", "wrong patient", "--yes")
    measures = json.loads(clinic.ok("summary", "--json").stdout)["outcome_measures"]
    assert measures["patients_with_peg_change"] == 2
    assert measures["mean_peg_change"] == pytest.approx(-3.0)
    assert measures["follow_ups_with_pgic"] == 3
    assert measures["share_pgic_much_improved"] == pytest.approx(2 / 3)
    text = " ".join(clinic.ok("summary").stdout.split())
    assert "PEG: mean change -3.0 points" in text and "over 2 patient(s)" in text
    assert "PGIC: 67% of 3 follow-up(s) much or very much improved" in text
    one = json.loads(clinic.ok("summary", "--patient", "P0002", "--json").stdout)
    assert one["outcome_measures"]["follow_ups_with_pgic"] == 2
    assert one["outcome_measures"]["share_pgic_much_improved"] == pytest.approx(0.5)


def test_summary_without_peg_or_pgic_says_so(logged):
    text = logged.ok("summary").stdout
    assert "PEG: no patient has a visit's PEG and a later one" in text
    assert "PGIC: none recorded" in text


def test_exports_carry_the_visits_peg_and_csv_reads_it_back(logged, tmp_path):
    logged.ok("log", "P0001", "-p", POINT, "--peg", "6,5,7")
    document = json.loads(logged.ok("export", "P0001", "--format", "json").stdout)
    pegs = [v["peg"] for v in document["patients"][0]["visits"]]
    assert pegs == [None, {"pain": 6, "enjoyment": 5, "activity": 7, "score": 6.0}]
    assert "PEG: 6.0 of 10 (pain 6" in logged.ok("export", "P0001", "--format", "md").stdout
    assert "<dt>PEG:</dt><dd>6.0 of 10" in logged.ok("export", "P0001", "--format",
                                                      "html").stdout
    bundle = json.loads(logged.ok("export", "P0001", "--format", "fhir").stdout)
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    (peg,) = [e["resource"] for e in bundle["entry"] if e["resource"]["id"].startswith("peg")]
    assert "coding" not in peg["code"]  # the reference gives no LOINC code for PEG
    assert peg["valueQuantity"] == {"value": 6.0}
    assert [c["valueInteger"] for c in peg["component"]] == [6, 5, 7]
    exported = logged.ok("export", "P0001", "--format", "csv").stdout
    header, first, second = exported.splitlines()
    assert ("range_of_motion,peg_pain,peg_enjoyment,peg_activity,lots,pregnant,adverse_events,"
            "point") in header
    assert ",,,,,,,1,upper-trapezius" in first and ",6,5,7,,,,1,upper-trapezius" in second
    path = tmp_path / "visits.csv"
    path.write_text(exported)
    other = tmp_path / "other.db"
    logged.__class__(url=str(other), backend="sqlite").ok("import", str(path))
    again = logged.__class__(url=str(other), backend="sqlite")
    assert again.sql("SELECT peg_pain, peg_enjoyment, peg_activity FROM visit_revision "
                     "ORDER BY id") == [(None, None, None), (6, 5, 7)]
    assert "holds" in again.ok("audit", "verify").stdout


def test_import_refuses_a_partial_peg_and_reads_a_file_from_before_peg(clinic, tmp_path):
    clinic.ok("patient", "list")
    header = ("mrn,patient_name,date_of_birth,sex,weight_kg,visit,visit_date,age_at_visit,"
              "practitioner,conditions,visit_note,{peg}point,muscle,side,pain_before,"
              "pain_after,twitch_response,soreness,numbness,drug,volume_ml")
    partial = tmp_path / "partial.csv"
    partial.write_text(header.format(peg="peg_pain,peg_enjoyment,peg_activity,") + "\n"
                       "P1,Ada,1970-01-01,,,1,2026-01-02,,Dr Lee,,,6,,7,1,deltoid,L,5,2,,,,,\n")
    before = clinic.count("visit")
    result = clinic.run("import", str(partial))
    assert result.exit_code == 2 and "peg_pain, peg_enjoyment and peg_activity go together" \
        in result.stderr
    assert clinic.count("visit") == before
    older = tmp_path / "older.csv"
    older.write_text(header.format(peg="") + "\n"
                     "P1,Ada,1970-01-01,,,1,2026-01-02,,Dr Lee,,,1,deltoid,L,5,2,,,,,\n")
    clinic.ok("import", str(older))
    assert clinic.sql("SELECT peg_pain FROM visit_revision") == [(None,)]
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_follow_ups_peg_and_pgic_are_in_every_export_and_import_back(logged, tmp_path):
    logged.ok("followup", "1", "--pain", "3", "--on", "-10d", "--peg", "3,3,4", "--pgic", "2",
              "--yes")
    logged.ok("followup", "1", "--pain", "4", "--on", "-5d", "--yes")  # neither asked
    document = json.loads(logged.ok("export", "P0001", "--format", "json").stdout)
    asked, unasked = document["patients"][0]["visits"][0]["follow_ups"]
    assert asked["peg"] == {"pain": 3, "enjoyment": 3, "activity": 4, "score": 3.3}
    assert asked["pgic"] == {"value": 2, "text": "much improved"}
    assert unasked["peg"] is None and unasked["pgic"] is None
    markdown = logged.ok("export", "P0001", "--format", "md").stdout
    assert "; PEG 3.3 of 10 (pain 3, enjoyment of life 3, general activity 4); PGIC 2 " \
           "(much improved)" in markdown
    html = logged.ok("export", "P0001", "--format", "html").stdout
    assert "PGIC 2 (much improved)" in html
    bundle = json.loads(logged.ok("export", "P0001", "--format", "fhir").stdout)
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    notes = [n["text"] for e in bundle["entry"] if e["resource"]["id"] == "follow-up-1-1"
             for n in e["resource"]["note"]]
    assert "Patient Global Impression of Change: 2 (much improved)" in notes
    exported = logged.ok("export", "P0001", "--format", "csv").stdout
    cell = json.loads(next(csv.DictReader(io.StringIO(exported)))["follow_ups"])
    assert [(f["peg_pain"], f["peg_enjoyment"], f["peg_activity"], f["pgic"]) for f in cell] \
        == [(3, 3, 4, 2), (None, None, None, None)]
    path = tmp_path / "visits.csv"
    path.write_text(exported)
    other = logged.__class__(url=str(tmp_path / "other.db"), backend="sqlite")
    other.ok("import", str(path))
    assert other.sql("SELECT peg_pain, peg_enjoyment, peg_activity, pgic FROM follow_up "
                     "ORDER BY reported_on") == [(3, 3, 4, 2), (None, None, None, None)]
    assert other.ok("export", "P0001", "--format", "csv").stdout == exported
    assert "holds" in other.ok("audit", "verify").stdout


@pytest.mark.parametrize("item, said", [
    ({"peg_pain": 3, "peg_enjoyment": 3}, "follow_ups: PEG [3, 3, None] is not allowed"),
    ({"peg_pain": 3, "peg_enjoyment": 3, "peg_activity": 11}, "each a whole number 0-10"),
    ({"pgic": 8}, "follow_ups: pgic 8 is not allowed; PGIC is a whole number 1-7"),
    ({"pgic": "2"}, "follow_ups: pgic '2' is not allowed")])
def test_import_refuses_a_follow_ups_bad_peg_or_pgic(logged, tmp_path, item, said):
    exported = logged.ok("export", "P0001", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    rows[0]["follow_ups"] = json.dumps([{"reported_on": rows[0]["visit_date"], "pain": 3,
                                         **item}])
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    other = logged.__class__(url=str(tmp_path / "other.db"), backend="sqlite")
    other.ok("patient", "list")
    result = other.run("import", str(path))
    assert_refused(result, 2, said)
    assert other.count("visit") == 0 and other.count("follow_up") == 0
