"""The pre-procedure screen (issue 16): allergies, anticoagulant or antiplatelet use, a
bleeding disorder, pregnancy at a visit. Recorded dated and audited, never changed; shown by
`patient show` and before `log` saves; an allergy to a drug injected needs confirmation as a
dose over the limit does, the rest are warnings saved with the visit."""

import json

import pytest

from tests.conftest import assert_refused, built_once, new_clinic
from tests.terminal import PROCEDURE, SIGNS, converse
from tests.test_audit import _without_guards
from tests.test_migrations import _step, seed_at
from tplog import db

TABLES = ("patient_screening", "visit", "visit_revision", "visit_warning", "audit_event")
LIDOCAINE = "upper-trapezius:L pre=6 post=2 drug=lidocaine-1 ml=2"
BUPIVACAINE = "gluteus-medius:R pre=5 post=2 drug=bupivacaine-0.25 ml=2"


def everything(clinic) -> dict[str, int]:
    return {table: clinic.count(table) for table in TABLES}


@built_once
def patient(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--weight-kg", "70")
    return clinic


def screen(clinic, mrn="P0001") -> dict:
    return json.loads(clinic.ok("patient", "show", mrn, "--json").stdout)["screen"]


def visit(clinic, visit_id) -> dict:
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)


def log(clinic, *args):
    return clinic.run("log", "P0001", "--date", "2026-03-01", *args)


# --- recording the screen ---------------------------------------------------------------------

def test_an_allergy_is_recorded_audited_and_shown(patient):
    events = patient.count("audit_event")
    result = patient.ok("patient", "allergy", "P0001", "Lidocaine", "--reaction", "hives",
                        "--since", "2020-05-01", "--json")
    assert "Recorded allergy 1 for P0001: Lidocaine (checked against lidocaine-0.5, " \
           "lidocaine-1, lidocaine-2)" in result.stderr
    written = json.loads(result.stdout)
    assert written["allergies"] == [{"id": 1, "substance": "Lidocaine", "reaction": "hives",
                                     "since": "2020-05-01",
                                     "drugs": ["lidocaine-0.5", "lidocaine-1", "lidocaine-2"]}]
    assert patient.count("audit_event") == events + 1
    assert patient.sql("SELECT action FROM audit_event ORDER BY id DESC LIMIT 1") == \
        [("patient.allergy",)]
    shown = patient.ok("patient", "show", "P0001").stdout
    assert "Pre-procedure screen" in shown
    assert "Allergies: Lidocaine (hives), since 2020-05-01 [allergy 1]" in shown
    assert "Anticoagulant/antiplatelet: not recorded" in shown
    assert "Bleeding disorder: not recorded" in shown
    assert "holds" in patient.ok("audit", "verify").stdout


def test_an_allergy_by_key_or_text_rules_out_what_it_names(patient):
    patient.ok("patient", "allergy", "P0001", "lidocaine-1")
    patient.ok("patient", "allergy", "P0001", "Bupivacaine 0.25 %")
    result = patient.ok("patient", "allergy", "P0001", "latex", "--reaction", "rash")
    assert "names no drug tplog injects" in result.stderr
    assert [(a["substance"], a["drugs"]) for a in screen(patient)["allergies"]] == [
        ("lidocaine-1", ["lidocaine-1"]), ("Bupivacaine 0.25 %", ["bupivacaine-0.25"]),
        ("latex", [])]


@pytest.mark.parametrize("args, code, message", [
    (["P0001", "  "], 2, "the allergy is empty"),
    (["P0001", "lidocaine", "--since", "2999-01-01"], 2, "date 2999-01-01 is in the future"),
    (["P0001", "lidocaine", "--since", "1960-01-01"], 2, "is before P0001 was born"),
    (["P0001", "lidocaine", "--since", "yesterday-ish"], 2, "--since"),
    (["P0001", "x" * 201], 2, "at most 200 are allowed"),
    (["P0009", "lidocaine"], 1, "no patient with MRN 'P0009'"),
])
def test_an_allergy_refused_writes_nothing(patient, args, code, message):
    before = everything(patient)
    result = patient.run("patient", "allergy", *args)
    assert_refused(result, code, message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert everything(patient) == before


def test_an_allergy_ends_by_a_new_record_never_by_a_change(patient):
    patient.ok("patient", "allergy", "P0001", "lidocaine", "--reaction", "hives")
    patient.ok("patient", "allergy", "P0001", "latex")
    result = patient.ok("patient", "allergy-end", "P0001", "1", "--as", "entered-in-error",
                        "--note", "it was the adhesive")
    assert "Marked allergy 1 of P0001 (lidocaine) entered-in-error." in result.stderr
    assert [a["substance"] for a in screen(patient)["allergies"]] == ["latex"]
    # The allergy stays as it was written; the ending is a record of its own.
    assert patient.sql("SELECT id, status, closes FROM patient_screening ORDER BY id") == [
        (1, "active", None), (2, "active", None), (3, "entered-in-error", 1)]
    patient.ok("patient", "allergy-end", "P0001", "2", "--as", "resolved")
    assert screen(patient)["allergies"] == [] and screen(patient)["allergies_recorded"]
    assert "Allergies: none current" in patient.ok("patient", "show", "P0001").stdout
    assert "holds" in patient.ok("audit", "verify").stdout


@pytest.mark.parametrize("args, code, message", [
    (["1", "--as", "gone"], 2, "--as 'gone' is not allowed; use resolved|entered-in-error"),
    (["one", "--as", "resolved"], 2, "allergy id 'one' is not allowed"),
    (["9", "--as", "resolved"], 1, "P0001 has no allergy 9"),
    (["2", "--as", "resolved"], 1, "allergy 2 of P0001 was already marked resolved"),
    (["3", "--as", "resolved"], 1, "P0001 has no allergy 3"),  # the ending itself
    (["4", "--as", "resolved"], 1, "P0001 has no allergy 4"),  # another patient's
])
def test_ending_an_allergy_refused_writes_nothing(patient, args, code, message):
    patient.ok("patient", "allergy", "P0001", "lidocaine")
    patient.ok("patient", "allergy", "P0001", "latex")
    patient.ok("patient", "allergy-end", "P0001", "2", "--as", "resolved")
    patient.ok("patient", "add", "Grace Hopper")
    patient.ok("patient", "allergy", "P0002", "latex")
    before = everything(patient)
    result = patient.run("patient", "allergy-end", "P0001", *args)
    assert_refused(result, code, message)
    assert everything(patient) == before


def test_anticoagulants_go_on_and_off_with_their_dates(patient):
    patient.ok("patient", "anticoagulant", "P0001", "on", "--drug", "warfarin",
               "--on", "2025-01-01")
    result = patient.ok("patient", "anticoagulant", "P0001", "on", "--drug", "aspirin",
                        "--on", "2025-06-01", "--json")
    assert json.loads(result.stdout)["anticoagulants"] == [
        {"drug": "warfarin", "since": "2025-01-01"}, {"drug": "aspirin", "since": "2025-06-01"}]
    patient.ok("patient", "anticoagulant", "P0001", "off", "--drug", "Warfarin",
               "--on", "2025-09-01")
    assert screen(patient)["anticoagulants"] == [{"drug": "aspirin", "since": "2025-06-01"}]
    patient.ok("patient", "anticoagulant", "P0001", "off", "--on", "2025-10-01")
    found = screen(patient)
    assert found["anticoagulants"] == [] and found["anticoagulants_off_since"] == "2025-10-01"
    assert "Anticoagulant/antiplatelet: off since 2025-10-01" in \
        patient.ok("patient", "show", "P0001").stdout
    assert patient.count("patient_screening") == 4
    assert "holds" in patient.ok("audit", "verify").stdout


def test_a_bleeding_disorder_is_the_latest_answer(patient):
    patient.ok("patient", "bleeding-disorder", "P0001", "no")
    assert screen(patient)["bleeding_disorder"] is False
    patient.ok("patient", "bleeding-disorder", "P0001", "yes", "--note", "von Willebrand")
    found = screen(patient)
    assert found["bleeding_disorder"] is True and found["bleeding_note"] == "von Willebrand"
    assert "Bleeding disorder: yes (von Willebrand)" in \
        patient.ok("patient", "show", "P0001").stdout


@pytest.mark.parametrize("args, message", [
    (["anticoagulant", "P0001", "maybe"], "status 'maybe' is not allowed; use on|off"),
    (["anticoagulant", "P0001", "on", "--on", "2999-01-01"], "is in the future"),
    (["anticoagulant", "P0001", "on", "--drug", "a\nb"], "drug"),
    (["bleeding-disorder", "P0001", "perhaps"], "answer 'perhaps' is not allowed; use yes|no"),
])
def test_a_screen_answer_refused_writes_nothing(patient, args, message):
    before = everything(patient)
    result = patient.run("patient", *args)
    assert_refused(result, 2, message)
    assert everything(patient) == before


# --- the screen when a visit is logged --------------------------------------------------------

def test_log_shows_the_screen_before_saving(patient):
    result = log(patient, "--point", LIDOCAINE)
    assert result.exit_code == 0, result.stderr
    assert "Pre-procedure screen of P0001:" in result.stderr
    assert "Allergies: none recorded" in result.stderr
    assert "Pregnant: not asked" in result.stderr
    assert result.stderr.index("Pre-procedure screen") < result.stderr.index("Saved visit")
    assert visit(patient, 1)["pregnant"] is None


def test_an_allergy_to_a_drug_injected_needs_confirmation(patient):
    patient.ok("patient", "allergy", "P0001", "lidocaine", "--reaction", "anaphylaxis")
    before = everything(patient)
    result = log(patient, "--point", LIDOCAINE)
    assert_refused(result, 5, "the patient has an allergy to a drug injected and there is no "
                              "terminal to confirm it; nothing was saved (confirm with --yes)")
    assert "Warning: P0001 has an allergy to lidocaine (anaphylaxis) and this visit injects " \
           "lidocaine-1" in result.stderr
    assert everything(patient) == before
    saved = log(patient, "--point", LIDOCAINE, "--yes")
    assert saved.exit_code == 0, saved.stderr
    warnings = visit(patient, 1)["warnings"]
    assert {"kind": "allergy", "message": "P0001 has an allergy to lidocaine (anaphylaxis) and "
            "this visit injects lidocaine-1", "confirmation": "confirmed with --yes"} in warnings
    assert "Warning when logged: P0001 has an allergy to lidocaine" in \
        patient.ok("visit", "show", "1").stdout
    assert "holds" in patient.ok("audit", "verify").stdout


def test_an_allergy_to_another_drug_or_an_ended_one_asks_nothing(patient):
    patient.ok("patient", "allergy", "P0001", "bupivacaine")
    patient.ok("patient", "allergy", "P0001", "lidocaine-2")
    patient.ok("patient", "allergy", "P0001", "latex")
    assert log(patient, "--point", LIDOCAINE).exit_code == 0  # lidocaine-1: not lidocaine-2
    assert_refused(log(patient, "--point", BUPIVACAINE), 5, "allergy to a drug injected")
    patient.ok("patient", "allergy-end", "P0001", "1", "--as", "resolved")
    assert log(patient, "--point", BUPIVACAINE).exit_code == 0
    assert all(w["kind"] != "allergy" for w in visit(patient, 2)["warnings"])


def test_an_amendment_that_injects_the_drug_needs_confirmation_too(patient):
    patient.ok("patient", "allergy", "P0001", "bupivacaine")
    patient.ok("log", "P0001", "--date", "2026-03-01", "--point", LIDOCAINE)
    before = everything(patient)
    amend = ("visit", "amend", "1", "--reason", "second point", "--add-point", BUPIVACAINE)
    assert_refused(patient.run(*amend), 5, "allergy to a drug injected")
    assert everything(patient) == before
    patient.ok(*amend, "--yes")
    assert any(w["kind"] == "allergy" and w["confirmation"] for w in visit(patient, 1)["warnings"])


def test_anticoagulant_bleeding_and_pregnancy_warn_and_are_recorded(patient):
    patient.ok("patient", "anticoagulant", "P0001", "on", "--drug", "apixaban",
               "--on", "2026-01-01")
    patient.ok("patient", "bleeding-disorder", "P0001", "yes", "--note", "haemophilia A")
    result = log(patient, "--point", LIDOCAINE, "--pregnant", "yes")
    assert result.exit_code == 0, result.stderr  # warnings: no confirmation needed
    assert "Warning: P0001 is on an anticoagulant/antiplatelet (apixaban): bleeding risk" \
        in result.stderr
    assert "Warning: P0001 has a bleeding disorder (haemophilia A): bleeding risk" \
        in result.stderr
    assert "Warning: P0001 is pregnant" in result.stderr
    assert "Pregnant: yes" in result.stderr
    shown = visit(patient, 1)
    assert shown["pregnant"] == "yes"
    assert {w["kind"]: w["confirmation"] for w in shown["warnings"]
            if w["kind"] in ("anticoagulant", "bleeding", "pregnancy")} == {
        "anticoagulant": None, "bleeding": None, "pregnancy": None}
    assert "Pregnant: yes" in patient.ok("visit", "show", "1").stdout
    # Off the anticoagulant, no bleeding disorder, not pregnant: no warning.
    patient.ok("patient", "anticoagulant", "P0001", "off")
    patient.ok("patient", "bleeding-disorder", "P0001", "no")
    quiet = patient.run("log", "P0001", "--date", "2026-03-02", "--point",
                        "deltoid:L pre=4 drug=lidocaine-1 ml=1", "--pregnant", "no")
    assert quiet.exit_code == 0 and "bleeding risk" not in quiet.stderr
    assert "is pregnant" not in quiet.stderr
    assert visit(patient, 2)["pregnant"] == "no"


def test_pregnancy_status_is_carried_over_by_an_amendment(patient):
    log(patient, "--point", LIDOCAINE, "--pregnant", "unknown")
    patient.ok("visit", "amend", "1", "--reason", "typo", "--note", "seen with her sister")
    assert visit(patient, 1)["pregnant"] == "unknown" and visit(patient, 1)["revision"] == 2
    assert "holds" in patient.ok("audit", "verify").stdout


def test_a_bad_pregnancy_status_is_refused_before_anything(patient):
    before = everything(patient)
    result = log(patient, "--point", LIDOCAINE, "--pregnant", "maybe")
    assert_refused(result, 2, "--pregnant 'maybe' is not allowed; use yes|no|unknown")
    assert everything(patient) == before


@pytest.mark.parametrize("answer, code, visits", [("n", 5, 0), ("y", 0, 1)])
def test_guided_entry_shows_the_screen_before_save_this_visit(sqlite_clinic, tmp_path, answer,
                                                              code, visits):
    sqlite_clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01",
                     "--weight-kg", "70")
    sqlite_clinic.ok("patient", "allergy", "P0001", "lidocaine", "--reaction", "hives")
    sqlite_clinic.ok("patient", "anticoagulant", "P0001", "on", "--drug", "warfarin")
    script = [("Conditions", ""), *PROCEDURE, ("Point 1 muscle", "deltoid"), ("side", "L"),
              ("pain before", "5"), ("twitch", ""), *SIGNS, ("pain after", "2"), ("soreness", ""),
              ("numbness", ""), ("drug", "lidocaine-1"), ("volume", "1"),
              ("Another point?", "n"), ("Note on the visit", ""), ("Save this visit?", "y"),
              ("Save this visit injecting a drug the patient is allergic to?", answer)]
    code_seen, screen_text = converse(["--db", sqlite_clinic.url, "log", "P0001", "--date",
                                       "2026-03-01", "--pregnant", "no"], script, tmp_path)
    assert code_seen == code, screen_text
    shown_before = screen_text[:screen_text.index("Save this visit?")]
    assert "Allergies: lidocaine (hives)" in shown_before
    assert "P0001 has an allergy to lidocaine (hives) and this visit injects lidocaine-1" \
        in shown_before
    assert "on an anticoagulant/antiplatelet (warfarin)" in shown_before
    assert sqlite_clinic.count("visit") == visits
    if visits:
        assert any(w["kind"] == "allergy" and w["confirmation"] == "confirmed at the prompt"
                   for w in visit(sqlite_clinic, 1)["warnings"])


def test_a_merged_duplicates_screen_is_the_patients(patient):
    patient.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--yes")
    patient.ok("patient", "allergy", "P0002", "lidocaine")
    patient.ok("patient", "merge", "P0002", "P0001", "--reason", "added twice", "--yes")
    assert [a["substance"] for a in screen(patient)["allergies"]] == ["lidocaine"]
    assert_refused(log(patient, "--point", LIDOCAINE), 5, "allergy to a drug injected")


# --- the audit trail and the guards -----------------------------------------------------------

@pytest.mark.parametrize("tampering, caught", [
    (["UPDATE patient_screening SET substance = 'latex' WHERE id = 1"],
     "the patient_screening record it wrote has been changed"),
    (["UPDATE patient_screening SET status = 'resolved' WHERE id = 2"],
     "the patient_screening record it wrote has been changed"),
    (["DELETE FROM patient_screening WHERE id = 2"],
     "the patient_screening record it wrote (2) is missing"),
    (["UPDATE visit_revision SET pregnant = 'no'"],
     "the visit_revision record it wrote has been changed"),
])
def test_a_raw_edit_of_the_screen_is_caught(patient, tampering, caught):
    patient.ok("patient", "allergy", "P0001", "lidocaine")
    patient.ok("patient", "anticoagulant", "P0001", "on")
    log(patient, "--point", "deltoid:L pre=4 drug=saline ml=1", "--pregnant", "yes")
    assert "holds" in patient.ok("audit", "verify").stdout
    _without_guards(patient, *tampering)
    assert_refused(patient.run("audit", "verify"), 4, caught)


def test_the_screen_records_are_guarded(patient):
    patient.ok("patient", "allergy", "P0001", "lidocaine")
    for statement in ("UPDATE patient_screening SET substance = 'x'",
                      "DELETE FROM patient_screening"):
        with pytest.raises(Exception, match="append-only"):
            patient.sql(statement)
    assert patient.sql("SELECT substance FROM patient_screening") == [("lidocaine",)]
    patient.ok("db", "check")  # the new tables' guards are in place


# --- revision 0012 ----------------------------------------------------------------------------

def test_0012_upgrades_a_database_with_records_and_the_trail_holds(empty_clinic):
    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0009")
    kept = {t: empty_clinic.count(t) for t in ("patient", "visit", "visit_revision",
                                                "injected_point", "audit_event")}
    result = empty_clinic.ok("db", "upgrade")
    assert f"from revision 0009 to {db.SCHEMA_HEAD}" in result.stderr
    # No record changed, no migrated event needed (the new column is NULL everywhere); the
    # upgrade's own event, and a later revision's (0013) for each practitioner record it makes.
    made = empty_clinic.count("practitioner")
    assert {t: empty_clinic.count(t) for t in kept} == {
        **kept, "audit_event": kept["audit_event"] + 1 + made}
    assert empty_clinic.sql("SELECT pregnant FROM visit_revision") == [(None,)]
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    empty_clinic.ok("db", "check")  # the new tables and their guards are as expected
    empty_clinic.ok("patient", "allergy", "P0001", "lidocaine")
    empty_clinic.ok("event", "1", "vasovagal", "--on", "2025-01-02", "--yes")
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    # With screen records and events, a downgrade that would drop them is refused.
    with pytest.raises(RuntimeError, match="holds 1 screen record"):
        _step(empty_clinic, "downgrade", "0009")
    assert empty_clinic.count("patient_screening") == 1
    assert empty_clinic.count("adverse_event") == 1


def test_an_amendment_may_correct_the_pregnancy_status_and_is_checked_again(patient):
    log(patient, "--point", LIDOCAINE, "--pregnant", "no")
    result = patient.run("visit", "amend", "1", "--reason", "she said yes", "--pregnant", "yes")
    assert result.exit_code == 0, result.stderr
    assert "Warning: P0001 is pregnant" in result.stderr
    shown = json.loads(patient.ok("visit", "show", "1", "--revisions", "--json").stdout)
    assert shown["pregnant"] == "yes"
    assert any(w["kind"] == "pregnancy" for w in shown["warnings"])
    assert "pregnant: no → yes" in shown["revisions"][1]["changes"]
    assert_refused(patient.run("visit", "amend", "1", "--reason", "x", "--pregnant", "yes"),
                   2, "the amendment changes nothing")
    assert_refused(patient.run("visit", "amend", "1", "--reason", "x", "--pregnant", "soon"),
                   2, "--pregnant 'soon' is not allowed")
    assert "holds" in patient.ok("audit", "verify").stdout


def test_the_pregnancy_status_goes_into_every_export_and_comes_back_with_an_import(
        clinic, tmp_path):
    """Asked at the visit, it is part of the record a referring physician and another system
    get (it was only in `visit show`): the CSV's `pregnant` column, the JSON's key, the
    letter's line, a FHIR note; an import keeps it, and a visit imported twice is the same."""
    import csv
    import io

    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1990-02-03", "--sex", "female")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--pregnant", "no",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=1")
    clinic.ok("log", "P0001", "--date", "2026-04-01", "--pregnant", "yes", "--yes",
              "--point", "deltoid:L pre=5 post=2 drug=lidocaine-1 ml=1")
    clinic.ok("log", "P0001", "--date", "2026-05-01",
              "--point", "deltoid:L pre=4 post=2 drug=lidocaine-1 ml=1")
    first = tmp_path / "first.csv"
    clinic.ok("export", "P0001", "-f", "csv", "-o", str(first))
    assert [row["pregnant"] for row in csv.DictReader(io.StringIO(first.read_text()))] == \
        ["no", "yes", ""]
    document = json.loads(clinic.ok("export", "P0001", "-f", "json").stdout)
    assert [v["pregnant"] for v in document["patients"][0]["visits"]] == ["no", "yes", None]
    for fmt in ("md", "html"):
        text = clinic.ok("export", "P0001", "-f", fmt).stdout
        assert text.count("Pregnant") >= 2 and ("Pregnant: yes" in text
                                                 or "Pregnant:</dt><dd>yes" in text), fmt
    fhir = clinic.ok("export", "P0001", "-f", "fhir").stdout
    assert '"text": "Pregnant: no"' in fhir and '"text": "Pregnant: yes"' in fhir
    with new_clinic(clinic.backend, tmp_path, "other", current=True) as other:
        other.ok("import", str(first))
        history = json.loads(other.ok("history", "P0001", "--json").stdout)["visits"]
        assert [v["pregnant"] for v in history] == [None, "yes", "no"]  # newest first
        second = tmp_path / "second.csv"
        other.ok("export", "--all", "-f", "csv", "-o", str(second))
        assert second.read_text() == first.read_text()
        again = other.run("import", str(first))
        assert "3 visit(s) were already there" in again.stdout + again.stderr
        # An earlier tplog's file (no `pregnant` column) holds the same visits: not new ones.
        table = list(csv.reader(io.StringIO(first.read_text())))
        gone = table[0].index("pregnant")
        older = tmp_path / "older.csv"
        with older.open("w", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(
                [row[:gone] + row[gone + 1:] for row in table])
        before = other.count("visit")
        again = other.run("import", str(older))
        assert "3 visit(s) were already there" in again.stdout + again.stderr
        assert other.count("visit") == before
        assert "holds" in other.ok("audit", "verify").stdout
