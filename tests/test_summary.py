"""tplog summary: figures computed in SQL, checked against hand-computed values."""

import json

import pytest

from tests.conftest import assert_refused, built_once


@built_once
def outcomes(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1970-01-01")
    # Per point % reduction: 50, 25, 30 (exactly), undefined (pre 0), undefined (no post)
    clinic.ok("log", "P0001", "--date", "2026-01-10", "--practitioner", "Dr A",
              "--condition", "myofascial-pain-head-neck",
              "--point", "upper-trapezius:L pre=8 post=4 twitch=yes",
              "--point", "deltoid:R pre=4 post=3 twitch=no")
    clinic.ok("log", "P0002", "--date", "2026-02-03", "--practitioner", "Dr B",
              "--condition", "myofascial-pain-head-neck", "--condition", "fibromyalgia",
              "--point", "upper-trapezius:R pre=10 post=7",
              "--point", "masseter:L pre=0 post=0 twitch=yes",
              "--point", "masseter:R pre=5")
    return clinic


def summary(clinic, *args):
    return json.loads(clinic.ok("summary", *args, "--json").stdout)


def test_overall_figures(outcomes):
    (row,) = summary(outcomes)["groups"]
    assert (row["group"], row["visits"], row["points"]) == ("all", 2, 5)
    assert row["mean_pain_before"] == pytest.approx((8 + 4 + 10 + 0 + 5) / 5)
    assert row["mean_pain_after"] == pytest.approx((4 + 3 + 7 + 0) / 4)
    # Reduction of mean pain over the points with a pain after: (22 - 14) / 22.
    assert row["reduction_of_mean_percent"] == pytest.approx(800 / 22)
    assert row["median_percent_reduction"] == pytest.approx(30.0)  # of 50, 25, 30
    # Of the 4 points with a pain after: 50 % and exactly 30 % (0 -> 0 is not improved).
    assert row["share_30"] == pytest.approx(2 / 4)
    assert row["share_50"] == pytest.approx(1 / 4)
    assert row["share_worse"] == 0.0
    assert row["twitch_rate"] == pytest.approx(2 / 3)  # 3 recorded, 2 yes


def test_by_muscle(outcomes):
    groups = {g["group"]: g for g in summary(outcomes, "--by", "muscle")["groups"]}
    assert set(groups) == {"upper-trapezius", "deltoid", "masseter"}
    # (8 + 10 - 4 - 7) / 18; the median of 50 % and 30 % is 40 %.
    assert groups["upper-trapezius"]["reduction_of_mean_percent"] == pytest.approx(700 / 18)
    assert groups["upper-trapezius"]["median_percent_reduction"] == pytest.approx(40.0)
    assert groups["masseter"]["reduction_of_mean_percent"] is None  # nothing defined
    assert groups["masseter"]["median_percent_reduction"] is None
    assert groups["masseter"]["share_30"] == 0.0  # 0 -> 0 had a pain after, no improvement
    assert groups["masseter"]["share_worse"] == 0.0
    assert groups["deltoid"]["twitch_rate"] == 0.0


def test_by_region_condition_practitioner_and_month(outcomes):
    regions = {g["group"]: g["points"] for g in summary(outcomes, "--by", "region")["groups"]}
    assert regions == {"neck": 2, "shoulder": 1, "head-face": 2}
    conditions = {g["group"]: (g["visits"], g["points"])
                  for g in summary(outcomes, "--by", "condition")["groups"]}
    assert conditions == {"myofascial-pain-head-neck": (2, 5), "fibromyalgia": (1, 3)}
    people = {g["group"]: g["visits"] for g in summary(outcomes, "--by", "practitioner")["groups"]}
    assert people == {"Dr A": 1, "Dr B": 1}
    months = [(g["group"], g["points"]) for g in summary(outcomes, "--by", "month")["groups"]]
    assert months == [("2026-01", 2), ("2026-02", 3)]


def test_date_range(outcomes):
    document = summary(outcomes, "--since", "2026-02-01", "--until", "2026-02-28")
    assert document["since"] == "2026-02-01" and document["groups"][0]["visits"] == 1


def test_table_output(outcomes):
    table = outcomes.ok("summary", "--by", "muscle").stdout
    assert "upper-trapezius" in table and "40%" in table and "Twitch" in table


def test_empty_database_has_no_groups(clinic):
    assert summary(clinic)["groups"] == []


def test_bad_group_is_refused(outcomes):
    assert_refused(outcomes.run("summary", "--by", "week"), 2, "--by 'week' is not allowed",
                   "muscle|region|condition|practitioner|month")
