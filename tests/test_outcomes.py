"""Outcomes, billing suggestions and dose rules, against hand-computed figures."""

import json

import pytest

from tplog import outcomes
from tplog.entry import percent_reduction


@pytest.mark.parametrize("before, after, percent, band", [
    (0, 0, None, None),           # undefined when pre is 0, never 0 %
    (0, 3, None, None),
    (7, None, None, None),        # no pain after recorded
    (10, 8, 20.0, "little"),
    (10, 7, 30.0, "moderate"),    # exactly 30 %
    (3, 2, 100 / 3, "moderate"),
    (6, 3, 50.0, "substantial"),  # exactly 50 %
    (8, 0, 100.0, "substantial"),
    (4, 6, -50.0, "little"),      # worse after
])
def test_percent_reduction_and_band(before, after, percent, band):
    assert percent_reduction(before, after) == (None if percent is None
                                                else pytest.approx(percent))
    assert outcomes.band(percent_reduction(before, after)) == band


@pytest.mark.parametrize("muscles, drugs, code, counted", [
    (["deltoid"], [None], "20552", 1),
    (["deltoid", "masseter"], [None, None], "20552", 2),
    (["deltoid", "masseter", "rhomboids"], [None] * 3, "20553", 3),
    (["deltoid", "deltoid", "masseter"], [None] * 3, "20552", 2),  # L and R of one muscle
    (["upper-trapezius", "lower-trapezius", "deltoid"], [None] * 3, "20552", 2),  # one muscle
    (["deltoid", "masseter", "rhomboids"], ["lidocaine-1", "saline", "dry-needling"],
     "20552", 2),  # dry needling injects nothing: not counted
])
def test_cpt_counts_distinct_muscles(muscles, drugs, code, counted):
    suggestion = outcomes.cpt_suggestion(muscles, drugs)
    assert suggestion is not None
    assert (suggestion.code, len(suggestion.muscles)) == (code, counted)
    assert "not a coverage determination" in suggestion.text


def test_no_cpt_when_nothing_was_injected():
    assert outcomes.cpt_suggestion(["deltoid"], ["dry-needling"]) is None


def test_dose_totals_for_mixed_drugs_and_volumes():
    points = [("lidocaine-1", 2.0), ("lidocaine-2", 1.5), ("bupivacaine-0.25", 4.0),
              ("saline", 3.0), ("lidocaine-0.5", None), (None, 2.0)]
    # 1 % = 10 mg/mL: 20 + 30 mg lidocaine; 0.25 % = 2.5 mg/mL: 10 mg bupivacaine.
    assert outcomes.dose_totals(points) == {"lidocaine": 50.0, "bupivacaine": 10.0}


@pytest.mark.parametrize("drug, ml, weight, limit, over", [
    # lidocaine 4.5 mg/kg: 60 kg -> 270 mg; lidocaine 2 % = 20 mg/mL
    ("lidocaine-2", 13.4, 60, 270, False),
    ("lidocaine-2", 13.5, 60, 270, False),  # exactly at the limit
    ("lidocaine-2", 13.6, 60, 270, True),
    # 80 kg -> 360 mg by weight, but the absolute maximum is 300 mg
    ("lidocaine-2", 15.0, 80, 300, False),
    ("lidocaine-2", 15.1, 80, 300, True),
    # weight unknown: a 50 kg adult, 225 mg
    ("lidocaine-2", 11.25, None, 225, False),
    ("lidocaine-2", 11.3, None, 225, True),
    # bupivacaine 2 mg/kg: 70 kg -> 140 mg; 0.5 % = 5 mg/mL
    ("bupivacaine-0.5", 28.0, 70, 140, False),
    ("bupivacaine-0.5", 28.2, 70, 140, True),
    # bupivacaine absolute 175 mg: 100 kg -> 200 by weight
    ("bupivacaine-0.5", 35.0, 100, 175, False),
    ("bupivacaine-0.5", 35.2, 100, 175, True),
    # ropivacaine 3 mg/kg: 70 kg -> 210, absolute 200 mg; 0.5 % = 5 mg/mL
    ("ropivacaine-0.5", 40.0, 70, 200, False),
    ("ropivacaine-0.5", 40.2, 70, 200, True),
    ("ropivacaine-0.2", 60.0, 50, 150, False),  # 120 mg under 150 mg
])
def test_dose_limits_at_below_and_above(drug, ml, weight, limit, over):
    (check,) = outcomes.dose_checks([(drug, ml)], weight)
    assert check.limit_mg == pytest.approx(limit)
    assert check.over is over
    assert ("mg/kg" in check.basis) or ("absolute maximum" in check.basis)


def test_limits_come_from_the_settings():
    limits = dict(outcomes.DEFAULT_DOSE_LIMITS)
    limits["lidocaine"] = outcomes.DoseLimit(4.0, 300, "local policy")
    (check,) = outcomes.dose_checks([("lidocaine-1", 25)], 60, limits)  # 250 mg > 240 mg
    assert check.over and check.limit_mg == 240 and "local policy" in check.basis


# --- through the CLI --------------------------------------------------------------------------

@pytest.fixture
def followed(clinic):
    clinic.ok("patient", "add", "Ada Lovelace")
    clinic.ok("patient", "add", "Grace Hopper")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--drug", "lidocaine-1", "--ml", "1",
              "--point", "deltoid:L pre=8 post=4 twitch=yes",   # 50 %
              "--point", "masseter:R pre=6 post=4 twitch=no")   # 33 %
    clinic.ok("log", "P0002", "--date", "2026-03-02", "--drug", "lidocaine-1",
              "--point", "rhomboids:L pre=5 post=4 twitch=yes")  # 20 %
    return clinic


def visit(clinic, number):
    return json.loads(clinic.ok("visit", "show", str(number), "--json").stdout)


def test_visit_json_has_bands_cpt_and_dose(followed):
    shown = visit(followed, 1)
    assert [p["band"] for p in shown["points"]] == ["substantial", "moderate"]
    assert shown["mean_percent_reduction"] == pytest.approx((50 + 100 / 3) / 2)
    assert shown["band"] == "moderate"
    assert shown["cpt"]["code"] == "20552" and shown["dose_totals_mg"] == {"lidocaine": 20.0}
    table = followed.ok("visit", "show", "1").stdout
    assert "CPT 20552 suggested" in table and "50% substantial" in table
    assert "Dose: lidocaine 20 mg in total" in table


def test_follow_ups_show_how_long_relief_lasted(followed):
    # Visit 1: mean pain before (8 + 6) / 2 = 7.
    followed.ok("followup", "1", "--pain", "3", "--on", "2026-03-08")  # 57 %: held
    followed.ok("followup", "1", "--pain", "4", "--on", "2026-03-15", "--note", "call")  # 43 %
    followed.ok("followup", "1", "--pain", "5", "--on", "2026-03-22")  # 29 %: gone
    followed.ok("followup", "2", "--pain", "5", "--on", "2026-03-09")  # 0 %
    shown = visit(followed, 1)
    assert [(f["days_after"], f["pain"]) for f in shown["follow_ups"]] == \
        [(7, 3), (14, 4), (21, 5)]
    assert shown["follow_ups"][1]["percent_relief"] == pytest.approx(300 / 7)
    assert shown["relief_days"] == 14
    assert visit(followed, 2)["relief_days"] == 0
    (overall,) = json.loads(followed.ok("summary", "--json").stdout)["groups"]
    assert overall["visits_followed_up"] == 2
    assert overall["mean_relief_days"] == pytest.approx(7.0)  # (14 + 0) / 2
    history = followed.ok("history", "P0001").stdout
    assert "Follow-up 2026-03-15 (14 days): pain 4/10, relief 43%" in history
    assert "lasted at least 14 day(s)" in history


def test_summary_splits_relief_by_twitch_and_groups_by_drug(followed):
    (overall,) = json.loads(followed.ok("summary", "--json").stdout)["groups"]
    assert overall["reduction_with_twitch"] == pytest.approx((50 + 20) / 2)
    assert overall["reduction_without_twitch"] == pytest.approx(100 / 3)
    assert overall["share_30"] == pytest.approx(2 / 3) and overall["share_50"] == \
        pytest.approx(1 / 3)
    groups = {g["group"]: g["points"]
              for g in json.loads(followed.ok("summary", "--by", "drug", "--json").stdout)
              ["groups"]}
    assert groups == {"lidocaine-1": 3}
    assert "Twitch response and lasting relief" in followed.ok("summary").stdout


@pytest.mark.parametrize("args, code, fragment", [
    (["1", "--pain", "11"], 2, "--pain '11' is not allowed"),
    (["1", "--pain", "3", "--on", "2026-02-28"], 2, "is before the visit (2026-03-01)"),
    (["1", "--pain", "3", "--on", "2999-01-01"], 2, "is in the future"),
    (["1", "--pain", "3", "--on", "soon"], 2, "--on 'soon' is not a date"),
    (["404", "--pain", "3"], 1, "no visit with id 404"),
])
def test_follow_up_refusals_write_nothing(followed, args, code, fragment):
    from tests.conftest import assert_refused

    assert_refused(followed.run("followup", *args), code, fragment)
    assert followed.count("follow_up") == 0


def test_follow_ups_are_audited(followed):
    followed.ok("followup", "1", "--pain", "3", "--on", "2026-03-08")
    events = json.loads(followed.ok("audit", "log", "--json").stdout)
    assert events[-1]["action"] == "visit.followup"
    assert "holds" in followed.ok("audit", "verify").stdout


def test_history_and_trend_show_pain_over_time(followed):
    followed.ok("log", "P0001", "--date", "2026-04-01", "--point", "deltoid:L pre=5 post=1",
                "--point", "deltoid:R pre=4")
    history = json.loads(followed.ok("history", "P0001", "--json").stdout)
    assert history["trend"] == [
        {"visit_date": "2026-03-01", "mean_pain_before": 7.0, "mean_pain_after": 4.0},
        {"visit_date": "2026-04-01", "mean_pain_before": 4.5, "mean_pain_after": 1.0}]
    assert "Pain trend, 2 visit(s)" in followed.ok("history", "P0001").stdout
    sites = json.loads(followed.ok("trend", "P0001", "--json").stdout)["sites"]
    by_site = {(s["muscle"], s["side"]): [(v["visit_date"], v["mean_pain_before"],
                                           v["mean_pain_after"]) for v in s["visits"]]
               for s in sites}
    assert by_site == {("deltoid", "L"): [("2026-03-01", 8.0, 4.0), ("2026-04-01", 5.0, 1.0)],
                       ("deltoid", "R"): [("2026-04-01", 4.0, None)],
                       ("masseter", "R"): [("2026-03-01", 6.0, 4.0)]}
    only = json.loads(followed.ok("trend", "P0001", "--muscle", "masseter", "--json").stdout)
    assert [s["muscle"] for s in only["sites"]] == ["masseter"]
    table = followed.ok("trend", "P0001").stdout
    assert "deltoid L" in table and "8 → 4" in table and "5 → 1" in table


def test_trend_refusals(followed):
    from tests.conftest import assert_refused

    assert_refused(followed.run("trend", "P0404"), 1, "no patient with MRN 'P0404'")
    assert_refused(followed.run("trend", "P0001", "--muscle", "deltiod"), 2,
                   "unknown muscle 'deltiod'")
