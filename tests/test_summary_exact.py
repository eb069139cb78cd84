"""tplog summary's figures are the database's own, bit for bit: each float as the SQL
aggregate that defined it computes it (services.pain_cells adds them up from the points'
findings in Python), the median as each database defines it. And the adverse events' rate
is per the same points whatever the grouping."""

import json
import random
from fractions import Fraction

import pytest

from tests.conftest import built_once

# Each sign's key in a --point SPEC and its name (the column, the JSON key).
SIGNS = (("twitch", "twitch_response"), ("taut", "taut_band"), ("jump", "jump_sign"),
         ("referred", "referred_pain"))
MUSCLES = ("upper-trapezius", "deltoid", "rhomboids")


@built_once
def varied(clinic):
    """Points of every kind: pain 0-10 before and after (or none after, or worse after),
    each sign yes, no or not recorded; in masseter only, two % reductions whose mean the
    two databases round differently in the last bit (-900 % and -233.3 %)."""
    chance = random.Random(20261130)
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--weight-kg", "70")
    for visit in range(12):
        points = []
        for _ in range(chance.randint(1, 6)):
            spec = [f"{chance.choice(MUSCLES)}:{chance.choice('LR')}",
                    f"pre={chance.randint(0, 10)}"]
            if chance.random() < 0.8:
                spec.append(f"post={chance.randint(0, 10)}")
            spec += [f"{key}={chance.choice(('yes', 'no'))}" for key, _ in SIGNS
                     if chance.random() < 0.7]
            points += ["--point", " ".join(spec)]
        clinic.ok("log", "P0001", "--date", f"2026-01-{visit + 1:02d}",
                  "--practitioner", "Dr A", *points)
    clinic.ok("log", "P0001", "--date", "2026-02-01", "--practitioner", "Dr A",
              "--point", "masseter:L pre=1 post=10", "--point", "masseter:R pre=3 post=10")
    return clinic


def summary(clinic, *args):
    return json.loads(clinic.ok("summary", *args, "--json").stdout)


def as_float(value):
    return None if value is None else float(value)


def reference(clinic):
    """Per muscle, the figures as SQL aggregates over the points (every visit is in force)."""
    one, zero = "CAST(1 AS DOUBLE PRECISION)", "CAST(0 AS DOUBLE PRECISION)"

    def share(condition):
        return (f"avg(CASE WHEN pain_after IS NOT NULL THEN CASE WHEN {condition} "
                f"THEN {one} ELSE {zero} END END)")

    rows = clinic.sql(
        "SELECT muscle, avg(CAST(pain_before AS DOUBLE PRECISION)), "
        "avg(CAST(pain_after AS DOUBLE PRECISION)), "
        + share("pain_before > 0 AND (pain_before - pain_after) * 100 >= 30 * pain_before")
        + ", " + share("pain_before > 0 AND (pain_before - pain_after) * 100 >= 50 * pain_before")
        + ", " + share("pain_after > pain_before")
        + f", avg(CASE WHEN twitch_response IS NULL THEN NULL WHEN twitch_response THEN {one} "
        f"ELSE {zero} END) FROM injected_point GROUP BY muscle")
    figures = {row[0]: [as_float(value) for value in row[1:]] for row in rows}
    for muscle in figures:
        figures[muscle].append(median(clinic, muscle))
    return figures


def median(clinic, muscle):
    """The median % reduction as the database computes it: PostgreSQL's percentile_cont;
    on SQLite, the mean of the middle one or two."""
    percent = ("CAST(pain_before - pain_after AS DOUBLE PRECISION) * 100 / pain_before")
    defined = f"muscle = '{muscle}' AND pain_after IS NOT NULL AND pain_before > 0"
    if clinic.backend == "postgresql":
        return as_float(clinic.sql(
            f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {percent}) "
            f"FROM injected_point WHERE {defined}")[0][0])
    count = clinic.sql(f"SELECT count(*) FROM injected_point WHERE {defined}")[0][0]
    if count == 0:
        return None
    return as_float(clinic.sql(
        f"SELECT avg(p) FROM (SELECT {percent} AS p FROM injected_point WHERE {defined} "
        f"ORDER BY p LIMIT {2 - count % 2} OFFSET {(count - 1) // 2})")[0][0])


def test_each_figure_is_the_databases_own_to_the_last_bit(varied):
    expected = reference(varied)
    found = {g["group"]: [g["mean_pain_before"], g["mean_pain_after"], g["share_30"],
                          g["share_50"], g["share_worse"], g["twitch_rate"],
                          g["median_percent_reduction"]]
             for g in summary(varied, "--by", "muscle")["groups"]}
    assert found == expected  # floats compared exactly, not approximately
    # The case where the two databases' medians differ: each gets its own.
    low, high = -900.0, float(3 - 10) * 100 / 3
    assert found["masseter"][-1] == (low + 0.5 * (high - low) if varied.backend == "postgresql"
                                     else (low + high) / 2)


def test_the_reduction_of_mean_pain_with_and_without_each_sign_is_exact(varied):
    groups = {g["group"]: g for g in summary(varied, "--by", "muscle")["groups"]}
    for muscle, group in groups.items():
        for _, name in SIGNS:
            for key, recorded in (("with", 1), ("without", 0)):
                ((before, after),) = varied.sql(
                    f"SELECT sum(pain_before), sum(pain_after) FROM injected_point "
                    f"WHERE muscle = '{muscle}' AND pain_after IS NOT NULL "
                    f"AND CASE WHEN {name} THEN 1 WHEN NOT {name} THEN 0 END = {recorded}")
                exact = (None if before is None or before == 0
                         else float(Fraction(int(before) - int(after), int(before)) * 100))
                assert group["reduction_by_sign"][name][key] == exact, (muscle, name, key)


@pytest.mark.parametrize("filters", [[], ["--muscle", "deltoid"], ["--since", "2026-01-06"]])
def test_adverse_event_rates_are_per_the_same_points_whatever_the_grouping(varied, filters):
    varied.ok("event", "3", "vasovagal", "--on", "2026-01-03", "--yes",
              "--practitioner", "Dr A")
    varied.ok("event", "9", "haematoma", "--on", "2026-01-09", "--yes",
              "--practitioner", "Dr A")
    plain = summary(varied, *filters)["adverse_events"]
    assert plain and plain[-1]["points"] == sum(
        g["points"] for g in summary(varied, *filters)["groups"])
    for by in ("muscle", "region", "condition", "practitioner", "month", "drug"):
        assert summary(varied, "--by", by, *filters)["adverse_events"] == plain, by


def test_an_amended_or_voided_visit_counts_as_with_any_filter(varied):
    # Without a filter, the summary leaves out the revisions not in force (queries.left_out);
    # with one, it matches the points to the chosen revisions (queries.in_scope): the same
    # visits either way, the voided one back with --include-void.
    varied.ok("visit", "amend", "4", "--reason", "pain misread", "--remove-point", "1",
              "--add-point", "masseter:L pre=9 post=2 twitch=no")
    varied.ok("visit", "void", "7", "--reason", "wrong patient", "--yes")
    for extra in ([], ["--include-void"]):
        for by in ([], ["--by", "muscle"], ["--by", "practitioner"]):
            plain = summary(varied, *by, *extra)
            since = summary(varied, *by, *extra, "--since", "2000-01-01")
            assert plain["groups"] == since["groups"], (by, extra)
            assert plain["adverse_events"] == since["adverse_events"], (by, extra)
    assert (summary(varied, "--include-void")["groups"][0]["visits"]
            == summary(varied)["groups"][0]["visits"] + 1)
