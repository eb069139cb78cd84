"""Issue 14: what a tired clinician may type wrong is caught before it is saved.

The same `tplog log` run twice saved two identical visits; a visit dated before the patient's
birth, or decades back, and pain before and after swapped were saved without a word.
"""

from __future__ import annotations

import datetime as dt
import json

from tests.conftest import assert_refused, built_once
from tests.terminal import converse

VISIT = ["--point", "upper-trapezius:L pre=6 post=2", "--point", "levator-scapulae:R pre=5"]


@built_once
def patient(clinic):
    clinic.ok("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12", "--weight-kg", "64")
    return clinic


def snapshot(clinic):
    return {**clinic.counts(), "audit_event": clinic.count("audit_event")}


def test_the_same_visit_twice_is_refused_unless_confirmed(patient):
    patient.ok("log", "P0001", "--date", "2026-11-02", *VISIT)
    before = snapshot(patient)
    result = patient.run("log", "P0001", "--date", "2026-11-02", *VISIT)
    assert_refused(result, 5, "visit 1 on 2026-11-02 has the same sites",
                   "levator-scapulae R, upper-trapezius L",
                   "a visit with the same sites is already logged that day",
                   "confirm with --yes")
    assert snapshot(patient) == before
    patient.ok("log", "P0001", "--date", "2026-11-02", *VISIT, "--yes")
    warnings = json.loads(patient.ok("visit", "show", "2", "--json").stdout)["warnings"]
    (duplicate,) = [w for w in warnings if w["kind"] == "duplicate"]
    assert duplicate["confirmation"] == "confirmed with --yes"


def test_other_sites_or_another_day_are_not_duplicates(patient):
    patient.ok("log", "P0001", "--date", "2026-11-02", *VISIT)
    patient.ok("log", "P0001", "--date", "2026-11-02", "--point", "deltoid:L pre=4")
    patient.ok("log", "P0001", "--date", "2026-11-03", *VISIT)
    assert patient.count("visit") == 3


def test_a_visit_before_the_patients_birth_is_refused(patient):
    before = snapshot(patient)
    result = patient.run("log", "P0001", "--date", "1966-11-30", *VISIT, "--yes")
    assert_refused(result, 2, "date 1966-11-30 is before P0001's birth (1968-04-12)")
    assert snapshot(patient) == before


def test_a_date_years_back_needs_confirmation(patient):
    old = (dt.date.today() - dt.timedelta(days=3 * 366)).isoformat()
    before = snapshot(patient)
    result = patient.run("log", "P0001", "--date", old, *VISIT)
    assert_refused(result, 5, f"the date {old} is more than 2 year(s) ago",
                   "the date is years back")
    assert snapshot(patient) == before
    patient.ok("config", "set", "checks.visit_years_back", "5")
    patient.ok("log", "P0001", "--date", old, *VISIT)


def test_pain_that_went_up_is_shown_and_saved_without_a_terminal(patient):
    result = patient.ok("log", "P0001", "--point", "deltoid:L pre=2 post=7")
    assert "Warning: deltoid L: pain went up from 2 to 7" in result.stderr
    warnings = json.loads(patient.ok("visit", "show", "1", "--json").stdout)["warnings"]
    assert "worse" not in [w["kind"] for w in warnings]  # the record shows it already


def test_on_a_terminal_pain_that_went_up_is_asked_about(patient, tmp_path):
    args = ["--db", patient.url, "log", "P0001", "--point", "deltoid:L pre=2 post=7"]
    code, screen = converse(args, [("pain went up from 2 to 7: correct?", "n")], tmp_path)
    assert code == 5 and "correct the point" in screen, screen
    assert patient.count("visit") == 0
    code, screen = converse(args, [("pain went up from 2 to 7: correct?", "y")], tmp_path)
    assert code == 0, screen
    assert patient.count("visit") == 1
