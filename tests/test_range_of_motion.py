"""Ranges of motion at a visit (issue 16): `--rom "cervical-rotation:L before=50 after=70"`,
rows per visit revision, part of the revision's digest, append-only, shown and exported."""

import json

import pytest

from tests.conftest import Clinic, assert_refused, built_once
from tests.test_audit import _without_guards

POINT = "upper-trapezius:L pre=7 post=3"


@built_once
def ada(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    return clinic


def motion(clinic, visit_id=1, *options):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json", *options).stdout)


def written(clinic):
    return {t: clinic.count(t) for t in ("visit", "visit_revision", "injected_point",
                                         "range_of_motion", "audit_event")}


def test_ranges_of_motion_are_saved_shown_and_vouched_for(ada):
    result = ada.ok("log", "P0001", "--point", POINT,
                    "--rom", "cervical-rotation:L before=50 after=70",
                    "--rom", "Jaw-opening before=28", "--rom", "lumbar-flexion after=45")
    said = " ".join(result.stdout.split())
    assert ("Range of motion (before → after): Cervical rotation L: 50 → 70 degrees (+20); "
            "Jaw opening: 28 → — mm; Lumbar flexion: — → 45 degrees") in said
    shown = motion(ada)["range_of_motion"]
    assert shown == [
        {"position": 1, "movement": "cervical-rotation", "side": "L", "value_before": 50,
         "value_after": 70, "unit": "degrees", "change": 20},
        {"position": 2, "movement": "jaw-opening", "side": None, "value_before": 28,
         "value_after": None, "unit": "mm", "change": None},
        {"position": 3, "movement": "lumbar-flexion", "side": None, "value_before": None,
         "value_after": 45, "unit": "degrees", "change": None}]
    assert "Cervical rotation L: 50 → 70" in ada.ok("history", "P0001").stdout
    assert "holds" in ada.ok("audit", "verify").stdout


@pytest.mark.parametrize(("spec", "message"), [
    ("neck-twist:L before=5", "movement 'neck-twist'"),
    ("cervical-rotation before=50", "has no side; cervical-rotation is measured left and right"),
    ("jaw-opening:L before=30", "jaw-opening has no side; leave out :L"),
    ("cervical-flexion:R before=30", "cervical-flexion has no side"),
    ("shoulder-flexion:X before=30", "side 'X' is not allowed; use L or R"),
    ("cervical-rotation:L", "has no value; give before=N and/or after=N (degrees)"),
    ("cervical-rotation:L before=190", "whole degrees from 0 to 180"),
    ("jaw-opening before=120", "whole mm from 0 to 100"),
    ("hip-internal-rotation:R after=-5", "after=-5 in --rom"),
    ("hip-internal-rotation:R after=4.5", "after=4.5 in --rom"),
    ("lumbar-flexion before=40 before=50", "before= is given twice"),
    ("lumbar-flexion range=40", "'range=40' in --rom"),
])
def test_a_bad_range_of_motion_is_refused_and_nothing_is_written(ada, spec, message):
    before = written(ada)
    result = ada.run("log", "P0001", "--point", POINT, "--rom", spec)
    assert_refused(result, 2, message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert written(ada) == before


def test_the_same_movement_and_side_twice_is_refused(ada):
    before = written(ada)
    assert_refused(ada.run("log", "P0001", "--point", POINT,
                           "--rom", "cervical-rotation:L before=50",
                           "--rom", "cervical-rotation:L after=70"), 2,
                   "--rom cervical-rotation:L is given twice")
    assert written(ada) == before
    ada.ok("log", "P0001", "--point", POINT, "--rom", "cervical-rotation:L before=50",
           "--rom", "cervical-rotation:R before=60")


def test_amend_carries_them_replaces_them_with_rom_and_the_diff_names_them(ada):
    ada.ok("log", "P0001", "--point", POINT, "--rom", "cervical-rotation:L before=50")
    ada.ok("visit", "amend", "1", "--reason", "note", "--note", "stiff")
    assert len(motion(ada)["range_of_motion"]) == 1
    ada.ok("visit", "amend", "1", "--reason", "after was measured",
           "--rom", "cervical-rotation:L before=50 after=65")
    shown = motion(ada, 1, "--revisions")
    assert shown["range_of_motion"][0]["value_after"] == 65
    assert shown["revisions"][-1]["changes"] == [
        "range of motion: cervical-rotation:L before=50 → cervical-rotation:L before=50 "
        "after=65"]
    assert shown["revisions"][0]["range_of_motion"][0]["value_after"] is None
    assert_refused(ada.run("visit", "amend", "1", "--reason", "same",
                           "--rom", "cervical-rotation:L before=50 after=65"), 2,
                   "the amendment changes nothing")
    assert "holds" in ada.ok("audit", "verify").stdout


def test_a_raw_edit_insert_or_delete_is_refused_or_caught(ada):
    ada.ok("log", "P0001", "--point", POINT, "--rom", "cervical-rotation:L before=50")
    for statement in ("UPDATE range_of_motion SET value_before = 80",
                      "DELETE FROM range_of_motion"):
        with pytest.raises(Exception, match="append-only"):
            ada.sql(statement)
    _without_guards(ada, "UPDATE range_of_motion SET value_before = 80")
    assert_refused(ada.run("audit", "verify"), 4,
                   "the visit_revision record it wrote has been changed")


def test_an_added_row_is_caught_too(ada):
    ada.ok("log", "P0001", "--point", POINT)
    ada.sql("INSERT INTO range_of_motion (revision_id, position, movement, value_before) "
            "VALUES (1, 1, 'lumbar-flexion', 30)")
    assert_refused(ada.run("audit", "verify"), 4,
                   "the visit_revision record it wrote has been changed")


def test_exports_carry_them_and_the_csv_reads_them_back(ada, tmp_path):
    ada.ok("log", "P0001", "--point", POINT, "--point", "deltoid:R pre=3",
           "--rom", "cervical-rotation:L before=50 after=70", "--rom", "jaw-opening before=30")
    document = json.loads(ada.ok("export", "P0001", "--format", "json").stdout)
    assert [m["movement"] for m in document["patients"][0]["visits"][0]["range_of_motion"]] \
        == ["cervical-rotation", "jaw-opening"]
    assert "- Range of motion (before → after): Cervical rotation L: 50 → 70 degrees (+20)" \
        in ada.ok("export", "P0001", "--format", "md").stdout
    assert "Jaw opening: 30 → — mm" in ada.ok("export", "P0001", "--format", "html").stdout
    exported = tmp_path / "visits.csv"
    ada.ok("export", "P0001", "-o", str(exported))
    rows = exported.read_text().splitlines()[1:]
    assert all(",cervical-rotation:L before=50 after=70; jaw-opening before=30," in row
               for row in rows)
    copy = Clinic(url=str(tmp_path / "copy.db"), backend="sqlite")
    copy.ok("import", str(exported))
    again = tmp_path / "again.csv"
    copy.ok("export", "P0001", "-o", str(again))
    assert again.read_text() == exported.read_text()
    assert "holds" in copy.ok("audit", "verify").stdout
    exported.write_text(exported.read_text().replace("before=30,", "before=300,"))
    before = written(copy)
    assert_refused(copy.run("import", str(exported)), 2, "line 2", "before=300 in --rom")
    assert written(copy) == before


def test_trend_shows_each_movement_across_the_visits(ada):
    ada.ok("log", "P0001", "--date", "2026-01-05", "--point", POINT,
           "--rom", "cervical-rotation:L before=40 after=55")
    ada.ok("log", "P0001", "--date", "2026-02-05", "--point", POINT,
           "--rom", "cervical-rotation:L before=50 after=70", "--rom", "jaw-opening before=30")
    ada.ok("log", "P0001", "--date", "2026-03-05", "--point", POINT,
           "--rom", "cervical-rotation:L before=1")
    ada.ok("visit", "void", "3", "--reason", "wrong patient", "--yes")
    document = json.loads(ada.ok("trend", "P0001", "--json").stdout)
    assert document["range_of_motion"] == [
        {"movement": "cervical-rotation", "side": "L", "unit": "degrees",
         "visits": [{"visit_date": "2026-01-05", "value_before": 40, "value_after": 55},
                    {"visit_date": "2026-02-05", "value_before": 50, "value_after": 70}]},
        {"movement": "jaw-opening", "side": None, "unit": "mm",
         "visits": [{"visit_date": "2026-02-05", "value_before": 30, "value_after": None}]}]
    table = ada.ok("trend", "P0001").stdout
    assert "Range of motion for P0001" in table
    assert "2026-01-05: 40 → 55" in table and "2026-02-05: 50 → 70" in table
