"""Guided entry asks the procedure once per visit (the previous visit's answers offered) and
the trigger point's signs for each point (the previous point's offered); what the clinic
requires cannot be left unrecorded there either."""

import json

from tests.conftest import built_once
from tests.terminal import converse

SAVE = [("Note on the visit", ""), ("Save this visit?", "y")]


@built_once
def ada(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--point", "deltoid:L pre=5",
              "--consent", "written", "--time-out", "--needle", "25G 1.5in", "--no-aspirated")
    return clinic


def shown(clinic, visit_id):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)


def guided(clinic, tmp_path, script, *options):
    code, screen = converse(["--db", clinic.url, "log", "P0001", *options], script, tmp_path)
    assert "Traceback" not in screen
    return code, screen


def test_the_previous_visits_answers_are_offered_and_signs_default_to_the_last_point(
        ada, tmp_path):
    script = [("Visit date", ""), ("Conditions", ""),
              ("Consent [", ""), ("Time-out done", ""), ("Ultrasound guidance", "yes"),
              ("Needle (", ""), ("Aspirated before injecting", ""),
              ("Point 1 muscle", "deltoid"), ("side", "L"), ("pain before", "5"),
              ("twitch", ""), ("taut band", "yes"), ("jump sign", "no"),
              ("referred pain", "-"), ("pain after", "2"), ("soreness", ""),
              ("numbness", ""), ("drug", "saline"), ("volume", "1"), ("Another point?", "y"),
              ("Point 2 muscle", ""), ("side", "R"), ("pain before", "4"), ("twitch", ""),
              ("taut band", ""), ("jump sign", ""), ("referred pain", "yes"),
              ("pain after", "-"), ("soreness", ""), ("numbness", ""), ("drug", ""),
              ("volume", ""), ("Another point?", "n"), *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert "Consent [none/verbal/written/-] [written]" in screen
    assert "[25G 1.5in]" in screen
    visit = shown(ada, 2)
    assert visit["procedure"] == {"consent": "written", "time_out": True, "ultrasound": True,
                                  "needle_gauge": 25, "needle_length_mm": 38.1,
                                  "aspirated": False, "needle": "25G 38.1 mm (1.5 in)"}
    assert [(p["taut_band"], p["jump_sign"], p["referred_pain"]) for p in visit["points"]] \
        == [(True, False, None), (True, False, True)]


def test_options_are_not_asked_and_a_bad_answer_is_asked_again(ada, tmp_path):
    script = [("Visit date", ""), ("Conditions", ""),
              ("Time-out done", "maybe"), ("Time-out done", "no"),
              ("Ultrasound guidance", "-"), ("Needle (", "17G"), ("Needle (", "22G 40mm"),
              ("Aspirated before injecting", "y"),
              ("Point 1 muscle", "deltoid"), ("side", "L"), ("pain before", "5"),
              ("twitch", ""), ("taut band", ""), ("jump sign", ""), ("referred pain", ""),
              ("pain after", "2"), ("soreness", ""), ("numbness", ""), ("drug", "saline"),
              ("volume", "1"), ("Another point?", "n"), *SAVE]
    code, screen = guided(ada, tmp_path, script, "--consent", "verbal")
    assert code == 0, screen
    assert "Consent [" not in screen
    assert "time-out 'maybe' is not allowed; use yes or no" in screen
    assert "gauge 17G is not allowed" in screen
    procedure = shown(ada, 2)["procedure"]
    assert (procedure["consent"], procedure["time_out"], procedure["ultrasound"],
            procedure["needle"], procedure["aspirated"]) == ("verbal", False, None,
                                                             "22G 40 mm", True)


def test_what_the_clinic_requires_cannot_be_left_unrecorded(ada, tmp_path):
    ada.ok("config", "set", "required.consent", "true")
    ada.ok("config", "set", "required.needle", "true")
    script = [("Visit date", ""), ("Conditions", ""),
              ("Consent [", "-"), ("Consent [", "none"), ("Consent [", "verbal"),
              ("Time-out done", ""), ("Ultrasound guidance", ""),
              ("Needle (", "-"), ("Needle (", "27G"), ("Aspirated before injecting", ""),
              ("Point 1 muscle", "deltoid"), ("side", "L"), ("pain before", "5"),
              ("twitch", ""), ("taut band", ""), ("jump sign", ""), ("referred pain", ""),
              ("pain after", "2"), ("soreness", ""), ("numbness", ""), ("drug", "saline"),
              ("volume", "1"), ("Another point?", "n"), *SAVE]
    code, screen = guided(ada, tmp_path, script)
    assert code == 0, screen
    assert screen.count("this clinic requires consent on every visit") == 2
    assert "this clinic requires needle on every visit" in screen
    procedure = shown(ada, 2)["procedure"]
    assert (procedure["consent"], procedure["needle_gauge"]) == ("verbal", 27)


def test_ctrl_c_at_a_procedure_question_saves_nothing(ada, tmp_path):
    code, screen = guided(ada, tmp_path, [("Visit date", ""), ("Conditions", ""),
                                          ("Consent [", ""), ("Time-out done", ""),
                                          ("Ultrasound guidance", ""), ("Needle (", "\x03")])
    assert code == 130, screen
    assert ada.count("visit") == 1
