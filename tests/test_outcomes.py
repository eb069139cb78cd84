"""Outcomes, billing suggestions and dose rules, against hand-computed figures."""

import datetime as dt
import json
from fractions import Fraction

import pytest

from tests.conftest import built_once
from tplog import clinical
from tplog.clinical import percent_reduction


@pytest.mark.parametrize("before, after, percent, band", [
    (0, 0, None, None),           # undefined when pre is 0, never 0 %
    (0, 3, None, "worse"),        # % undefined, but pain rose
    (7, None, None, None),        # no pain after recorded
    (10, 8, 20.0, "little"),
    (10, 7, 30.0, "moderate"),    # exactly 30 %
    (3, 2, 100 / 3, "moderate"),
    (6, 3, 50.0, "substantial"),  # exactly 50 %
    (8, 0, 100.0, "substantial"),
    (5, 5, 0.0, "little"),        # no change
    (4, 6, -50.0, "worse"),       # worse after: its own band, not "little"
    (2, 7, -250.0, "worse"),
])
def test_percent_reduction_and_band(before, after, percent, band):
    assert percent_reduction(before, after) == (None if percent is None
                                                else pytest.approx(percent))
    assert clinical.band_of(before, after) == band


def test_fifty_percent_of_a_mean_is_substantial_exactly():
    # Means 10/3 -> 5/3: exactly 50 %, which float arithmetic puts at 49.999...
    change = clinical.change_of_mean([(3, 1), (3, 2), (4, 2)])
    assert change is not None and change.band == "substantial"
    assert change.percent == pytest.approx(50.0) and change.points == pytest.approx(-5 / 3)
    assert clinical.change_of_mean([(7, None)]) is None
    worse = clinical.change_of_mean([(4, 6), (2, 3)])
    assert worse is not None and worse.band == "worse" and worse.points == pytest.approx(1.5)


@pytest.mark.parametrize("follow_ups, lasted", [
    # Mean pain before 8; 30 % relief is pain <= 5.6.
    ([(7, 4), (14, 5)], 14),                  # held at both
    ([(7, 7), (51, 4)], 0),                   # lapsed at day 7 (12 %): a later 50 % is new
    ([(7, 4), (21, 7), (51, 4)], 7),          # the run stops at the first lapse
    ([(10, 8)], 0),
    ([], None),
])
def test_relief_lasts_for_the_unbroken_run(follow_ups, lasted):
    start = dt.date(2026, 1, 1)
    reported = [(start + dt.timedelta(days), pain) for days, pain in follow_ups]
    assert clinical.relief_lasted(8, start, reported) == lasted


def test_relief_is_undefined_without_pain_before():
    start = dt.date(2026, 1, 1)
    assert clinical.relief_lasted(0, start, [(start + dt.timedelta(7), 0)]) is None


def _codes(sites, **rules):
    return [(c.code, len(c.muscles)) for c in clinical.cpt_suggestions(sites, **rules)]


@pytest.mark.parametrize("sites, separately, codes", [
    ([("deltoid", "L", None)], True, [("20552", 1)]),
    ([("deltoid", "L", None), ("masseter", "R", None)], True, [("20552", 2)]),
    ([("deltoid", "L", None), ("masseter", "R", None), ("rhomboids", "L", None)], True,
     [("20553", 3)]),
    # Left and right of one muscle count as two (AAPC), or once where a payer says so.
    ([("upper-trapezius", "L", None), ("upper-trapezius", "R", None),
      ("levator-scapulae", "L", None)], True, [("20553", 3)]),
    ([("upper-trapezius", "L", None), ("upper-trapezius", "R", None),
      ("levator-scapulae", "L", None)], False, [("20552", 2)]),
    # The three parts of the trapezius on one side are one muscle.
    ([("upper-trapezius", "L", None), ("middle-trapezius", "L", None),
      ("lower-trapezius", "L", None)], True, [("20552", 1)]),
    # Dry needling: 20560 / 20561, beside the injection's code.
    ([("deltoid", "L", "lidocaine-1"), ("masseter", "R", "saline"),
      ("rhomboids", "L", "dry-needling")], True, [("20552", 2), ("20560", 1)]),
    ([("deltoid", "L", "dry-needling"), ("deltoid", "R", "dry-needling"),
      ("gastrocnemius", "L", "dry-needling")], True, [("20561", 3)]),
])
def test_cpt_counts_distinct_muscles(sites, separately, codes):
    assert _codes(sites, sides_separately=separately) == codes
    for suggestion in clinical.cpt_suggestions(sites, sides_separately=separately):
        assert "not a coverage determination" in suggestion.text
        assert ("count as two" if separately else "count once") in suggestion.text


def test_dose_totals_for_mixed_drugs_and_volumes():
    points = [("lidocaine-1", 2.0), ("lidocaine-2", 1.5), ("bupivacaine-0.25", 4.0),
              ("saline", 3.0), ("lidocaine-0.5", None), (None, 2.0)]
    # 1 % = 10 mg/mL: 20 + 30 mg lidocaine; 0.25 % = 2.5 mg/mL: 10 mg bupivacaine.
    assert clinical.dose_totals(points) == {"bupivacaine": 10, "lidocaine": 50}


DAY = dt.date(2026, 11, 30)
ADULT = dt.date(1970, 1, 1)


def _check(points, kg, born=ADULT, limits=clinical.DEFAULT_DOSE_LIMITS):
    weight = None if kg is None else clinical.Weight(kg, DAY)
    return clinical.check_dose(points, day=DAY, weight=weight, date_of_birth=born,
                               limits=limits)


@pytest.mark.parametrize("drug, ml, weight, limit, over", [
    # lidocaine 4.5 mg/kg: 60 kg -> 270 mg; lidocaine 2 % = 20 mg/mL
    ("lidocaine-2", 13.4, 60, 270, False),
    ("lidocaine-2", 13.5, 60, 270, False),  # exactly at the limit
    ("lidocaine-2", 13.6, 60, 270, True),
    # 80 kg -> 360 mg by weight, but the absolute maximum is 300 mg
    ("lidocaine-2", 15.0, 80, 300, False),
    ("lidocaine-2", 15.1, 80, 300, True),
    # weight unknown, an adult: 50 kg, 225 mg
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
    check = _check([(drug, ml)], weight)
    (dose,) = check.drugs
    assert dose.limit_mg == limit
    assert check.needs_confirmation is over
    assert ("mg/kg" in dose.basis) or ("absolute maximum" in dose.basis)


@pytest.mark.parametrize("points, combined", [
    # 60 kg: lidocaine limit 270 mg, bupivacaine 120 mg (2 mg/kg).
    # 1 % lidocaine 16.2 mL = 162 mg (0.6); 0.25 % bupivacaine 28.8 mL = 72 mg (0.6).
    ([("lidocaine-1", 16.2), ("bupivacaine-0.25", 28.8)], Fraction(6, 5)),
    # 0.6 + 0.4 = 1 exactly: within the limit.
    ([("lidocaine-1", 16.2), ("bupivacaine-0.25", 19.2)], Fraction(1)),
    # 0.6 + 0.39: just below.
    ([("lidocaine-1", 16.2), ("bupivacaine-0.25", 18.72)], Fraction(99, 100)),
    # Three drugs at 0.9 of their own limit each: 2.7 (ropivacaine 180 of 180 mg at 3 mg/kg).
    ([("lidocaine-1", 24.3), ("bupivacaine-0.25", 43.2), ("ropivacaine-0.5", 32.4)],
     Fraction(27, 10)),
    # Three drugs at a third each: exactly 1.
    ([("lidocaine-1", 9), ("bupivacaine-0.25", 16), ("ropivacaine-0.5", 12)], Fraction(1)),
    # Three drugs summing to 1.01: over.
    ([("lidocaine-1", 9), ("bupivacaine-0.25", 16), ("ropivacaine-0.5", 12.36)],
     Fraction(101, 100)),
])
def test_the_combined_fraction_adds_up_across_anaesthetics(points, combined):
    check = _check(points, 60)
    assert check.combined == combined
    assert check.needs_confirmation is (combined > 1)
    assert f"combined {float(combined):.2f}" in check.summary


def test_a_child_without_a_weight_has_no_limit_to_check_against():
    child = dt.date(2018, 6, 1)  # 8 years old on DAY
    check = _check([("lidocaine-1", 20)], None, born=child)
    assert check.needs_confirmation and check.combined is None
    assert "under 18" in (check.warning or "")
    # With no date of birth either: no adult default is assumed.
    assert _check([("lidocaine-1", 0.5)], None, born=None).needs_confirmation
    # A weighed child gets the weight-based limit: 23 kg -> 103.5 mg.
    weighed = _check([("lidocaine-1", 10)], 23, born=child)
    assert weighed.drugs[0].limit_mg == Fraction(207, 2) and not weighed.needs_confirmation
    # An adult without a weight: the 50 kg assumption, named.
    adult = _check([("lidocaine-1", 10)], None)
    assert "50 kg adult assumed" in adult.summary and not adult.needs_confirmation


def test_the_latest_weight_on_or_before_the_day_is_used():
    weights = [clinical.Weight(70, dt.date(2026, 1, 5)), clinical.Weight(64, dt.date(2026, 6, 1)),
               clinical.Weight(61, dt.date(2026, 12, 1))]
    # Before the first weight: the nearest, the first one after, named as such.
    assert clinical.weight_on(weights, dt.date(2026, 1, 4)).kg == 70
    assert clinical.weight_on([], dt.date(2026, 1, 4)) is None
    later = _check([("lidocaine-1", 1)], None)  # no weight at all: the 50 kg adult
    assert later.weight_note == "no weight on record, a 50 kg adult assumed"
    assert clinical.weight_on(weights, dt.date(2026, 1, 5)).kg == 70
    assert clinical.weight_on(weights, dt.date(2026, 11, 30)).kg == 64


def test_limits_come_from_the_settings():
    limits = dict(clinical.DEFAULT_DOSE_LIMITS)
    limits["lidocaine"] = clinical.DoseLimit(4.0, 300, "local policy")
    check = _check([("lidocaine-1", 25)], 60, limits=limits)  # 250 mg > 240 mg
    assert check.needs_confirmation and check.drugs[0].limit_mg == 240
    assert "local policy" in check.drugs[0].basis


# --- through the CLI --------------------------------------------------------------------------

@built_once
def followed(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1970-01-01")
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
    # Reduction of mean pain: means 7 -> 4, 3/7.
    assert shown["reduction_of_mean_percent"] == pytest.approx(300 / 7)
    assert shown["band"] == "moderate" and shown["mean_pain_change"] == pytest.approx(-3)
    assert [c["code"] for c in shown["cpt"]] == ["20552"]
    assert shown["dose_totals_mg"] == {"lidocaine": 20.0}
    # No weight on record for an adult: checked as a 50 kg adult (225 mg), and said so.
    assert shown["dose_check"]["drugs"][0]["limit_mg"] == 225
    assert "50 kg adult assumed" in shown["dose_check"]["weight"]
    table = followed.ok("visit", "show", "1").stdout
    assert "CPT 20552 (injection) suggested" in table and "50% substantial" in table
    assert "Dose: lidocaine 20 mg this visit" in table


def test_follow_ups_show_how_long_relief_lasted(followed):
    # Visit 1: mean pain before (8 + 6) / 2 = 7.
    followed.ok("followup", "1", "--yes", "--pain", "3", "--on", "2026-03-08")  # 57 %: held
    followed.ok("followup", "1", "--yes", "--pain", "4", "--on", "2026-03-15",
                "--note", "call")  # 43 %
    followed.ok("followup", "1", "--yes", "--pain", "5", "--on", "2026-03-22")  # 29 %: gone
    followed.ok("followup", "2", "--yes", "--pain", "5", "--on", "2026-03-09")  # 0 %
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
    # Reduction of mean pain: twitch yes 8 -> 4 and 5 -> 4, (13 - 8) / 13; no: 6 -> 4.
    assert overall["reduction_with_twitch"] == pytest.approx(500 / 13)
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
    followed.ok("followup", "1", "--yes", "--pain", "3", "--on", "2026-03-08")
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


@pytest.mark.parametrize("value, shown", [
    (66.67, 67), (29.5, 29), (29.99, 29), (30.0, 30), (49.6, 49), (50.0, 50), (37.5, 38),
    (-0.4, -1), (0.4, 0), (-250.0, -250), (100.0, 100)])
def test_a_shown_percentage_is_rounded_but_never_across_a_band(value, shown):
    assert clinical.whole_percent(value) == shown
