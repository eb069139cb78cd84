"""Corrections without erasure: amend, addendum, void, and audited patient edits."""

import json

import pytest

from tests.conftest import assert_refused, built_once


@built_once
def logged(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch",
              "--condition", "myofascial-pain-head-neck", "--note", "first note",
              "--point", "upper-trapezius:L pre=8 post=4 twitch=yes",
              "--point", "deltoid:R pre=6 post=6")
    return clinic


def visit(clinic, *args):
    return json.loads(clinic.ok("visit", "show", "1", *args, "--json").stdout)


def overall(clinic, *args):
    groups = json.loads(clinic.ok("summary", *args, "--json").stdout)["groups"]
    return groups[0] if groups else None


def test_amend_supersedes_and_keeps_the_old_revision(logged):
    before = overall(logged)
    # Reduction of mean pain: (14 - 10) / 14.
    assert (before["points"], before["reduction_of_mean_percent"]) == (2, pytest.approx(400 / 14))
    result = logged.ok("visit", "amend", "--replace-points",
                       "1", "--reason", "deltoid pain after misread",
                       "--point", "upper-trapezius:L pre=8 post=4 twitch=yes",
                       "--point", "deltoid:R pre=6 post=3")
    assert "revision 2 is now in force" in result.stderr
    now = visit(logged)
    assert now["revision"] == 2 and now["points"][1]["pain_after"] == 3
    assert now["note"] == "first note" and now["practitioner"] == "Dr Finch"  # carried over
    # Summaries and history read the latest revision only.
    after = overall(logged)
    assert (after["visits"], after["points"]) == (1, 2)
    assert after["reduction_of_mean_percent"] == pytest.approx(50.0)  # (14 - 7) / 14
    history = json.loads(logged.ok("history", "P0001", "--json").stdout)
    assert [p["pain_after"] for p in history["visits"][0]["points"]] == [4, 3]
    # Nothing was overwritten: both revisions are in the database.
    assert logged.count("visit_revision") == 2 and logged.count("injected_point") == 4


def test_show_revisions_tells_who_when_why_and_what_changed(logged):
    logged.ok("visit", "amend", "1", "--reason", "wrong date", "--date", "2026-03-02",
              "--condition", "fibromyalgia", "--note", "second note")
    revisions = visit(logged, "--revisions")["revisions"]
    assert [r["number"] for r in revisions] == [1, 2]
    assert revisions[0]["reason"] is None and revisions[0]["changes"] == ["logged"]
    assert revisions[1]["reason"] == "wrong date" and revisions[1]["created_by"]
    assert revisions[1]["changes"] == [
        "date: 2026-03-01 → 2026-03-02", "note: first note → second note",
        "condition added: fibromyalgia", "condition removed: myofascial-pain-head-neck"]
    assert revisions[0]["points"] == revisions[1]["points"]  # points carried over
    table = logged.ok("visit", "show", "1", "--revisions").stdout
    assert "Revisions of visit 1" in table and "wrong date" in table


@pytest.mark.parametrize("args, code, fragments", [
    (["404", "--reason", "x", "--note", "y"], 1, ["no visit with id 404"]),
    (["1", "--reason", "  ", "--note", "y"], 2, ["reason is empty"]),
    (["1", "--reason", "same"], 2, ["the amendment changes nothing"]),
    (["1", "--reason", "x", "--point", "deltoid:R pre=12"], 2, ["pre '12' is not allowed"]),
    (["1", "--reason", "x", "--date", "2999-01-01"], 2, ["is in the future"]),
    (["1", "--reason", "x", "--condition", "gout"], 2, ["unknown condition 'gout'"]),
    (["x1", "--reason", "x", "--note", "y"], 2, ["visit id 'x1' is not allowed"]),
])
def test_bad_amendments_write_nothing(logged, args, code, fragments):
    before = logged.counts()
    events = logged.count("audit_event")
    assert_refused(logged.run("visit", "amend", *args), code, *fragments)
    assert logged.counts() == before and logged.count("visit_revision") == 1
    assert logged.count("audit_event") == events


def test_addendum_is_dated_and_signed(logged, monkeypatch):
    logged.ok("visit", "addendum", "1", "Phone call: no bruising, pain 3/10",
              "--practitioner", "Nurse Ivy")
    (addendum,) = visit(logged)["addenda"]
    assert addendum["text"] == "Phone call: no bruising, pain 3/10"
    assert addendum["practitioner"] == "Nurse Ivy" and addendum["created_at"]
    assert "Phone call" in logged.ok("visit", "show", "1").stdout
    assert_refused(logged.run("visit", "addendum", "1", " "), 2, "addendum is empty")
    assert_refused(logged.run("visit", "addendum", "9", "x"), 1, "no visit with id 9")
    assert logged.count("visit_addendum") == 1


def test_void_takes_a_visit_out_of_history_and_summaries_but_keeps_it(logged):
    logged.ok("log", "P0001", "--date", "2026-03-08", "--point", "masseter:L pre=4 post=1")
    logged.ok("visit", "void", "1", "--yes", "--reason", "entered for the wrong patient")
    history = json.loads(logged.ok("history", "P0001", "--json").stdout)
    assert [v["id"] for v in history["visits"]] == [2]
    assert history["patient"]["visit_count"] == 1
    assert overall(logged)["visits"] == 1
    assert overall(logged, "--include-void")["visits"] == 2
    everything = json.loads(logged.ok("history", "P0001", "--include-void", "--json").stdout)
    assert [v["id"] for v in everything["visits"]] == [2, 1]
    shown = visit(logged)
    assert shown["void"]["reason"] == "entered for the wrong patient"
    assert "VOID" in logged.ok("visit", "show", "1").stdout
    assert logged.count("visit") == 2 and logged.count("injected_point") == 3  # nothing removed


def test_void_refusals(logged):
    logged.ok("visit", "void", "1", "--yes", "--reason", "duplicate entry")
    assert_refused(logged.run("visit", "void", "1", "--yes", "--reason", "again"), 1,
                   "visit 1 was already voided")
    assert_refused(logged.run("visit", "amend", "1", "--reason", "x", "--note", "y"), 1,
                   "a voided visit is not amended")
    assert_refused(logged.run("visit", "void", "404", "--yes", "--reason", "x"), 1, "no visit")
    assert logged.count("visit_void") == 1 and logged.count("visit_revision") == 1


def test_void_needs_a_reason(logged):
    result = logged.run("visit", "void", "1", "--yes")
    assert result.exit_code == 2 and "--reason" in result.stderr
    assert_refused(logged.run("visit", "void", "1", "--yes", "--reason", ""), 2, "reason is empty")
    assert logged.count("visit_void") == 0


def test_patient_edit_is_audited(logged):
    logged.ok("patient", "edit", "P0001", "--name", "Ada King", "--weight-kg", "60")
    shown = json.loads(logged.ok("patient", "show", "P0001", "--json").stdout)
    assert (shown["name"], shown["weight_kg"]) == ("Ada King", 60.0)
    events = json.loads(logged.ok("audit", "log", "--json").stdout)
    # The name is an edit of the patient; the weight a dated measurement of its own.
    assert [e["action"] for e in events[-2:]] == ["patient.edit", "patient.weight"]
    assert events[-2]["target"] == "patient P0001: name"
    assert events[-1]["target"].startswith("patient P0001: 60 kg on ")
    assert_refused(logged.run("patient", "edit", "P0001", "--name", "Ada King"), 2,
                   "the edit changes nothing")
    assert_refused(logged.run("patient", "edit", "P0001", "--sex", "x"), 2, "sex 'x'")
    assert_refused(logged.run("patient", "edit", "P0404", "--name", "X"), 1, "no patient")
    assert len(json.loads(logged.ok("audit", "log", "--json").stdout)) == len(events)
