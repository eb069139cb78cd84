"""Guided entry on a terminal: defaults are the previous point's answers ("same as last" is
Enter) except the side and the pain, which are asked every time; `--same-as-last` starts from
the previous visit; nothing is saved unless confirmed. (The date, conditions and note
questions: tests/test_guided_entry.py.)"""

import json

import pytest

from tests.conftest import built_once
from tests.terminal import PROCEDURE, SIGNS, converse

FIVE_POINTS = [
    ("Conditions", ""),  # no earlier visit: none
    *PROCEDURE,
    ("Point 1 muscle", "upper-trapezius"), ("side", "L"),
    ("pain before", "11"), ("pain before", "7"),  # 11 is refused and asked again
    ("twitch", "yes"), *SIGNS, ("pain after", "3"), ("soreness", "mild"), ("numbness", "no"),
    ("drug", ""), ("volume", ""), ("Another point?", "y"),
    ("Point 2 muscle", ""), ("side", "R"), ("pain before", "6"), ("twitch", ""), *SIGNS,
    ("pain after", "2"), ("soreness", ""), ("numbness", ""), ("drug", ""), ("volume", ""),
    ("Another point?", "y"),
    ("Point 3 muscle", "rhomboid"), ("Point 3 muscle", "rhomboids"), ("side", "R"),
    ("pain before", "5"), ("twitch", "no"), *SIGNS, ("pain after", "-"), ("soreness", "-"),
    ("numbness", "-"), ("drug", "bupi"), ("drug", "bupivacaine-0.25"), ("volume", "0.5"),
    ("Another point?", "y"),
    ("Point 4 muscle", "levator-scapulae"), ("side", "L"), ("pain before", "5"),
    ("twitch", ""), *SIGNS, ("pain after", "-"), ("soreness", ""), ("numbness", ""), ("drug", ""),
    ("volume", ""), ("Another point?", "y"),
    ("Point 5 muscle", "deltoid"), ("side", "L"), ("pain before", "4"), ("twitch", ""), *SIGNS,
    ("pain after", "4"), ("soreness", "none"), ("numbness", ""), ("drug", "dry-needling"),
    ("Another point?", "n"),
    ("Note on the visit", ""),
    ("Save this visit?", "y"),
]
SAME_VISIT = [
    "upper-trapezius:L pre=7 post=3 twitch=yes soreness=mild numbness=no drug=lidocaine-1 ml=1",
    "upper-trapezius:R pre=6 post=2 twitch=yes soreness=mild numbness=no drug=lidocaine-1 ml=1",
    "rhomboids:R pre=5 twitch=no drug=bupivacaine-0.25 ml=0.5",
    "levator-scapulae:L pre=5 twitch=no drug=bupivacaine-0.25 ml=0.5",
    "deltoid:L pre=4 post=4 twitch=no soreness=none drug=dry-needling",
]
VISIT = ["--date", "2026-03-01", "--practitioner", "Dr Finch", "--drug", "lidocaine-1",
         "--ml", "1"]


@built_once
def two_patients(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1970-01-01")
    return clinic


def points(clinic, visit_id):
    shown = json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)
    return [{k: v for k, v in p.items()} for p in shown["points"]]


def test_a_guided_five_point_visit_equals_the_same_visit_given_as_flags(two_patients, tmp_path):
    code, screen = converse(["--db", two_patients.url, "log", "Ada", *VISIT], FIVE_POINTS,
                            tmp_path)
    assert code == 0, screen
    assert "Error: pre" not in screen and "pain before '11' is not allowed" in screen
    assert "unknown muscle 'rhomboid'; did you mean rhomboids" in screen
    assert "unknown drug 'bupi'; did you mean bupivacaine-0.25, bupivacaine-0.5?" in screen
    two_patients.ok("log", "P0002", *VISIT[:4],
                    *[arg for spec in SAME_VISIT for arg in ("--point", spec)])
    assert points(two_patients, 1) == points(two_patients, 2)


def test_same_as_last_copies_sites_and_drugs_and_asks_the_pain(two_patients, tmp_path):
    two_patients.ok("log", "P0001", *VISIT[:4],
                    *[arg for spec in SAME_VISIT[:2] for arg in ("--point", spec)])
    script = [("Visit date", ""), *PROCEDURE,
              ("upper-trapezius L pain before", "5"), ("twitch", "-"), *SIGNS, ("pain after", "1"),
              ("soreness", "-"), ("numbness", "-"),
              ("upper-trapezius R pain before", "4"), ("twitch", "yes"), *SIGNS,
              ("pain after", "-"),
              ("soreness", "-"), ("numbness", "-"),
              ("Another point?", ""), ("Note on the visit", ""), ("Save this visit?", "")]
    code, screen = converse(["--db", two_patients.url, "log", "P0001", "--copy-last"], script,
                            tmp_path)
    assert code == 0, screen
    copied = points(two_patients, 2)
    assert [(p["muscle"], p["side"], p["drug"], p["volume_ml"]) for p in copied] == \
        [("upper-trapezius", "L", "lidocaine-1", 1.0), ("upper-trapezius", "R", "lidocaine-1",
                                                         1.0)]
    assert [(p["pain_before"], p["pain_after"], p["twitch_response"]) for p in copied] == \
        [(5, 1, None), (4, None, True)]


@pytest.mark.parametrize("last", [("Save this visit?", "n"), ("pain before", "\x03")])
def test_no_or_ctrl_c_saves_nothing(two_patients, tmp_path, last):
    script = (FIVE_POINTS[:3 + len(PROCEDURE)] + [last] if last[1] == "\x03"
              else FIVE_POINTS[:-1] + [last])
    code, screen = converse(["--db", two_patients.url, "log", "P0001", *VISIT], script,
                            tmp_path)
    assert code == (5 if last[1] == "n" else 130), screen
    assert "Traceback" not in screen
    assert two_patients.count("visit") == 0


def test_without_a_terminal_it_never_asks(two_patients):
    from tests.conftest import assert_refused

    assert_refused(two_patients.run("log", "P0001"), 2, "a visit needs at least one --point")
    assert_refused(two_patients.run("log", "P0001", "--same-as-last"), 2,
                   "a visit needs at least one --point")
    assert two_patients.count("visit") == 0
