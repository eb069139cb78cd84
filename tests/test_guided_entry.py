"""Guided entry asks the visit's own details: the date (Enter: today), the conditions (Enter:
the previous visit's), the note (Enter: none), each only when not given as an option; the
side and the pain are asked every time with no default; a bad answer is asked again."""

import datetime as dt
import json

from tests.conftest import built_once
from tests.terminal import PROCEDURE, SIGNS, converse

ONE_POINT = [*PROCEDURE, ("Point 1 muscle", "upper-trapezius"), ("side", "L"), ("pain before", "6"),
             ("twitch", ""), *SIGNS, ("pain after", "2"), ("soreness", ""), ("numbness", ""),
             ("drug", "saline"), ("volume", "1"), ("Another point?", "n")]
SAVE = [("Save this visit?", "y")]


@built_once
def ada(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    return clinic


def visit(clinic, visit_id):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)


def conditions(clinic, visit_id):
    return [c["key"] for c in visit(clinic, visit_id)["conditions"]]


def guided(clinic, tmp_path, script, *options):
    code, screen = converse(["--db", clinic.url, "log", "P0001", *options], script, tmp_path)
    assert "Traceback" not in screen
    return code, screen


def test_the_date_conditions_and_note_are_asked_and_saved(ada, tmp_path):
    script = [("Visit date", "yesterday"), ("Conditions", "neck-pain, M79.7"), *ONE_POINT,
              ("Note on the visit", "Better since the last visit"), *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    saved = visit(ada, 1)
    assert saved["visit_date"] == (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert conditions(ada, 1) == ["neck-pain", "fibromyalgia"]
    assert saved["note"] == "Better since the last visit"


def test_enter_gives_today_the_previous_visits_conditions_and_no_note(ada, tmp_path):
    ada.ok("log", "P0001", "--date", "2026-03-01", "-c", "whiplash", "-c", "myofascial-pain",
           "-c", "neck-pain", "--note", "first visit", "--point", "upper-trapezius:L pre=5")
    assert conditions(ada, 1) == ["whiplash-initial", "myofascial-pain-head-neck", "neck-pain"]
    script = [("Visit date", ""), ("Conditions", ""), *ONE_POINT, ("Note on the visit", ""),
              *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    # Offered as entered: whiplash and myofascial pain are resolved again for this visit.
    assert "[whiplash, myofascial-pain, neck-pain]" in screen
    saved = visit(ada, 2)
    assert saved["visit_date"] == dt.date.today().isoformat()
    assert conditions(ada, 2) == ["whiplash-subsequent", "myofascial-pain-head-neck",
                                  "neck-pain"]
    assert saved["note"] is None


def test_with_no_earlier_visit_enter_gives_no_conditions(ada, tmp_path):
    script = [("Visit date", ""), ("Conditions", ""), *ONE_POINT, ("Note on the visit", "-"),
              *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert conditions(ada, 1) == [] and visit(ada, 1)["note"] is None


def test_what_is_given_as_an_option_is_not_asked(ada, tmp_path):
    code, screen = guided(ada, tmp_path, [*ONE_POINT, *SAVE], "--date", "2026-03-01",
                          "-c", "neck-pain", "--note", "from the options")
    assert code == 0, screen
    assert "Visit date (" not in screen and "Conditions (keys" not in screen
    assert "Note on the visit (" not in screen
    saved = visit(ada, 1)
    assert (saved["visit_date"], saved["note"]) == ("2026-03-01", "from the options")
    assert conditions(ada, 1) == ["neck-pain"]


def test_the_side_and_the_pain_have_no_default(ada, tmp_path):
    script = [("Visit date", ""), ("Conditions", ""), *ONE_POINT[:-1], ("Another point?", "y"),
              ("Point 2 muscle", ""),  # the muscle is offered: upper-trapezius again
              ("side", ""), ("side", "R"),  # Enter asks the side again
              ("pain before", ""), ("pain before", "4"),  # and the pain
              ("twitch", ""), *SIGNS, ("pain after", ""), ("pain after", "-"),
              ("soreness", ""), ("numbness", ""), ("drug", ""), ("volume", ""),
              ("Another point?", "n"), ("Note on the visit", ""), *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert "side [L/R] [" not in screen  # never offered
    assert "pain before (0-10) [" not in screen
    assert "pain after (0-10, - = not recorded) [" not in screen
    assert screen.count("upper-trapezius side [L/R]:") == 3
    assert screen.count("upper-trapezius R pain before (0-10):") == 2
    assert [(p["side"], p["pain_before"], p["pain_after"]) for p in visit(ada, 1)["points"]] \
        == [("L", 6, 2), ("R", 4, None)]


def test_same_as_last_copies_the_conditions_and_never_the_pain(ada, tmp_path):
    ada.ok("log", "P0001", "--date", "2026-03-01", "-c", "tension-headache", "-c", "M54.2",
           "--point", "upper-trapezius:L pre=5 post=1 drug=saline ml=1")
    script = [("Visit date", "2026-03-08"), *PROCEDURE,
              ("upper-trapezius L pain before", ""), ("upper-trapezius L pain before", "3"),
              ("twitch", ""), *SIGNS, ("pain after", "0"), ("soreness", ""), ("numbness", ""),
              ("Another point?", "n"), ("Note on the visit", ""), *SAVE]
    code, screen = guided(ada, tmp_path, script, "--same-as-last")
    assert code == 0, screen
    assert "Conditions (as last visit): tension-headache, neck-pain" in screen
    assert "Conditions (keys" not in screen  # copied, not asked
    assert conditions(ada, 2) == ["tension-headache", "neck-pain"]
    copied = visit(ada, 2)["points"]
    assert [(p["muscle"], p["side"], p["drug"], p["volume_ml"], p["pain_before"],
             p["pain_after"]) for p in copied] == [("upper-trapezius", "L", "saline", 1.0, 3, 0)]


def test_same_as_last_asks_for_a_condition_no_longer_entered(ada, tmp_path):
    # Older visits hold `migraine`, which is shown but no longer entered (aura or not).
    ada.ok("log", "P0001", "--date", "2026-03-01", "--point", "upper-trapezius:L pre=5")
    ada.sql("INSERT INTO visit_condition (revision_id, condition, position) "
            "SELECT id, 'migraine', 1 FROM visit_revision")
    script = [("Visit date", ""), ("Conditions", ""),  # Enter: migraine, refused
              ("Conditions", "migraine-with-aura"), *PROCEDURE,
              ("pain before", "3"), ("twitch", ""), *SIGNS, ("pain after", "-"), ("soreness", ""),
              ("numbness", ""), ("Another point?", "n"), ("Note on the visit", ""), *SAVE]
    code, screen = guided(ada, tmp_path, script, "--same-as-last")
    assert code == 0, screen
    assert "condition 'migraine' is not allowed" in screen
    assert conditions(ada, 2) == ["migraine-with-aura"]


def test_a_bad_date_is_asked_again(ada, tmp_path):
    script = [("Visit date", "2026-02-30"), ("Visit date", "tomorrow"),
              ("Visit date", "2999-01-01"), ("Visit date", "-3d"), ("Conditions", ""),
              *ONE_POINT, ("Note on the visit", ""), *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert "date '2026-02-30' is not a date: February 2026 has 28 days" in screen
    assert "date 'tomorrow' is not a date; use YYYY-MM-DD, today, yesterday or -3d" in screen
    assert "date 2999-01-01 is in the future" in screen
    assert visit(ada, 1)["visit_date"] == (dt.date.today() - dt.timedelta(days=3)).isoformat()


def test_bad_conditions_are_asked_again(ada, tmp_path):
    script = [("Visit date", ""), ("Conditions", "neck-pian"), ("Conditions", "neck-pain,,"),
              ("Conditions", "Z99.9"), ("Conditions", "neck-pain, G43.009"), *ONE_POINT,
              ("Note on the visit", ""), *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert "unknown condition 'neck-pian'; did you mean neck-pain" in screen
    assert "conditions are keys or ICD-10-CM codes separated by commas" in screen
    assert "unknown condition 'Z99.9'" in screen
    assert conditions(ada, 1) == ["neck-pain", "migraine-without-aura"]


def test_encounter_needs_whiplash_among_the_answered_conditions(ada, tmp_path):
    script = [("Visit date", ""), ("Conditions", "neck-pain"), ("Conditions", "whiplash"),
              *ONE_POINT, ("Note on the visit", ""), *SAVE]
    code, screen = guided(ada, tmp_path, script, "--encounter", "sequela")
    assert code == 0, screen
    assert "--encounter goes with the condition whiplash; include it" in screen
    assert conditions(ada, 1) == ["whiplash-sequela"]


def test_ctrl_c_at_the_date_saves_nothing(ada, tmp_path):
    code, screen = guided(ada, tmp_path, [("Visit date", "\x03")])
    assert code == 130, screen
    assert ada.count("visit") == 0
