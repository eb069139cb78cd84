"""One visit id everywhere: exports, letters, CSV and FHIR name a visit by its id in tplog (a
de-identified export numbers its own and says so); `visit void` and `followup` show the
patient, date and sites and ask first; the write commands' --json returns what was written."""

import csv
import io
import json

import pytest

from tests.conftest import assert_refused, built_once, new_clinic
from tests.terminal import converse


@built_once
def three_patients(clinic):
    """Visit ids that are not the export's order: Grace's visit is 1, Ada's are 2 and 3 (Ada,
    P0001, comes first in an export), Alan's is 4."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10", "--sex", "female")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1946-01-05", "--sex", "female")
    clinic.ok("patient", "add", "Alan Turing", "--dob", "1952-06-23", "--sex", "male")
    clinic.ok("log", "P0002", "--date", "2026-03-15", "--practitioner", "Dr Lee",
              "--point", "deltoid:L pre=8 post=5 drug=lidocaine-1 ml=1")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch",
              "--point", "upper-trapezius:L pre=7 post=3 drug=lidocaine-1 ml=1",
              "--point", "upper-trapezius:R pre=6 post=2 drug=lidocaine-1 ml=1")
    clinic.ok("log", "P0001", "--date", "2026-04-02", "--practitioner", "Dr Finch",
              "--point", "rhomboids:L pre=5 post=1 drug=saline ml=2")
    clinic.ok("log", "P0003", "--date", "2026-03-20", "--practitioner", "Dr Lee",
              "--point", "masseter:R pre=6 post=2 drug=dry-needling")
    return clinic


def export(clinic, *args):
    return clinic.ok("export", *args).stdout


def csv_visits(text):
    return [row["visit"] for row in csv.DictReader(io.StringIO(text))]


# --- exports name the visit by its id -------------------------------------------------------

def test_one_visit_exported_is_named_by_its_id_in_every_format(three_patients):
    clinic = three_patients
    assert csv_visits(export(clinic, "--visit", "3", "-f", "csv")) == ["3"]
    document = json.loads(export(clinic, "--visit", "3", "-f", "json"))
    assert document["visit_numbers"] == "tplog-visit-id"
    assert [v["visit"] for p in document["patients"] for v in p["visits"]] == [3]
    bundle = json.loads(export(clinic, "--visit", "3", "-f", "fhir"))
    encounters = [e["resource"]["id"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Encounter"]
    assert encounters == ["encounter-3"]
    html = export(clinic, "--visit", "3", "-f", "html")
    assert "Visit 3: 2026-04-02" in html and 'id="visit-3"' in html and "Visit 1" not in html
    markdown = export(clinic, "--visit", "3", "-f", "md")
    assert "### Visit 3: 2026-04-02" in markdown and "Visit 1" not in markdown
    # What the letter calls visit 3 is what `visit show 3` shows.
    shown = json.loads(clinic.ok("visit", "show", "3", "--json").stdout)
    assert (shown["mrn"], shown["visit_date"]) == ("P0001", "2026-04-02")


def test_an_export_of_every_patient_gives_each_visit_its_id(three_patients):
    # In export order (MRN, then date): Ada's 2 and 3, Grace's 1, Alan's 4.
    assert csv_visits(export(three_patients, "--all", "-f", "csv")) == ["2", "2", "3", "1", "4"]
    document = json.loads(export(three_patients, "--all", "-f", "json"))
    assert [v["visit"] for p in document["patients"] for v in p["visits"]] == [2, 3, 1, 4]
    markdown = export(three_patients, "--all", "-f", "md")
    assert [line.split(":")[0] for line in markdown.splitlines()
            if line.startswith("### Visit")] == ["### Visit 2", "### Visit 3", "### Visit 1",
                                                 "### Visit 4"]


def test_a_deidentified_export_numbers_its_own_visits_and_says_so(three_patients):
    clinic = three_patients
    assert csv_visits(export(clinic, "--all", "-f", "csv", "--deidentify")) == \
        ["1", "1", "2", "3", "4"]
    assert csv_visits(export(clinic, "--visit", "3", "-f", "csv", "--deidentify")) == ["1"]
    document = json.loads(export(clinic, "--visit", "3", "-f", "json", "--deidentify"))
    assert document["visit_numbers"] == "within-this-export"
    assert [v["visit"] for p in document["patients"] for v in p["visits"]] == [1]
    bundle = json.loads(export(clinic, "--visit", "3", "-f", "fhir", "--deidentify",
                               "--shift-dates"))
    assert "numbered within this export" in bundle["meta"]["tag"][0]["display"]
    encounters = [e["resource"]["id"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Encounter"]
    assert encounters == ["encounter-1"]
    for fmt in ("html", "md"):
        text = export(clinic, "--visit", "3", "-f", fmt, "--deidentify")
        assert "visits numbered within this export" in text, fmt
        assert "Visit 1: 2026" in text and "Visit 3" not in text and "visit-3" not in text


def test_an_export_with_ids_imports_and_exports_again_the_same_but_for_the_ids(three_patients,
                                                                             tmp_path):
    exported = export(three_patients, "--all", "-f", "csv")
    source = tmp_path / "visits.csv"
    source.write_text(exported)
    with new_clinic(three_patients.backend, tmp_path, "target", current=True) as target:
        target.ok("import", str(source))
        again = export(target, "--all", "-f", "csv")
        # The target gave the visits its own ids, in the order they were imported.
        assert csv_visits(again) == ["1", "1", "2", "3", "4"]

        def without_visit(text):
            return [{k: v for k, v in row.items() if k != "visit"}
                    for row in csv.DictReader(io.StringIO(text))]

        assert without_visit(again) == without_visit(exported)
        for number, mrn in (("1", "P0001"), ("3", "P0002")):
            assert json.loads(target.ok("visit", "show", number, "--json").stdout)["mrn"] == mrn


# --- void and followup say which visit, and ask ---------------------------------------------

def audit_count(clinic):
    return clinic.count("audit_event")


@pytest.mark.parametrize("command, table", [
    (["visit", "void", "1", "--reason", "wrong patient"], "visit_void"),
    (["followup", "1", "--pain", "3", "--on", "2026-03-20"], "follow_up"),
])
def test_without_a_terminal_they_need_yes(three_patients, command, table):
    before = audit_count(three_patients)
    result = three_patients.run(*command)
    assert_refused(result, 5, "visit 1: P0002, 2026-03-15, deltoid L", "no terminal",
                   "--yes")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Grace" not in result.stderr
    assert three_patients.count(table) == 0 and audit_count(three_patients) == before
    three_patients.ok(*command, "--yes")
    assert three_patients.count(table) == 1


def test_a_bad_follow_up_is_refused_before_anyone_is_asked(three_patients):
    assert_refused(three_patients.run("followup", "1", "--pain", "3", "--on", "2026-03-01"),
                   2, "is before the visit (2026-03-15)")
    assert three_patients.count("follow_up") == 0


def test_voiding_a_voided_visit_is_refused_as_such(three_patients):
    three_patients.ok("visit", "void", "1", "--reason", "wrong patient", "--yes")
    assert_refused(three_patients.run("visit", "void", "1", "--reason", "again"), 1,
                   "already voided")


@pytest.mark.parametrize("answer, code, voided", [("y", 0, 1), ("n", 5, 0)])
def test_void_on_a_terminal_shows_the_visit_and_asks(three_patients, tmp_path, answer, code,
                                                     voided):
    code_seen, screen = converse(
        ["--db", three_patients.url, "visit", "void", "3", "--reason", "wrong patient"],
        [("Void this visit?", answer)], tmp_path)
    assert code_seen == code, screen
    shown = screen.index("Voiding visit 3: P0001 Ada Lovelace, 2026-04-02, rhomboids L")
    assert shown < screen.index("Void this visit?")
    assert three_patients.count("visit_void") == voided


@pytest.mark.parametrize("answer, code, recorded", [("y", 0, 1), ("n", 5, 0)])
def test_followup_on_a_terminal_shows_the_patient_before_saving(three_patients, tmp_path,
                                                                answer, code, recorded):
    code_seen, screen = converse(
        ["--db", three_patients.url, "followup", "2", "--pain", "4", "--on", "2026-03-08"],
        [("Record it for this visit?", answer)], tmp_path)
    assert code_seen == code, screen
    shown = screen.index("A follow-up for visit 2: P0001 Ada Lovelace, 2026-03-01, "
                         "upper-trapezius L+R")
    assert shown < screen.index("Record it for this visit?")
    assert three_patients.count("follow_up") == recorded


# --- --json of the write commands -----------------------------------------------------------

def shown_visit(clinic, visit_id):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)


def test_log_and_amend_json_is_the_visit_as_saved(three_patients):
    logged = json.loads(three_patients.ok(
        "log", "P0003", "--date", "2026-04-10", "--practitioner", "Dr Lee", "--json",
        "--point", "deltoid:R pre=5 post=2 drug=lidocaine-1 ml=1").stdout)
    assert logged["id"] == 5 and logged["mrn"] == "P0003"
    assert logged == shown_visit(three_patients, 5)
    amended = json.loads(three_patients.ok(
        "visit", "amend", "5", "--reason", "post was 3", "--set", "1 post=3", "--json").stdout)
    assert (amended["id"], amended["revision"], amended["points"][0]["pain_after"]) == \
        (5, 2, 3)
    assert amended == shown_visit(three_patients, 5)


def test_void_followup_and_addendum_json_give_the_written_ids(three_patients):
    followed = json.loads(three_patients.ok(
        "followup", "2", "--pain", "4", "--on", "2026-03-08", "--yes", "--json").stdout)
    ((follow_up_id,),) = three_patients.sql("SELECT id FROM follow_up")
    assert followed["follow_up"]["id"] == follow_up_id and followed["follow_up"]["pain"] == 4
    assert followed["visit"]["id"] == 2
    assert followed["visit"]["follow_ups"] == [followed["follow_up"]]
    added = json.loads(three_patients.ok("visit", "addendum", "2", "called back",
                                         "--json").stdout)
    ((addendum_id,),) = three_patients.sql("SELECT id FROM visit_addendum")
    assert added["addendum"]["id"] == addendum_id
    assert added["addendum"]["text"] == "called back" and added["visit"]["id"] == 2
    assert added["visit"] == shown_visit(three_patients, 2)
    voided = json.loads(three_patients.ok("visit", "void", "4", "--reason", "wrong patient",
                                          "--yes", "--json").stdout)
    assert voided["id"] == 4 and voided["void"]["reason"] == "wrong patient"
    assert voided == shown_visit(three_patients, 4)


def test_patient_add_json_is_the_patient_as_shown(three_patients):
    result = three_patients.ok("patient", "add", "Edsger Dijkstra", "--dob", "1930-05-11",
                               "--json")
    added = json.loads(result.stdout)
    assert added["mrn"] == "P0004" and added["name"] == "Edsger Dijkstra"
    shown = json.loads(three_patients.ok("patient", "show", "P0004", "--json").stdout)
    # `show` adds the pre-procedure screen, which `add` does not write.
    assert shown.pop("screen")["allergies"] == []
    assert added == shown
    # Without --json, the MRN alone, as before.
    assert three_patients.ok("patient", "add", "Barbara Liskov").stdout == "P0005\n"
