"""Guided entry cut short by Ctrl-C keeps what was answered as a draft; the next `tplog log
MRN` offers to resume it, and saving, declining or a draft that cannot be read removes it."""

import json
import stat

import pytest

from tests.conftest import built_once
from tests.terminal import PROCEDURE, SIGNS, converse

DATE_AND_CONDITIONS = [("Visit date", "2026-11-02"), ("Conditions", "neck-pain"), *PROCEDURE]


def point(muscle, side, pre, post):
    return [("muscle", muscle), ("side", side), ("pain before", pre), ("twitch", "-"), *SIGNS,
            ("pain after", post), ("soreness", "-"), ("numbness", "-"),
            ("drug", "saline"), ("volume", "1")]


TWO_POINTS = [*point("upper-trapezius", "L", "6", "2"), ("Another point?", "y"),
              *point("levator-scapulae", "R", "5", "3"), ("Another point?", "y")]


@built_once
def ada(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1906-12-09")
    return clinic


def drafts_folder(home):
    return home / "data" / "tplog" / "drafts"


def guided(clinic, tmp_path, script, mrn="P0001"):
    code, screen = converse(["--db", clinic.url, "log", mrn], script, tmp_path)
    assert "Traceback" not in screen
    return code, screen


def interrupted_after_two_points(clinic, tmp_path):
    code, screen = guided(clinic, tmp_path, [*DATE_AND_CONDITIONS, *TWO_POINTS,
                                             ("muscle", "\x03")])
    assert code == 130, screen
    assert "kept as a draft: `tplog log P0001` offers to resume it" in screen
    assert clinic.count("visit") == 0
    return screen


def test_ctrl_c_keeps_the_answers_in_a_private_draft(ada, tmp_path, _isolated_home):
    interrupted_after_two_points(ada, tmp_path)
    kept = list(drafts_folder(_isolated_home).iterdir())
    assert len(kept) == 1
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(drafts_folder(_isolated_home).stat().st_mode) == 0o700
    # Named by a digest: neither the MRN nor the database is in the file name.
    assert "P0001" not in kept[0].name and "clinic" not in kept[0].name


def test_the_next_log_resumes_the_draft_and_saves_it_whole(ada, tmp_path, _isolated_home):
    interrupted_after_two_points(ada, tmp_path)
    script = [("Resume the entry interrupted earlier", "y"), *PROCEDURE, ("Another point?", "y"),
              *point("splenius-capitis", "L", "7", "4"), ("Another point?", "n"),
              ("Note on the visit", "resumed"), ("Save this visit?", "y")]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert "dated 2026-11-02 with 2 point(s) (upper-trapezius L, levator-scapulae R)" in screen
    # The date and conditions were answered before the Ctrl-C: not asked again.
    assert "Visit date" not in screen and "Conditions (keys" not in screen
    saved = json.loads(ada.ok("visit", "show", "1", "--json").stdout)
    assert saved["visit_date"] == "2026-11-02"
    assert [c["key"] for c in saved["conditions"]] == ["neck-pain"]
    assert [(p["muscle"], p["side"], p["pain_before"], p["pain_after"])
            for p in saved["points"]] == [("upper-trapezius", "L", 6, 2),
                                          ("levator-scapulae", "R", 5, 3),
                                          ("splenius-capitis", "L", 7, 4)]
    assert saved["note"] == "resumed"
    assert list(drafts_folder(_isolated_home).iterdir()) == []


def test_declining_removes_the_draft_and_asks_afresh(ada, tmp_path, _isolated_home):
    interrupted_after_two_points(ada, tmp_path)
    script = [("Resume the entry interrupted earlier", "n"), ("Visit date", "\x03")]
    code, screen = guided(ada, tmp_path, script)
    assert code == 130, screen
    assert "Draft discarded." in screen
    assert list(drafts_folder(_isolated_home).iterdir()) == []
    assert ada.count("visit") == 0


def test_ctrl_c_at_save_keeps_the_whole_entry(ada, tmp_path, _isolated_home):
    script = [*DATE_AND_CONDITIONS, *point("upper-trapezius", "L", "6", "2"),
              ("Another point?", "n"), ("Note on the visit", "all asked"),
              ("Save this visit?", "\x03")]
    code, screen = guided(ada, tmp_path, script)
    assert code == 130, screen
    assert ada.count("visit") == 0
    script = [("Resume", "y"), *PROCEDURE, ("Another point?", "n"), ("Save this visit?", "y")]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert "Note on the visit" not in screen
    saved = json.loads(ada.ok("visit", "show", "1", "--json").stdout)
    assert saved["note"] == "all asked" and len(saved["points"]) == 1


def test_no_at_save_leaves_no_draft(ada, tmp_path, _isolated_home):
    script = [*DATE_AND_CONDITIONS, *point("upper-trapezius", "L", "6", "2"),
              ("Another point?", "n"), ("Note on the visit", ""), ("Save this visit?", "n")]
    code, screen = guided(ada, tmp_path, script)
    assert code == 5, screen
    assert not drafts_folder(_isolated_home).exists() or \
        list(drafts_folder(_isolated_home).iterdir()) == []


def test_nothing_answered_keeps_no_draft(ada, tmp_path, _isolated_home):
    code, screen = guided(ada, tmp_path, [("Visit date", "\x03")])
    assert code == 130, screen
    assert "draft" not in screen
    assert not drafts_folder(_isolated_home).exists()


def test_the_draft_is_only_offered_for_its_own_patient_and_database(ada, tmp_path,
                                                                     _isolated_home):
    interrupted_after_two_points(ada, tmp_path)
    code, screen = guided(ada, tmp_path, [("Visit date", "\x03")], mrn="P0002")
    assert code == 130 and "Resume" not in screen, screen
    other = tmp_path / "other.db"
    code, screen = converse(["--db", str(other), "patient", "add", "Ada Lovelace", "--dob",
                             "1970-01-01"], [], tmp_path)
    assert code == 0, screen
    code, screen = converse(["--db", str(other), "log", "P0001"], [("Visit date", "\x03")],
                            tmp_path)
    assert code == 130 and "Resume" not in screen, screen
    assert len(list(drafts_folder(_isolated_home).iterdir())) == 1


@pytest.mark.parametrize("tamper", [
    lambda d: {**d, "points": [{**d["points"][0], "pain_before": 11}]},
    lambda d: {**d, "mrn": "P0002"},
    lambda d: {**d, "visit_date": "2026-02-30"},
    lambda d: ["not", "a", "draft"],
], ids=["pain-11", "another-patient", "impossible-date", "not-a-record"])
def test_a_draft_that_cannot_be_read_back_is_removed_with_a_warning(
        ada, tmp_path, _isolated_home, tamper):
    interrupted_after_two_points(ada, tmp_path)
    [kept] = drafts_folder(_isolated_home).iterdir()
    kept.write_text(json.dumps(tamper(json.loads(kept.read_text()))))
    code, screen = guided(ada, tmp_path, [("Visit date", "\x03")])
    assert code == 130, screen
    assert "Warning: a draft for P0001 could not be read" in screen
    assert "Resume" not in screen
    assert list(drafts_folder(_isolated_home).iterdir()) == []
    assert ada.count("visit") == 0
