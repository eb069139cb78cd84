"""A patient added twice: refused unless confirmed; a duplicate merged into the right patient
keeps every record, reads as one patient everywhere, and the audit trail still holds."""

import csv
import io
import json

import pytest

from tests.conftest import assert_refused, built_once
from tests.terminal import converse
from tests.test_audit import _without_guards
from tests.test_migrations import _step, seed_at
from tplog import db

TABLES = ("patient", "visit", "visit_revision", "injected_point", "visit_condition",
          "follow_up", "patient_weight", "visit_void", "visit_addendum", "patient_merge",
          "audit_event")


def everything(clinic) -> dict[str, int]:
    return {table: clinic.count(table) for table in TABLES}


# --- a duplicate patient ----------------------------------------------------------------------

def test_a_second_patient_with_the_same_name_and_birth_needs_confirmation(clinic):
    clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12")
    # An accent makes another name (not a question): P0002.
    clinic.ok("patient", "add", "Maria Gonz\u00e1lez", "--dob", "1968-04-12")
    before = everything(clinic)
    # The same name in another case, with other spaces, or decomposed (NFD): the same.
    for typed, existing in (("Maria Gonzalez", "P0001"), ("  maria   GONZALEZ ", "P0001"),
                            ("Maria Gonza\u0301lez", "P0002")):
        result = clinic.run("patient", "add", typed, "--dob", "1968-04-12")
        assert_refused(result, 5, f"born 1968-04-12, is already {existing}.", "--yes")
        assert len(result.stderr.strip().splitlines()) == 1
        assert everything(clinic) == before
    # Another date of birth, or none recorded: another person, added without a question.
    assert clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1970-01-01").stdout \
        == "P0003\n"
    assert clinic.ok("patient", "add", "Maria Gonzalez").stdout == "P0004\n"
    assert clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12",
                     "--yes").stdout == "P0005\n"
    # Both are named once there are two.
    assert_refused(clinic.run("patient", "add", "MARIA GONZALEZ", "--dob", "1968-04-12"), 5,
                   "is already P0001 and P0005")


@pytest.mark.parametrize("answer, code, patients", [("n", 5, 1), ("y", 0, 2)])
def test_on_a_terminal_the_duplicate_is_asked_about(sqlite_clinic, tmp_path, answer, code,
                                                    patients):
    sqlite_clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12")
    code_seen, screen = converse(
        ["--db", sqlite_clinic.url, "patient", "add", "Maria Gonzalez", "--dob", "1968-04-12"],
        [("Maria Gonzalez, born 1968-04-12, is already P0001. Add another patient anyway?",
          answer)], tmp_path)
    assert code_seen == code, screen
    assert "Traceback" not in screen
    assert sqlite_clinic.count("patient") == patients


# --- merging --------------------------------------------------------------------------------

@built_once
def twice(clinic):
    """Maria Gonzalez added twice (P0001 and P0003), a visit on each the same day (with a
    follow-up, an addendum, a weight), and another patient (P0002)."""
    clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12")
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-12-10")
    clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12", "--yes")
    clinic.ok("patient", "weight", "P0003", "60", "--on", "2026-01-10")
    # lidocaine 1 % is 10 mg/mL: 15 mL is 150 mg, 10 mL is 100 mg.
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--yes",
              "--point", "upper-trapezius:L pre=7 post=3 drug=lidocaine-1 ml=15")
    clinic.ok("log", "P0003", "--date", "2026-03-01",
              "--point", "levator-scapulae:R pre=6 post=2 drug=lidocaine-1 ml=10")
    clinic.ok("log", "P0003", "--date", "2026-02-01", "--point", "deltoid:L pre=5 post=4")
    clinic.ok("followup", "2", "--yes", "--pain", "3", "--on", "2026-03-08")
    clinic.ok("visit", "addendum", "3", "seen by the other clinic first")
    clinic.ok("log", "P0002", "--date", "2026-03-01", "--point", "deltoid:R pre=4")
    return clinic


def history(clinic, who: str) -> dict:
    return json.loads(clinic.ok("history", who, "--json").stdout)


def test_a_merge_keeps_every_record_and_reads_as_one_patient(twice):
    assert_refused(twice.run("history", "gonzalez"), 1, "matches 2 patients")
    before = everything(twice)
    result = twice.ok("patient", "merge", "P0003", "P0001", "--reason", "added twice",
                      "--yes")
    assert "Merged P0003 into P0001: 2 visit(s)" in result.stderr
    # Nothing deleted nor moved: one merge record and its audit events more.
    assert everything(twice) == {**before, "patient_merge": 1,
                                 "audit_event": before["audit_event"] + 2}
    assert twice.sql("SELECT id, patient_id FROM visit ORDER BY id") == \
        [(1, 1), (2, 3), (3, 3), (4, 2)]
    # INTO's history has every visit of both, with the duplicate's follow-up and addendum.
    found = history(twice, "P0001")
    assert found["patient"]["mrn"] == "P0001" and found["patient"]["visit_count"] == 3
    assert [(v["id"], v["mrn"]) for v in found["visits"]] == \
        [(2, "P0001"), (1, "P0001"), (3, "P0001")]
    assert found["visits"][0]["follow_ups"][0]["pain"] == 3
    assert found["visits"][2]["addenda"][0]["text"] == "seen by the other clinic first"
    # The name now means one patient; the duplicate's MRN says where its visits went.
    assert history(twice, "gonzalez")["patient"]["mrn"] == "P0001"
    refused = twice.run("history", "P0003")
    assert_refused(refused, 1, "patient P0003 was merged into P0001 (Maria Gonzalez)")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert_refused(twice.run("log", "p0003", "--date", "2026-03-02", "--point", "deltoid:L pre=3"),
                   1, "merged into P0001")
    # Listed only with --all, marked.
    listed = json.loads(twice.ok("patient", "list", "--json").stdout)
    assert [(p["mrn"], p["visit_count"]) for p in listed] == [("P0001", 3), ("P0002", 1)]
    every = json.loads(twice.ok("patient", "list", "--all", "--json").stdout)
    assert [(p["mrn"], p["visit_count"], p.get("merged_into")) for p in every] == \
        [("P0001", 3, None), ("P0002", 1, None), ("P0003", 0, "P0001")]
    listed_all = twice.ok("patient", "list", "--all").stdout
    assert "Merged" in listed_all and "P0003  Maria Gonzalez" in listed_all
    assert [p["mrn"] for p in json.loads(twice.ok("patient", "find", "gonzalez",
                                                  "--json").stdout)] == ["P0001"]
    # A visit of the duplicate is shown, and exported, as INTO's; its weight is INTO's.
    shown = json.loads(twice.ok("visit", "show", "2", "--json").stdout)
    assert shown["mrn"] == "P0001" and shown["day_visits"] == [1, 2]
    assert json.loads(twice.ok("patient", "show", "P0001", "--json").stdout)["weight_kg"] == 60
    rows = list(csv.DictReader(io.StringIO(twice.ok("export", "--all", "-f", "csv").stdout)))
    assert sorted({(r["mrn"], r["visit"]) for r in rows}) == \
        [("P0001", "1"), ("P0001", "2"), ("P0001", "3"), ("P0002", "4")]
    assert_refused(twice.run("export", "P0003", "-f", "csv"), 1, "merged into P0001")
    # The merge is in the trail, which holds.
    events = json.loads(twice.ok("audit", "log", "--json").stdout)
    assert [(e["action"], e["target"]) for e in events
            if e["action"].startswith("patient.merge")] == [
        ("patient.merge", "patient P0003 into P0001"),
        ("patient.merged", "patient P0003: merged into P0001")]
    assert "holds" in twice.ok("audit", "verify").stdout


@pytest.mark.parametrize("tampering, caught", [
    (["UPDATE patient SET merged_into = NULL WHERE id = 3"],
     "the patient record it wrote has been changed"),
    (["UPDATE patient SET merged_into = 1 WHERE id = 2"],
     "the patient record it wrote has been changed"),
    (["UPDATE patient_merge SET reason = 'nothing'"],
     "the patient_merge record it wrote has been changed"),
    (["DELETE FROM patient_merge"], "the patient_merge record it wrote (3) is missing"),
])
def test_a_raw_edit_of_a_merge_is_caught(twice, tampering, caught):
    twice.ok("patient", "merge", "P0003", "P0001", "--reason", "added twice", "--yes")
    _without_guards(twice, *tampering)
    assert_refused(twice.run("audit", "verify"), 4, caught)


def test_the_merge_record_is_guarded(twice):
    twice.ok("patient", "merge", "P0003", "P0001", "--reason", "added twice", "--yes")
    for statement in ("UPDATE patient_merge SET reason = 'x'", "DELETE FROM patient_merge"):
        with pytest.raises(Exception, match="append-only"):
            twice.sql(statement)
    assert twice.sql("SELECT reason FROM patient_merge") == [("added twice",)]


def test_the_same_day_dose_counts_the_visits_of_both_records(twice):
    """60 kg (weighed on the duplicate) x 4.5 mg/kg = 270 mg of lidocaine a day. On
    2026-03-01 P0001 had 150 mg and P0003 100 mg; 3 mL more (30 mg) is 280 mg: over. Before
    the merge P0001's day was 150 + 30 = 180 mg of 225 mg (no weight: 50 kg assumed)."""
    new_visit = ("log", "P0001", "--date", "2026-03-01",
                 "--point", "rhomboids:L pre=5 drug=lidocaine-1 ml=3")
    before = twice.run(*new_visit)
    assert before.exit_code == 0 and "over the limit" not in before.stderr
    assert "lidocaine 180 mg of 225 mg" in twice.ok("visit", "show", "5").stdout
    twice.ok("visit", "void", "5", "--yes", "--reason", "to check again after the merge")
    twice.ok("patient", "merge", "P0003", "P0001", "--reason", "added twice", "--yes")
    visits = twice.count("visit")
    result = twice.run(*new_visit)
    assert_refused(result, 5, "the dose is over the limit")
    assert "lidocaine 280 mg of 270 mg" in result.stderr
    assert "60 kg weighed 2026-01-10" in result.stderr
    assert twice.count("visit") == visits


@pytest.mark.parametrize("args, code, message", [
    (["P0001", "P0001", "--reason", "x"], 2, "P0001 is merged into itself"),
    (["P0009", "P0001", "--reason", "x"], 1, "no patient with MRN 'P0009'"),
    (["P0003", "Gonzalez", "--reason", "x"], 1, "no patient with MRN 'Gonzalez'"),
    (["P0003", "P0001", "--reason", "  "], 2, "--reason is empty"),
    (["P0003", "P0001", "--reason", "added twice"], 5, "there is no terminal"),
])
def test_a_merge_refused_writes_nothing(twice, args, code, message):
    before = everything(twice)
    extra = [] if code == 5 else ["--yes"]
    result = twice.run("patient", "merge", *args, *extra)
    assert_refused(result, code, message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert everything(twice) == before


def test_no_merge_into_a_merged_patient_nor_of_one_twice(twice):
    twice.ok("patient", "merge", "P0003", "P0001", "--reason", "added twice", "--yes")
    before = everything(twice)
    for args, message in ((["P0002", "P0003"], "P0003 was itself merged into P0001"),
                          (["P0003", "P0002"], "P0003 was already merged into P0001")):
        result = twice.run("patient", "merge", *args, "--reason", "x", "--yes")
        assert_refused(result, 1, message)
        assert everything(twice) == before


def test_a_patient_others_were_merged_into_can_be_merged_in_turn(twice):
    """P0003 into P0002, then P0002 into P0001: P0003's visits follow to P0001."""
    twice.ok("patient", "merge", "P0003", "P0002", "--reason", "same person", "--yes")
    twice.ok("patient", "merge", "P0002", "P0001", "--reason", "same person", "--yes")
    assert [v["id"] for v in history(twice, "P0001")["visits"]] == [4, 2, 1, 3]
    assert_refused(twice.run("history", "P0003"), 1, "merged into P0001")
    assert "holds" in twice.ok("audit", "verify").stdout


@pytest.mark.parametrize("answer, merges", [("n", 0), ("y", 1)])
def test_on_a_terminal_a_merge_shows_both_and_asks(sqlite_clinic, tmp_path, answer, merges):
    sqlite_clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12")
    sqlite_clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12", "--yes")
    sqlite_clinic.ok("log", "P0002", "--date", "2026-03-01", "--point", "deltoid:L pre=3")
    code, screen = converse(
        ["--db", sqlite_clinic.url, "patient", "merge", "P0002", "P0001", "--reason", "twice"],
        [("Merge P0002 (1 visit(s)) into P0001?", answer)], tmp_path)
    assert code == (0 if answer == "y" else 5), screen
    assert "P0001" in screen and "1968-04-12" in screen and "Maria Gonzalez" in screen
    assert sqlite_clinic.count("patient_merge") == merges
    assert sqlite_clinic.count("patient") == 2


# --- revision 0009 ------------------------------------------------------------------------------

def test_0009_upgrades_a_database_with_records_and_the_trail_holds(empty_clinic):
    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0008")
    kept = {t: empty_clinic.count(t) for t in ("patient", "visit", "visit_revision",
                                                "injected_point", "audit_event")}
    result = empty_clinic.ok("db", "upgrade")
    assert f"from revision 0008 to {db.SCHEMA_HEAD}" in result.stderr
    # No record changed, no migrated event needed (the new column is NULL everywhere); the
    # upgrade's own event, and a later revision's (0013) for each practitioner record it makes.
    made = empty_clinic.count("practitioner")
    assert {t: empty_clinic.count(t) for t in kept} == {
        **kept, "audit_event": kept["audit_event"] + 1 + made}
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    if empty_clinic.backend == "postgresql":  # the seed gave its patient id 1 by hand
        empty_clinic.sql("SELECT setval(pg_get_serial_sequence('patient', 'id'), 1)")
    empty_clinic.ok("patient", "add", "Ada Lovelace", "--yes")
    empty_clinic.ok("patient", "merge", "P0002", "P0001", "--reason", "twice", "--yes")
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    # With a merge recorded, a downgrade that would drop it is refused.
    with pytest.raises(RuntimeError, match="holds 1 patient merge"):
        _step(empty_clinic, "downgrade", "0008")
    assert empty_clinic.count("patient_merge") == 1
