"""Reports filtered by patient, condition, muscle and practitioner (`summary`), visits found
across patients (`tplog visits`) and a patient's history by condition or muscle: every figure
checked against one computed by hand from the records below, as their latest revisions read."""

import json

import pytest

from tests.conftest import assert_refused, built_once


@built_once
def clinic3(clinic):
    """Three patients, two practitioners (one also typed in lower case), six visits: one
    voided, two corrected so that their first revision would match what the latest does not.

    As the latest revisions read (V = visit id):
      V1 P0001 2025-12-15 Dr A  fibromyalgia        piriformis L 6->3, gluteus-medius L 4->4
      V2 P0001 2026-01-10 Dr A  whiplash-initial    upper-trapezius R 8->4, piriformis R 5->2
      V3 P0002 2026-01-20 Dr B  fibromyalgia, low-back-pain   quadratus-lumborum L 9->3
         (its piriformis L 7->7 removed by a correction)
      V4 P0003 2026-02-05 dr b  myofascial-pain-other-site    piriformis R 10->5,
                                                              gluteus-maximus R 2->(none)
      V5 P0002 2026-02-05 Dr A  low-back-pain (corrected from neck-pain)
                                                              upper-trapezius L 3->0
      V6 P0003 2026-03-01 Dr B  fibromyalgia        piriformis L 4->2   VOIDED
    """
    for name in ("Ada Lovelace", "Grace Hopper", "Mary Somerville"):
        clinic.ok("patient", "add", name, "--dob", "1970-01-01")

    def log(mrn, date, who, conditions, *points):
        args = ["log", mrn, "--date", date, "--practitioner", who]
        for condition in conditions:
            args += ["--condition", condition]
        for point in points:
            args += ["--point", point]
        clinic.ok(*args)

    log("P0001", "2025-12-15", "Dr A", ["fibromyalgia"],
        "piriformis:L pre=6 post=3", "gluteus-medius:L pre=4 post=4")
    log("P0001", "2026-01-10", "Dr A", ["whiplash"],
        "upper-trapezius:R pre=8 post=4", "piriformis:R pre=5 post=2")
    log("P0002", "2026-01-20", "Dr B", ["fibromyalgia", "low-back-pain"],
        "piriformis:L pre=7 post=7", "quadratus-lumborum:L pre=9 post=3")
    log("P0003", "2026-02-05", "dr b", ["myofascial-pain"],
        "piriformis:R pre=10 post=5", "gluteus-maximus:R pre=2")
    log("P0002", "2026-02-05", "Dr A", ["M54.2"], "upper-trapezius:L pre=3 post=0")
    log("P0003", "2026-03-01", "Dr B", ["fibromyalgia"], "piriformis:L pre=4 post=2")
    clinic.ok("visit", "amend", "3", "--reason", "no piriformis injected", "--remove-point",
              "1")
    clinic.ok("visit", "amend", "5", "--reason", "diagnosis miscoded", "--condition",
              "low-back-pain")
    clinic.ok("visit", "void", "6", "--yes", "--reason", "entered for the wrong patient")
    return clinic


def summary(clinic, *args):
    return json.loads(clinic.ok("summary", *args, "--json").stdout)


def figures(clinic, *args):
    """(visits, points, mean pain before, mean pain after) of the one group `all`."""
    document = summary(clinic, *args)
    if not document["groups"]:
        return None
    (row,) = document["groups"]
    assert row["group"] == "all"
    return (row["visits"], row["points"], pytest.approx(row["mean_pain_before"]),
            None if row["mean_pain_after"] is None else pytest.approx(row["mean_pain_after"]))


def test_the_unfiltered_summary_is_the_ground_truth(clinic3):
    # 8 points: 6+4+8+5+9+10+2+3 = 47 before; 7 with a pain after: 3+4+4+2+3+5+0 = 21.
    assert figures(clinic3) == (5, 8, 47 / 8, 3.0)


@pytest.mark.parametrize(("args", "expected"), [
    # Only the piriformis points count: V1 6->3, V2 5->2, V4 10->5 (V3's was removed, V6
    # is voided).
    (["--muscle", "piriformis"], (3, 3, 21 / 3, 10 / 3)),
    # By name and in any case, as everywhere a muscle is typed.
    (["--muscle", "Piriformis"], (3, 3, 21 / 3, 10 / 3)),
    # V1 and V3, all their points: 6, 4 and 9 before; 3, 4 and 3 after.
    (["--condition", "fibromyalgia"], (2, 3, 19 / 3, 10 / 3)),
    # Entered as whiplash, stored as whiplash-initial: found by either, and by its code.
    (["--condition", "whiplash"], (1, 2, 13 / 2, 3.0)),
    (["--condition", "S13.4XXA"], (1, 2, 13 / 2, 3.0)),
    # Entered as myofascial-pain, stored as the region's key; its pain after is one point.
    (["--condition", "myofascial-pain"], (1, 2, 6.0, 5.0)),
    # V5's correction moved it from neck pain to low back pain.
    (["--condition", "low-back-pain"], (2, 2, 6.0, 1.5)),
    (["--condition", "M54.50"], (2, 2, 6.0, 1.5)),
    # Any case, and every spelling of the name that the visits hold ("Dr B" and "dr b").
    (["--practitioner", "dr a"], (3, 5, 26 / 5, 13 / 5)),
    (["--practitioner", "DR B"], (2, 3, 7.0, 4.0)),
    (["--patient", "P0001"], (2, 4, 23 / 4, 13 / 4)),
    (["--patient", "Lovelace"], (2, 4, 23 / 4, 13 / 4)),
    (["--patient", "P0003"], (1, 2, 6.0, 5.0)),  # V6 is voided
    # Combined: every filter must hold.
    (["--muscle", "piriformis", "--practitioner", "Dr A"], (2, 2, 5.5, 2.5)),
    (["--muscle", "piriformis", "--condition", "fibromyalgia"], (1, 1, 6.0, 3.0)),
    (["--muscle", "piriformis", "--condition", "fibromyalgia", "--include-void"],
     (2, 2, 5.0, 2.5)),
    (["--muscle", "piriformis", "--since", "2026-01-01"], (2, 2, 7.5, 3.5)),
    (["--patient", "lovelace", "--condition", "whiplash", "--muscle", "upper-trapezius"],
     (1, 1, 8.0, 4.0)),
    (["--patient", "P0002", "--practitioner", "dr b", "--until", "2026-01-31"],
     (1, 1, 9.0, 3.0)),
    (["--muscle", "piriformis", "--include-void"], (4, 4, 25 / 4, 3.0)),
])
def test_each_filter_alone_and_combined(clinic3, args, expected):
    assert figures(clinic3, *args) == expected


def test_filters_that_match_nothing_give_no_group(clinic3):
    assert figures(clinic3, "--condition", "neck-pain") is None  # corrected away
    assert figures(clinic3, "--patient", "P0002", "--muscle", "piriformis") is None
    assert "Summary" in clinic3.ok("summary", "--condition", "neck-pain").stdout


def test_the_muscle_filter_counts_its_points_in_every_figure(clinic3):
    (row,) = summary(clinic3, "--muscle", "piriformis")["groups"]
    # Of 6->3, 5->2, 10->5: the reduction of mean pain (21 - 10) / 21; the median of 50 %,
    # 60 % and 50 %; every point improved by 50 % or more.
    assert row["reduction_of_mean_percent"] == pytest.approx(1100 / 21)
    assert row["median_percent_reduction"] == pytest.approx(50.0)
    assert (row["share_30"], row["share_50"]) == (1.0, 1.0)


def test_the_document_says_which_filters_made_it(clinic3):
    document = summary(clinic3, "--patient", "lovelace", "--condition", "S13.4XXA",
                       "--muscle", "Upper trapezius", "--practitioner", " dr a ")
    assert {k: document[k] for k in ("mrn", "condition", "muscle", "practitioner")} == {
        "mrn": "P0001", "condition": "whiplash-initial", "muscle": "upper-trapezius",
        "practitioner": "dr a"}
    plain = summary(clinic3)
    assert [plain[k] for k in ("mrn", "condition", "muscle", "practitioner")] == [None] * 4


def test_filters_with_a_grouping(clinic3):
    people = {g["group"]: (g["visits"], g["points"])
              for g in summary(clinic3, "--muscle", "piriformis", "--by", "practitioner")
              ["groups"]}
    assert people == {"Dr A": (2, 2), "dr b": (1, 1)}
    # The visits treating fibromyalgia, grouped by every condition they record.
    conditions = {g["group"]: (g["visits"], g["points"])
                  for g in summary(clinic3, "--condition", "fibromyalgia", "--by",
                                   "condition")["groups"]}
    assert conditions == {"fibromyalgia": (2, 3), "low-back-pain": (1, 1)}


def visit_list(clinic, *args):
    return json.loads(clinic.ok("visits", *args, "--json").stdout)


def ids(clinic, *args):
    return [v["id"] for v in visit_list(clinic, *args)["visits"]]


def test_visits_by_muscle_since_a_date_newest_first(clinic3):
    assert ids(clinic3, "--muscle", "piriformis", "--since", "2026-01-01") == [4, 2]
    assert ids(clinic3, "--muscle", "piriformis", "--since", "2026-01-01",
               "--include-void") == [6, 4, 2]
    document = visit_list(clinic3, "--muscle", "piriformis", "--since", "2026-01-01")
    newest = document["visits"][0]
    assert (newest["visit_date"], newest["mrn"], newest["patient_name"],
            newest["practitioner"], newest["voided"]) == (
        "2026-02-05", "P0003", "Mary Somerville", "dr b", False)
    # Only the piriformis point of V4 (its gluteus maximus is left out): 10 -> 5.
    assert newest["sites"] == [{"muscle": "piriformis", "side": "R", "pain_before": 10,
                                "pain_after": 5}]
    assert (newest["mean_pain_before"], newest["mean_pain_after"],
            newest["reduction_of_mean_percent"], newest["band"]) == (10.0, 5.0, 50.0,
                                                                     "substantial")
    assert (document["total"], document["more"], document["muscle"]) == (2, 0, "piriformis")


def test_visits_of_every_patient_and_their_means(clinic3):
    # Same date: the later logged first.
    assert ids(clinic3) == [5, 4, 3, 2, 1]
    v4 = visit_list(clinic3)["visits"][1]
    assert [(s["muscle"], s["side"]) for s in v4["sites"]] == [("piriformis", "R"),
                                                              ("gluteus-maximus", "R")]
    # Before over both points, after over the one with a pain after; the reduction of mean
    # pain over the points with both: 10 -> 5.
    assert (v4["mean_pain_before"], v4["mean_pain_after"],
            v4["reduction_of_mean_percent"]) == (6.0, 5.0, 50.0)


def test_visits_by_condition_and_practitioner(clinic3):
    assert ids(clinic3, "--condition", "low-back-pain") == [5, 3]
    assert ids(clinic3, "--condition", "neck-pain") == []
    assert ids(clinic3, "--condition", "myofascial-pain") == [4]
    assert ids(clinic3, "--practitioner", "DR B") == [4, 3]
    assert ids(clinic3, "--practitioner", "Dr B", "--include-void") == [6, 4, 3]
    assert ids(clinic3, "--practitioner", "dr a", "--muscle", "piriformis",
               "--until", "2025-12-31") == [1]


def test_visits_are_limited_and_say_how_many_more(clinic3):
    document = visit_list(clinic3, "--limit", "2")
    assert [v["id"] for v in document["visits"]] == [5, 4]
    assert (document["total"], document["more"], document["limit"]) == (5, 3, 2)
    result = clinic3.ok("visits", "--limit", "2")
    assert "3 more visit(s) match" in result.stderr and "2 of 5 visit(s)" in result.stdout


def test_the_visits_table(clinic3):
    table = clinic3.ok("visits", "--muscle", "piriformis", "--include-void").stdout
    lines = table.splitlines()
    assert all(len(line) <= 80 for line in lines), table
    assert "6 void" in table and "Somerville" in table and "piriformis L" in table
    assert "gluteus" not in table and "10.0 → 5.0" in table
    assert table.index("6 void") < table.index("2026-02-05") < table.index("2025-12-15")
    assert "No visits match." in clinic3.ok("visits", "--since", "2027-01-01").stdout
    assert list(visit_list(clinic3)) == ["since", "until", "muscle", "condition",
                                         "practitioner", "include_void", "limit", "total",
                                         "more", "visits"]


def history_ids(clinic, mrn, *args):
    found = json.loads(clinic.ok("history", mrn, *args, "--json").stdout)
    return [v["id"] for v in found["visits"]]


def test_history_by_condition_and_muscle(clinic3):
    assert history_ids(clinic3, "P0001", "--condition", "whiplash") == [2]
    assert history_ids(clinic3, "P0001", "--condition", "fibromyalgia") == [1]
    assert history_ids(clinic3, "P0001", "--condition", "M79.7") == [1]
    assert history_ids(clinic3, "P0001", "--muscle", "piriformis") == [2, 1]
    assert history_ids(clinic3, "P0001", "--muscle", "piriformis", "--condition",
                       "fibromyalgia") == [1]
    # The corrections: V5 no longer records neck pain, V3 no longer injects the piriformis.
    assert history_ids(clinic3, "P0002", "--condition", "neck-pain") == []
    assert history_ids(clinic3, "P0002", "--condition", "low-back-pain") == [5, 3]
    assert history_ids(clinic3, "P0002", "--muscle", "piriformis") == []
    assert history_ids(clinic3, "P0003", "--condition", "fibromyalgia") == []  # voided
    assert history_ids(clinic3, "P0003", "--condition", "fibromyalgia",
                       "--include-void") == [6]


def test_an_older_key_is_found_by_the_condition_it_was_split_into(clinic3):
    # `migraine` is kept only because older visits hold it (G43.009, without aura).
    clinic3.ok("log", "P0001", "--date", "2026-03-10", "--practitioner", "Dr A",
               "--condition", "migraine-without-aura", "--point", "upper-trapezius:L pre=5")
    # As a visit logged before the split holds it (the guard lifted to write it so).
    as_before = ("UPDATE visit_condition SET condition = 'migraine' WHERE revision_id = "
                 "(SELECT max(id) FROM visit_revision)")
    clinic3.sql_script(["DROP TRIGGER tplog_no_update_visit_condition", as_before]
                       if clinic3.backend == "sqlite" else
                       ["ALTER TABLE visit_condition DISABLE TRIGGER tplog_append_only",
                        as_before,
                        "ALTER TABLE visit_condition ENABLE TRIGGER tplog_append_only"])
    assert clinic3.sql("SELECT count(*) FROM visit_condition WHERE condition = 'migraine'") \
        == [(1,)]
    assert ids(clinic3, "--condition", "migraine-without-aura") == [7]
    assert ids(clinic3, "--condition", "G43.009") == [7]
    assert ids(clinic3, "--condition", "migraine-with-aura") == []


@pytest.mark.parametrize(("args", "fragments"), [
    (["summary", "--muscle", "piriformus"], ["unknown muscle 'piriformus'", "piriformis"]),
    (["summary", "--condition", "M99.9"], ["unknown condition 'M99.9'"]),
    (["summary", "--condition", "migraine"], ["condition 'migraine' is not allowed",
                                              "migraine-without-aura"]),
    (["summary", "--practitioner", "Dr Z"], ["--practitioner 'Dr Z'",
                                             "no visit was logged by that practitioner",
                                             "did you mean"]),
    (["summary", "--practitioner", "Dr\x1b[2JA"], ["--practitioner", "control character"]),
    (["visits", "--muscle", "nosuch"], ["unknown muscle 'nosuch'"]),
    (["visits", "--condition", "fibro"], ["unknown condition 'fibro'", "fibromyalgia"]),
    (["visits", "--practitioner", "Dr"], ["--practitioner 'Dr'", "no visit was logged"]),
    (["visits", "--limit", "0"], ["--limit '0' is not allowed", "whole number from 1"]),
    (["visits", "--limit", "ten"], ["--limit 'ten' is not allowed"]),
    (["visits", "--since", "2026-02-30"], ["--since"]),
    (["history", "P0001", "--condition", "headache"], ["unknown condition 'headache'"]),
    (["history", "P0001", "--muscle", "glute"], ["unknown muscle 'glute'"]),
])
def test_bad_filter_values_are_refused(clinic3, args, fragments):
    before = clinic3.counts(), clinic3.count("audit_event")
    result = clinic3.run(*args)
    assert_refused(result, 2, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""
    assert (clinic3.counts(), clinic3.count("audit_event")) == before


def test_an_unknown_patient_is_a_missing_record(clinic3):
    assert_refused(clinic3.run("summary", "--patient", "P0099"), 1, "P0099")


@pytest.mark.parametrize("command", [["history", "P0001"], ["summary"], ["visits"],
                                     ["export", "--all"]], ids=" ".join)
def test_a_since_after_the_until_is_refused_naming_both(clinic3, command):
    """A period with no day in it is a typo, not a question with no answer."""
    before = clinic3.count("audit_event")
    result = clinic3.run(*command, "--since", "2026-03-02", "--until", "2026-03-01")
    assert_refused(result, 2, "--since 2026-03-02 is after --until 2026-03-01")
    assert result.stdout == "" and clinic3.count("audit_event") == before
    assert clinic3.ok(*command, "--since", "2026-03-01", "--until", "2026-03-01")
