"""tplog log: every injected point saved, or (on any bad value) nothing."""

import datetime as dt
import json

import pytest

from tests.conftest import assert_refused, built_once

GOOD = "upper-trapezius:L pre=7 post=3 twitch=yes soreness=mild numbness=no"


@built_once
def patient(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    return clinic


def visit_json(clinic, visit_id=1):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)


def test_log_saves_every_point_and_prints_what_was_saved(patient):
    result = patient.ok(
        "log", "P0001", "--date", "2026-03-02", "--practitioner", "Dr Finch",
        "--condition", "myofascial-pain", "--condition", "tension-headache",
        "--drug", "lidocaine-1", "--ml", "1", "--note", "tolerated well",
        "--point", GOOD,
        "--point", "upper-trapezius:R pre=6 post=2 twitch=yes drug=bupivacaine-0.25 ml=0.5",
        "--point", "levator-scapulae:L pre=5")
    assert "Saved visit 1 with 3 point(s)." in result.stderr
    assert "Visit 1" in result.stdout and "upper-trapezius L" in result.stdout
    assert "7 → 3" in result.stdout and "57%" in result.stdout
    visit = visit_json(patient)
    assert visit["visit_date"] == "2026-03-02"
    assert visit["practitioner"] == "Dr Finch"
    # myofascial-pain takes the code of the region injected (all neck here: M79.12); the
    # order given is kept (the first is the primary diagnosis).
    assert [c["key"] for c in visit["conditions"]] == ["myofascial-pain-head-neck",
                                                       "tension-headache"]
    assert [c["icd10"] for c in visit["conditions"]] == ["M79.12", "G44.209"]
    assert visit["note"] == "tolerated well"
    first, second, third = visit["points"]
    assert (first["muscle"], first["side"], first["pain_before"], first["pain_after"]) == \
        ("upper-trapezius", "L", 7, 3)
    assert first["percent_reduction"] == pytest.approx(400 / 7)
    assert (first["drug"], first["volume_ml"]) == ("lidocaine-1", 1.0)  # the visit's default
    assert (second["drug"], second["volume_ml"]) == ("bupivacaine-0.25", 0.5)  # its own
    assert third["pain_after"] is None and third["percent_reduction"] is None
    assert patient.counts() == {"patient": 1, "visit": 1, "visit_condition": 2,
                                "injected_point": 3}


def test_unrecorded_findings_stay_distinct_from_no_and_none(patient):
    patient.ok("log", "P0001", "--point", "deltoid:R pre=4",
               "--point", "deltoid:L pre=4 twitch=no soreness=none numbness=no")
    unrecorded, recorded_no = visit_json(patient)["points"]
    for key in ("twitch_response", "soreness", "numbness", "pain_after", "drug", "volume_ml"):
        assert unrecorded[key] is None
    assert recorded_no["twitch_response"] is False
    assert recorded_no["soreness"] == "none"
    assert recorded_no["numbness"] is False
    assert patient.sql("SELECT twitch_response, soreness, numbness FROM injected_point "
                       "ORDER BY position") == [(None, None, None), (False, "none", False)]
    shown = patient.ok("visit", "show", "1").stdout
    assert "—" in shown and "none" in shown


def test_defaults_date_today_and_practitioner_from_environment(patient, monkeypatch):
    monkeypatch.setenv("TPLOG_PRACTITIONER", "Dr Env")
    patient.ok("log", "P0001", "--yes", "--point", GOOD)
    visit = visit_json(patient)
    assert visit["visit_date"] == dt.date.today().isoformat()
    assert visit["practitioner"] == "Dr Env"
    assert visit["created_by"]  # the OS user
    monkeypatch.delenv("TPLOG_PRACTITIONER")
    patient.ok("log", "P0001", "--yes", "--point", GOOD)
    assert visit_json(patient, 2)["practitioner"] == visit["created_by"]


BAD_POINTS = [
    ("upper-trapesius:L pre=7", ["unknown muscle 'upper-trapesius'",
                                 "did you mean upper-trapezius"]),
    ("upper-trapezius:X pre=7", ["side 'X' is not allowed", "L or R"]),
    ("upper-trapezius pre=7", ["has no side"]),
    ("upper-trapezius:L post=3", ["has no pain before", "pre=N"]),
    ("upper-trapezius:L pre=11", ["pre '11' is not allowed", "0-10"]),
    ("upper-trapezius:L pre=-1", ["pre '-1' is not allowed"]),
    ("upper-trapezius:L pre=7 post=3.5", ["post '3.5' is not allowed", "whole number 0-10"]),
    ("upper-trapezius:L pre=7 twitch=maybe", ["twitch 'maybe' is not allowed", "yes or no"]),
    ("upper-trapezius:L pre=7 soreness=awful", ["soreness 'awful' is not allowed",
                                                "none|mild|moderate|severe"]),
    ("upper-trapezius:L pre=7 numbness=2", ["numbness '2' is not allowed"]),
    ("upper-trapezius:L pre=7 drug=lidocane-1", ["unknown drug 'lidocane-1'",
                                                 "did you mean lidocaine-1"]),
    ("upper-trapezius:L pre=7 ml=0", ["ml '0' is not allowed", "from 0.01 to 1000"]),
    ("upper-trapezius:L pre=7 ml=lots", ["ml 'lots' is not allowed"]),
    ("upper-trapezius:L pre=7 drug=dry-needling ml=1", ["dry needling injects nothing"]),
    ("upper-trapezius:L pre=7 depth=2", ["'depth=2'", "is not understood", "pre="]),
    ("upper-trapezius:L pre=7 pre=6", ["pre= is given twice"]),
]


@pytest.mark.parametrize("bad, fragments", BAD_POINTS, ids=[b for b, _ in BAD_POINTS])
def test_one_bad_point_among_five_saves_none(patient, bad, fragments):
    points = [GOOD, "deltoid:R pre=5", bad, "rhomboids:L pre=4", "masseter:R pre=3"]
    args = [arg for spec in points for arg in ("--point", spec)]
    result = patient.run("log", "P0001", *args)
    assert_refused(result, 2, "point 3:", *fragments)
    assert len(result.stderr.strip().splitlines()) == 1
    assert patient.counts() == {"patient": 1, "visit": 0, "visit_condition": 0,
                                "injected_point": 0}


@pytest.mark.parametrize("args, fragments", [
    ([], ["a visit needs at least one --point"]),
    (["--date", "2026-02-30"], ["date '2026-02-30' is not a date", "February 2026 has 28"]),
    (["--date", "2999-01-01"], ["is in the future"]),
    (["--condition", "migrane"], ["unknown condition 'migrane'", "did you mean migraine"]),
    (["--drug", "procaine"], ["unknown drug 'procaine'"]),
    (["--ml", "-1"], ["--ml '-1' is not allowed"]),
    (["--practitioner", " "], ["practitioner '' is not allowed"]),
])
def test_bad_visit_options_save_nothing(patient, args, fragments):
    point = [] if not args else ["--point", GOOD]
    result = patient.run("log", "P0001", *point, *args)
    assert_refused(result, 2, *fragments)
    assert patient.count("visit") == 0 and patient.count("injected_point") == 0


def test_unknown_mrn_exits_1_and_saves_nothing(patient):
    assert_refused(patient.run("log", "P0404", "--point", GOOD), 1,
                   "no patient with MRN 'P0404'")
    assert patient.count("visit") == 0


def test_dry_needling_takes_no_volume_even_from_the_visit_default(patient):
    assert_refused(patient.run("log", "P0001", "--drug", "dry-needling", "--ml", "1",
                               "--point", GOOD), 2, "dry needling injects nothing")
    patient.ok("log", "P0001", "--drug", "dry-needling", "--point", GOOD)
    assert visit_json(patient)["points"][0]["volume_ml"] is None
