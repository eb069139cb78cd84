"""Issue 11 through the real CLI: the day's combined dose, dated weights, children, the
thorax before saving, CPT per side and per day, bands, and diagnosis codes and their order.

Hand-computed figures: lidocaine 1 % is 10 mg/mL, bupivacaine 0.25 % 2.5 mg/mL, ropivacaine
0.5 % 5 mg/mL. For 60 kg the limits are lidocaine 270 mg (4.5 mg/kg), bupivacaine 120 mg
(2 mg/kg), ropivacaine 180 mg (3 mg/kg).
"""

import csv
import io
import json

import pytest

from tests.conftest import assert_refused, built_once
from tests.terminal import PROCEDURE, SIGNS, converse
from tplog import vocab


@built_once
def adult(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("patient", "weight", "P0001", "60", "--on", "2026-01-01")
    return clinic


def shown(clinic, visit_id=1):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)


# --- dose ------------------------------------------------------------------------------------

@pytest.mark.parametrize("points, over", [
    # 0.6 + 0.6 = 1.2: each drug alone is within its limit, together they are not.
    (["deltoid:L pre=5 drug=lidocaine-1 ml=16.2", "deltoid:R pre=5 drug=bupivacaine-0.25 ml=28.8"],
     True),
    # 0.6 + 0.4 = 1 exactly: within.
    (["deltoid:L pre=5 drug=lidocaine-1 ml=16.2", "deltoid:R pre=5 drug=bupivacaine-0.25 ml=19.2"],
     False),
    # Three drugs at 0.9 of their own limit each: 2.7.
    (["deltoid:L pre=5 drug=lidocaine-1 ml=24.3", "deltoid:R pre=5 drug=bupivacaine-0.25 ml=43.2",
      "masseter:L pre=5 drug=ropivacaine-0.5 ml=32.4"], True),
    # Three drugs at a third each: exactly 1.
    (["deltoid:L pre=5 drug=lidocaine-1 ml=9", "deltoid:R pre=5 drug=bupivacaine-0.25 ml=16",
      "masseter:L pre=5 drug=ropivacaine-0.5 ml=12"], False),
])
def test_anaesthetics_add_up(adult, points, over):
    args = [arg for spec in points for arg in ("--point", spec)]
    result = adult.run("log", "P0001", "--date", "2026-03-01", *args)
    if over:
        assert_refused(result, 5, "is over the limit", "toxicity adds up across anaesthetics",
                       "there is no terminal")
        assert adult.count("visit") == 0
    else:
        assert result.exit_code == 0, result.stderr
        assert "over the limit" not in result.stderr
        check = shown(adult)["dose_check"]
        assert check["combined_fraction"] == pytest.approx(1.0)
        assert {d["anaesthetic"] for d in check["drugs"]} >= {"lidocaine", "bupivacaine"}


def test_two_visits_on_one_day_are_one_session(adult):
    # 27 mL of 1 % = 270 mg: the whole day's limit in the first visit.
    adult.ok("log", "P0001", "--date", "2026-03-01", "--point",
             "deltoid:L pre=5 drug=lidocaine-1 ml=27")
    second = adult.run("log", "P0001", "--date", "2026-03-01", "--point",
                       "masseter:L pre=5 drug=lidocaine-1 ml=1")
    assert_refused(second, 5, "lidocaine 280 mg of 270 mg", "with visit(s) 1 the same day")
    assert adult.count("visit") == 1
    # The next day is a new session.
    adult.ok("log", "P0001", "--date", "2026-03-02", "--point",
             "masseter:L pre=5 drug=lidocaine-1 ml=1")
    saved = adult.ok("log", "P0001", "--date", "2026-03-01", "--yes", "--point",
                     "masseter:R pre=5 drug=lidocaine-1 ml=1")
    assert "with visit(s) 1 the same day" in saved.stderr
    day = shown(adult, 3)
    assert day["day_visits"] == [1, 3]
    assert day["dose_check"]["drugs"][0]["mg"] == 280 and day["dose_totals_mg"] == {
        "lidocaine": 10.0}
    # A voided visit no longer counts toward the day.
    adult.ok("visit", "void", "1", "--yes", "--reason", "entered in error")
    assert shown(adult, 3)["dose_check"]["drugs"][0]["mg"] == 10


def test_an_amended_visit_counts_once(adult):
    adult.ok("log", "P0001", "--date", "2026-03-01", "--point",
             "deltoid:L pre=5 drug=lidocaine-1 ml=20")  # 200 mg
    # Amended to 25 mL (250 mg): not 200 + 250.
    result = adult.ok("visit", "amend", "--replace-points",
                      "1", "--reason", "volume misread", "--point",
                      "deltoid:L pre=5 drug=lidocaine-1 ml=25")
    assert "over the limit" not in result.stderr
    refused = adult.run("visit", "amend", "--replace-points", "1", "--reason", "more", "--point",
                        "deltoid:L pre=5 drug=lidocaine-1 ml=28")  # 280 mg
    assert_refused(refused, 5, "lidocaine 280 mg of 270 mg")
    assert adult.count("visit_revision") == 2


def test_a_child_without_a_weight_needs_confirmation(clinic):
    clinic.ok("patient", "add", "Sam Child", "--dob", "2018-04-01")
    result = clinic.run("log", "P0001", "--date", "2026-03-01", "--point",
                        "deltoid:L pre=5 drug=lidocaine-1 ml=20")
    assert_refused(result, 5, "no dose limit to check against", "under 18",
                   "no weight on record")
    assert clinic.count("visit") == 0
    # Weighed, the child gets a weight-based limit: 23 kg x 4.5 = 103.5 mg.
    clinic.ok("patient", "weight", "P0001", "23", "--on", "2026-02-01")
    assert_refused(clinic.run("log", "P0001", "--date", "2026-03-01", "--point",
                              "deltoid:L pre=5 drug=lidocaine-1 ml=10.4"), 5,
                   "lidocaine 104 mg of 103.5 mg")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--point",
              "deltoid:L pre=5 drug=lidocaine-1 ml=10")


def test_no_date_of_birth_and_no_weight_needs_confirmation(clinic):
    clinic.ok("patient", "add", "Unknown Age")
    result = clinic.run("log", "P0001", "--point", "deltoid:L pre=5 drug=lidocaine-1 ml=1")
    assert_refused(result, 5, "no date of birth on record")
    saved = clinic.ok("log", "P0001", "--point", "deltoid:L pre=5 drug=lidocaine-1 ml=1",
                      "--yes")
    assert "no dose limit to check against" in saved.stderr
    # Saline carries no anaesthetic: nothing to confirm on a day without any.
    clinic.ok("log", "P0001", "--date", "2026-01-05", "--point",
              "deltoid:R pre=5 drug=saline ml=1")
    # But on the day of the lidocaine, the day's total still has no limit to check against.
    assert_refused(clinic.run("log", "P0001", "--point", "deltoid:R pre=5 drug=saline ml=1"),
                   5, "no dose limit to check against")


def test_dated_weights_pick_the_one_of_the_visit_day(adult):
    adult.ok("patient", "weight", "P0001", "80", "--on", "2026-06-01")
    # 2026-03-01: 60 kg -> 270 mg; 2026-07-01: 80 kg -> 360 by weight, 300 absolute.
    assert_refused(adult.run("log", "P0001", "--date", "2026-03-01", "--point",
                             "deltoid:L pre=5 drug=lidocaine-1 ml=28"), 5,
                   "60 kg weighed 2026-01-01")
    adult.ok("log", "P0001", "--date", "2026-07-01", "--point",
             "deltoid:L pre=5 drug=lidocaine-1 ml=28")
    check = shown(adult)["dose_check"]
    assert check["weight"] == "80 kg weighed 2026-06-01"
    assert check["drugs"][0]["limit_mg"] == 300
    assert json.loads(adult.ok("patient", "show", "P0001", "--json").stdout)["weight_kg"] == 80
    events = json.loads(adult.ok("audit", "log", "--json").stdout)
    assert [e["action"] for e in events].count("patient.weight") == 2
    assert "holds" in adult.ok("audit", "verify").stdout


@pytest.mark.parametrize("args, fragment", [
    (["640"], "weight '640' is not allowed; give kilograms from 2 to 300"),
    (["1.5"], "weight '1.5' is not allowed"),
    (["heavy"], "weight 'heavy' is not allowed"),
    (["60", "--on", "2999-01-01"], "is in the future"),
    (["60", "--on", "1960-01-01"], "is before P0001 was born (1970-01-01)"),
    (["60", "--on", "30/11/2026"], "--on '30/11/2026' is not a date"),
])
def test_a_bad_weight_is_refused_and_nothing_is_written(adult, args, fragment):
    before = adult.count("patient_weight"), adult.count("audit_event")
    assert_refused(adult.run("patient", "weight", "P0001", *args), 2, fragment)
    assert (adult.count("patient_weight"), adult.count("audit_event")) == before


def test_patient_add_refuses_a_weight_out_of_range(clinic):
    assert_refused(clinic.run("patient", "add", "Ada", "--weight-kg", "640"), 2,
                   "give kilograms from 2 to 300")
    assert clinic.count("patient") == 0


# --- the thorax ------------------------------------------------------------------------------

THORAX = sorted(m.key for m in vocab.MUSCLES if m.over_thorax)


def test_the_thorax_list_covers_what_the_issue_names():
    assert {"upper-trapezius", "middle-trapezius", "lower-trapezius", "rhomboids",
            "serratus-anterior", "intercostals", "anterior-scalene", "pectoralis-major",
            "pectoralis-minor", "latissimus-dorsi", "erector-spinae", "iliocostalis",
            "longissimus", "supraspinatus", "subscapularis"} <= set(THORAX)
    assert all(vocab.MUSCLE_BY_KEY[key].thorax_source for key in THORAX)
    assert not vocab.MUSCLE_BY_KEY["deltoid"].over_thorax


@pytest.mark.parametrize("muscle", THORAX)
def test_each_thorax_muscle_gets_the_caution(adult, muscle):
    result = adult.ok("log", "P0001", "--point", f"{muscle}:L pre=5")
    assert f"Caution: injected over the thorax ({muscle} L): pneumothorax risk" in \
        result.stderr
    assert "BOTH sides" not in result.stderr


def test_both_sides_of_the_chest_get_a_stronger_caution(adult):
    result = adult.ok("log", "P0001", "--point", "upper-trapezius:L pre=5",
                      "--point", "upper-trapezius:R pre=5")
    assert "BOTH sides of the chest in one visit" in result.stderr
    assert "BOTH sides of the chest" in adult.ok("visit", "show", "1").stdout


def test_guided_entry_shows_the_caution_before_asking_to_save(adult, tmp_path):
    script = [("Visit date", ""), ("Conditions", ""), *PROCEDURE,
              ("Point 1 muscle", "pectoralis-minor"), ("side", "L"), ("pain before", "6"),
              ("twitch", ""), *SIGNS, ("pain after", "-"), ("soreness", ""), ("numbness", ""),
              ("drug", "saline"), ("volume", "1"), ("Another point?", "n"),
              ("Note on the visit", ""), ("Save this visit?", "n")]
    code, screen = converse(["--db", adult.url, "log", "P0001"], script, tmp_path)
    assert code == 5
    caution = screen.index("Caution: injected over the thorax (pectoralis-minor L)")
    assert caution < screen.index("Save this visit?")
    assert adult.count("visit") == 0


# --- billing ---------------------------------------------------------------------------------

def _codes(clinic, visit_id=1):
    return [(c["code"], c["muscles"]) for c in shown(clinic, visit_id)["cpt"]]


def test_left_and_right_count_as_two_muscles(adult):
    adult.ok("log", "P0001", "--point", "upper-trapezius:L pre=5", "--point",
             "upper-trapezius:R pre=5", "--point", "levator-scapulae:L pre=5")
    assert _codes(adult) == [("20553", ["levator scapulae L", "trapezius L", "trapezius R"])]
    assert "left and right of a muscle count as two" in adult.ok("visit", "show", "1").stdout


def test_payers_that_count_sides_once_are_a_setting(adult, tmp_path, monkeypatch):
    monkeypatch.setenv("TPLOG_CONFIG", str(tmp_path / "config.toml"))
    adult.ok("config", "set", "checks.cpt_sides_count_separately", "false")
    adult.ok("log", "P0001", "--point", "upper-trapezius:L pre=5", "--point",
             "upper-trapezius:R pre=5", "--point", "levator-scapulae:L pre=5")
    assert _codes(adult) == [("20552", ["levator scapulae", "trapezius"])]
    assert "left and right of a muscle count once" in adult.ok("visit", "show", "1").stdout
    assert_refused(adult.run("config", "set", "checks.cpt_sides_count_separately", "maybe"),
                   2, "give true or false")


def test_the_three_trapezius_parts_on_one_side_are_one_muscle(adult):
    adult.ok("log", "P0001", "--point", "upper-trapezius:L pre=5", "--point",
             "middle-trapezius:L pre=5", "--point", "lower-trapezius:L pre=5")
    assert _codes(adult) == [("20552", ["trapezius L"])]


def test_dry_needling_gets_its_own_code_beside_the_injection(adult):
    adult.ok("log", "P0001", "--point", "deltoid:L pre=5 drug=lidocaine-1 ml=1",
             "--point", "gluteus-medius:L pre=5 drug=dry-needling",
             "--point", "gluteus-medius:R pre=5 drug=dry-needling",
             "--point", "piriformis:L pre=5 drug=dry-needling")
    assert _codes(adult) == [("20552", ["deltoid L"]),
                             ("20561", ["gluteus medius L", "gluteus medius R",
                                        "piriformis L"])]


def test_one_code_for_the_patient_s_day(adult):
    adult.ok("log", "P0001", "--date", "2026-03-01", "--point", "deltoid:L pre=5",
             "--point", "masseter:L pre=5")
    result = adult.ok("log", "P0001", "--date", "2026-03-01", "--point", "rhomboids:L pre=5")
    assert "CPT 20553 (injection) suggested for the day (visits 1, 2" in result.stdout
    # Both visits now show the day's one code, never a second one.
    assert _codes(adult, 1) == _codes(adult, 2) == [
        ("20553", ["deltoid L", "masseter L", "rhomboids L"])]
    history = adult.ok("history", "P0001").stdout
    assert "20552" not in history


# --- outcomes --------------------------------------------------------------------------------

def test_worse_is_its_own_band_with_the_points_beside_it(adult):
    adult.ok("log", "P0001", "--point", "deltoid:L pre=4 post=6")
    visit = shown(adult)
    assert visit["points"][0]["band"] == "worse" and visit["band"] == "worse"
    assert visit["mean_pain_change"] == 2
    table = adult.ok("visit", "show", "1").stdout
    assert "4 → 6 (+2)" in table and "-50% worse" in table


def test_a_mean_of_exactly_fifty_percent_is_substantial(adult):
    # Means 10/3 -> 5/3: exactly 50 %.
    adult.ok("log", "P0001", "--point", "deltoid:L pre=3 post=1", "--point",
             "deltoid:R pre=3 post=2", "--point", "masseter:L pre=4 post=2")
    assert shown(adult)["band"] == "substantial"
    (row,) = json.loads(adult.ok("summary", "--json").stdout)["groups"]
    assert row["reduction_of_mean_percent"] == pytest.approx(50.0)
    assert row["share_50"] == pytest.approx(2 / 3)


def test_one_swapped_entry_does_not_ruin_a_muscle_s_summary(adult):
    for pre, post in ((8, 4), (7, 3), (6, 3), (2, 7)):  # the last: pre and post swapped
        adult.ok("log", "P0001", "--yes", "--point", f"upper-trapezius:L pre={pre} post={post}")
    (row,) = json.loads(adult.ok("summary", "--json").stdout)["groups"]
    # Means 23/4 -> 17/4: 26 %, where the mean of percentages would be -28 %.
    assert row["reduction_of_mean_percent"] == pytest.approx(600 / 23)
    # Per point: 50 %, 57 %, 50 %, -250 %: the median is 50 %.
    assert row["median_percent_reduction"] == pytest.approx(50.0)
    assert row["share_worse"] == pytest.approx(1 / 4)


def test_relief_that_lapsed_is_not_extended_by_a_later_follow_up(adult):
    adult.ok("log", "P0001", "--date", "2026-01-10", "--point", "deltoid:L pre=8 post=2")
    adult.ok("followup", "1", "--yes", "--pain", "7", "--on", "2026-01-17")  # 12 %: lapsed
    adult.ok("followup", "1", "--yes", "--pain", "4", "--on", "2026-03-02")  # 50 %, 51 days later
    assert shown(adult)["relief_days"] == 0
    (row,) = json.loads(adult.ok("summary", "--json").stdout)["groups"]
    assert row["mean_relief_days"] == 0


def test_relief_is_undefined_when_there_was_no_pain_before(adult):
    adult.ok("log", "P0001", "--date", "2026-01-10", "--point", "deltoid:L pre=0 post=0")
    adult.ok("followup", "1", "--yes", "--pain", "0", "--on", "2026-01-17")
    assert shown(adult)["relief_days"] is None
    assert "Relief: undefined" in adult.ok("visit", "show", "1").stdout
    (row,) = json.loads(adult.ok("summary", "--json").stdout)["groups"]
    # Followed up, but how long relief lasted is undefined: out of the mean, not 0.
    assert row["visits_followed_up"] == 1 and row["mean_relief_days"] is None


# --- diagnosis codes -------------------------------------------------------------------------

def _conditions(clinic, visit_id=1):
    return [(c["key"], c["icd10"]) for c in shown(clinic, visit_id)["conditions"]]


def test_whiplash_takes_its_seventh_character(adult):
    adult.ok("log", "P0001", "--date", "2026-01-10", "-c", "whiplash", "--point",
             "sternocleidomastoid:L pre=6")
    adult.ok("log", "P0001", "--date", "2026-02-10", "-c", "whiplash", "--point",
             "sternocleidomastoid:L pre=5")
    adult.ok("log", "P0001", "--date", "2026-06-10", "-c", "whiplash", "--encounter",
             "SEQUELA", "--point", "sternocleidomastoid:L pre=4")
    assert _conditions(adult, 1) == [("whiplash-initial", "S13.4XXA")]
    assert _conditions(adult, 2) == [("whiplash-subsequent", "S13.4XXD")]
    assert _conditions(adult, 3) == [("whiplash-sequela", "S13.4XXS")]
    result = adult.run("log", "P0001", "-c", "whiplash", "--encounter", "later", "--point",
                       "sternocleidomastoid:L pre=4")
    assert_refused(result, 2, "--encounter 'later' is not allowed; use "
                              "initial|subsequent|sequela")
    assert len(result.stderr.strip().splitlines()) == 1
    assert adult.count("visit") == 3


def test_migraine_says_whether_with_aura(adult):
    adult.ok("log", "P0001", "-c", "migraine-with-aura", "-c", "G43.009", "--point",
             "temporalis:L pre=5")
    assert _conditions(adult) == [("migraine-with-aura", "G43.109"),
                                  ("migraine-without-aura", "G43.009")]
    assert_refused(adult.run("log", "P0001", "-c", "migraine", "--point", "temporalis:L pre=5"),
                   2, "condition 'migraine' is not allowed",
                   "enter migraine-with-aura or migraine-without-aura")
    assert adult.count("visit") == 1


def test_myofascial_pain_is_coded_by_the_regions_injected(adult):
    adult.ok("log", "P0001", "-c", "myofascial-pain", "--point", "masseter:L pre=5",
             "--point", "gluteus-medius:R pre=5", "--point", "upper-trapezius:L pre=5",
             "--point", "temporalis:R pre=5")
    assert _conditions(adult) == [("myofascial-pain-mastication", "M79.11"),
                                  ("myofascial-pain-other-site", "M79.18"),
                                  ("myofascial-pain-head-neck", "M79.12")]


@pytest.mark.parametrize("code, key", [("M79.12", "myofascial-pain-head-neck"),
                                       ("m79.18", "myofascial-pain-other-site"),
                                       ("G44.229", "tension-headache-chronic"),
                                       ("S13.4XXS", "whiplash-sequela")])
def test_a_condition_may_be_given_by_its_code(adult, code, key):
    adult.ok("log", "P0001", "-c", code, "--point", "deltoid:L pre=5")
    assert _conditions(adult)[0][0] == key


def test_an_unknown_code_is_refused(adult):
    assert_refused(adult.run("log", "P0001", "-c", "M99.99", "--point", "deltoid:L pre=5"), 2,
                   "unknown condition 'M99.99'")
    assert adult.count("visit") == 0


def test_conditions_keep_their_order_everywhere(adult, tmp_path):
    order = ["neck-pain", "fibromyalgia", "chronic-pelvic-pain"]  # not alphabetical
    adult.ok("log", "P0001", "--date", "2026-03-01", *[a for c in order for a in ("-c", c)],
             "--point", "deltoid:L pre=5")
    assert [k for k, _ in _conditions(adult)] == order
    history = json.loads(adult.ok("history", "P0001", "--json").stdout)
    assert [c["key"] for c in history["visits"][0]["conditions"]] == order
    table = adult.ok("visit", "show", "1").stdout
    assert table.index("Neck pain") < table.index("Fibromyalgia") < table.index("Chronic")
    exported = adult.ok("export", "P0001", "-f", "csv").stdout
    (row, *_) = csv.DictReader(io.StringIO(exported))
    assert row["conditions"] == ";".join(order)
    document = json.loads(adult.ok("export", "P0001", "-f", "json").stdout)
    assert [c["key"] for c in document["patients"][0]["visits"][0]["conditions"]] == order
    bundle = json.loads(adult.ok("export", "P0001", "-f", "fhir").stdout)
    (encounter,) = [e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Encounter"]
    assert [r["text"] for r in encounter["reasonCode"]][:2] == [
        vocab.CONDITION_BY_KEY[k].name for k in order[:2]]
    for fmt in ("html", "md"):
        page = adult.ok("export", "P0001", "-f", fmt).stdout
        assert page.index("Neck pain") < page.index("Fibromyalgia") < page.index("Chronic pelv")
    # Amended in another order: the new order holds.
    adult.ok("visit", "amend", "1", "--reason", "primary diagnosis", "-c", "fibromyalgia",
             "-c", "neck-pain")
    assert [k for k, _ in _conditions(adult)] == ["fibromyalgia", "neck-pain"]
    # Imported into a new database, the order survives the round trip.
    path = tmp_path / "visits.csv"
    path.write_text(exported)
    other = str(tmp_path / "other.db")
    from typer.testing import CliRunner

    from tplog.cli import app

    result = CliRunner().invoke(app, ["--db", other, "import", str(path)])
    assert result.exit_code == 0, result.stderr
    moved = json.loads(CliRunner().invoke(app, ["--db", other, "visit", "show", "1",
                                                "--json"]).stdout)
    assert [c["key"] for c in moved["conditions"]] == order


# --- repeat injections -----------------------------------------------------------------------

def _repeat(clinic, date, *points):
    result = clinic.ok("log", "P0001", "--date", date,
                       *[a for p in points for a in ("--point", p)])
    return result.stderr


def test_a_repeat_without_documented_relief_is_flagged(adult):
    _repeat(adult, "2026-01-05", "deltoid:L pre=8 post=2", "masseter:R pre=4")
    warned = _repeat(adult, "2026-03-01", "deltoid:L pre=7")
    assert ("repeat injection of deltoid L: visit 1 (2026-01-05) has no follow-up documenting "
            ">= 50 % relief lasting >= 42 days") in warned
    assert "CMS LCD L39661" in warned and "no follow-up was recorded" in warned
    assert "repeat" in [w["kind"] for w in shown(adult, 2)["warnings"]]
    # Another site is no repeat.
    assert "repeat injection" not in _repeat(adult, "2026-03-02", "rhomboids:L pre=5")


def test_relief_that_lasted_six_weeks_documents_the_repeat(adult):
    _repeat(adult, "2026-01-05", "deltoid:L pre=8 post=2")
    # Mean before 8: pain 4 is 50 %, held at 21 and 45 days.
    adult.ok("followup", "1", "--yes", "--pain", "3", "--on", "2026-01-26")
    adult.ok("followup", "1", "--yes", "--pain", "4", "--on", "2026-02-19")
    assert "repeat injection" not in _repeat(adult, "2026-03-01", "deltoid:L pre=7")


def test_relief_too_short_for_the_criterion_is_flagged_and_the_criterion_is_configurable(
        adult, tmp_path, monkeypatch):
    _repeat(adult, "2026-01-05", "deltoid:L pre=8 post=2")
    adult.ok("followup", "1", "--yes", "--pain", "2", "--on", "2026-02-04")  # 75 % at 30 days
    adult.ok("followup", "1", "--yes", "--pain", "6", "--on", "2026-02-25")  # 25 % at 51: lapsed
    warned = _repeat(adult, "2026-03-01", "deltoid:L pre=7")
    assert "relief of >= 50 % lasted 30 day(s)" in warned
    adult.ok("visit", "void", "2", "--yes", "--reason", "to try the criterion")
    config = tmp_path / "config.toml"
    config.write_text("[checks]\nrepeat_relief_days = 28\n")
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    assert "repeat injection" not in _repeat(adult, "2026-03-02", "deltoid:L pre=7")
    config.write_text("[checks]\nrepeat_relief_days = 0\n")
    assert_refused(adult.run("log", "P0001", "--point", "deltoid:L pre=7"), 2,
                   "checks.repeat_relief_days = 0 is not allowed")


def test_the_latest_earlier_visit_that_injected_the_site_decides(adult):
    """Not an older visit whose relief was documented, nor a newer one at other sites or on
    the other side; a visit being corrected is not weighed against itself."""
    _repeat(adult, "2026-01-05", "deltoid:L pre=8 post=2")
    adult.ok("followup", "1", "--yes", "--pain", "3", "--on", "2026-01-26")
    adult.ok("followup", "1", "--yes", "--pain", "4", "--on", "2026-02-19")  # documented
    assert "repeat injection" not in _repeat(adult, "2026-02-20", "deltoid:L pre=6")
    _repeat(adult, "2026-02-25", "deltoid:R pre=6", "rhomboids:L pre=5")
    warned = _repeat(adult, "2026-03-01", "deltoid:L pre=7", "rhomboids:R pre=4")
    assert ("repeat injection of deltoid L: visit 2 (2026-02-20) has no follow-up "
            "documenting") in warned
    assert "rhomboids" not in warned.split("repeat injection")[1].split("\n")[0]
    # Visit 2 corrected: weighed against visit 1 (documented), not against itself.
    amended = adult.ok("visit", "amend", "--replace-points", "2", "--reason", "pain misread",
                       "--point", "deltoid:L pre=7")
    assert "repeat injection" not in amended.stderr
    # Voided, visits 4 and 2 no longer count: visit 1's relief documents the repeat.
    for visit in ("4", "2"):
        adult.ok("visit", "void", visit, "--yes", "--reason", "entered in error")
    assert "repeat injection" not in _repeat(adult, "2026-03-02", "deltoid:L pre=7")


def test_each_site_is_weighed_against_its_own_latest_injection(adult):
    """Found by a hostile trial: the visit that last injected any of the sites decided for
    all of them, so a site last injected without documented relief went unflagged."""
    _repeat(adult, "2026-01-05", "upper-trapezius:L pre=8")  # visit 1: no follow-up
    _repeat(adult, "2026-03-01", "levator-scapulae:R pre=8")  # visit 2: relief documented
    adult.ok("followup", "2", "--yes", "--pain", "2", "--on", "2026-03-15")
    adult.ok("followup", "2", "--yes", "--pain", "2", "--on", "2026-04-20")
    warned = _repeat(adult, "2026-06-01", "upper-trapezius:L pre=8", "levator-scapulae:R pre=8")
    assert ("repeat injection of upper-trapezius L: visit 1 (2026-01-05) has no follow-up "
            "documenting") in warned
    assert "levator-scapulae R:" not in warned and "visit 2 (" not in warned
    # Two sites last injected at two undocumented visits: each visit named with its sites.
    warned = _repeat(adult, "2026-07-01", "upper-trapezius:L pre=6", "levator-scapulae:R pre=6",
                     "masseter:R pre=5")
    assert "repeat injection of levator-scapulae R, upper-trapezius L: visit 3 (2026-06-01)" \
        in warned
    assert "masseter" not in warned.split("Warning: repeat")[1]
    assert [w["kind"] for w in shown(adult, 4)["warnings"]].count("repeat") == 1


def test_relief_reported_after_the_repeat_does_not_document_it(adult):
    """Found by a hostile trial: a follow-up dated after the repeat counted as relief that
    preceded it (a visit logged late, a follow-up entered for a later date)."""
    _repeat(adult, "2026-01-05", "deltoid:L pre=8")
    adult.ok("followup", "1", "--yes", "--pain", "2", "--on", "2026-01-19")
    adult.ok("followup", "1", "--yes", "--pain", "2", "--on", "2026-02-24")  # 50 days
    warned = _repeat(adult, "2026-02-01", "deltoid:L pre=8")  # 27 days after visit 1
    assert "visit 1 (2026-01-05) has no follow-up documenting" in warned
    assert "relief of >= 50 % lasted 14 day(s)" in warned
    _repeat(adult, "2026-03-01", "masseter:L pre=8")  # visit 3
    adult.ok("followup", "3", "--yes", "--pain", "2", "--on", "2026-05-01")
    warned = _repeat(adult, "2026-04-01", "masseter:L pre=8")
    assert "no follow-up was recorded by 2026-04-01" in warned
    # A repeat after both of visit 1's follow-ups: its 50 days document it (visit 2, the
    # deltoid's later injection, voided).
    adult.ok("visit", "void", "2", "--yes", "--reason", "entered in error")
    assert "repeat injection" not in _repeat(adult, "2026-03-02", "deltoid:L pre=8")


def test_a_visit_is_not_moved_past_its_own_follow_ups_or_events(adult):
    """Found by a hostile trial: `visit amend --date` moved a visit past its follow-ups, which
    then read as relief before the injection (\"relief lasted -14 day(s)\")."""
    _repeat(adult, "2026-01-05", "deltoid:L pre=8")
    adult.ok("followup", "1", "--yes", "--pain", "3", "--on", "2026-01-20")
    before = adult.count("visit_revision"), adult.count("audit_event")
    assert_refused(adult.run("visit", "amend", "1", "--reason", "date misread", "--date",
                             "2026-01-21", "--yes"), 2,
                   "date 2026-01-21 is after this visit's follow-up or adverse event of "
                   "2026-01-20; give a date on or before 2026-01-20")
    assert (adult.count("visit_revision"), adult.count("audit_event")) == before
    adult.ok("visit", "amend", "1", "--reason", "date misread", "--date", "2026-01-20")
    adult.ok("event", "1", "vasovagal", "--on", "2026-01-20", "--yes")
    _repeat(adult, "2026-02-01", "masseter:R pre=5")  # visit 2
    adult.ok("event", "2", "vasovagal", "--on", "2026-02-02", "--yes")
    assert_refused(adult.run("visit", "amend", "2", "--reason", "date misread", "--date",
                             "2026-02-03"), 2, "adverse event of 2026-02-02")


# --- found by a clinician's trial ------------------------------------------------------------

def test_a_weight_recorded_after_a_late_logged_visit_is_used_and_named(clinic):
    # Added today with 40 kg; the visit was ten days ago. 200 mg lidocaine is over 180 mg.
    clinic.ok("patient", "add", "Tina Small", "--dob", "1980-01-01", "--weight-kg", "40")
    result = clinic.run("log", "P0001", "--date", "2026-01-10", "--point",
                        "gluteus-medius:L pre=6 drug=lidocaine-1 ml=20")
    assert_refused(result, 5, "lidocaine 200 mg of 180 mg",
                   "after this day: the nearest weight on record")
    assert "no weight on record" not in result.stderr


def test_a_dose_over_the_limit_by_later_records_is_marked_unconfirmed(clinic):
    clinic.ok("patient", "add", "Tina Small", "--dob", "1980-01-01")
    clinic.ok("log", "P0001", "--date", "2026-01-10", "--point",
              "gluteus-medius:L pre=6 drug=lidocaine-1 ml=20")  # 200 mg of a 50 kg adult's 225
    clinic.ok("patient", "weight", "P0001", "40", "--on", "2026-01-05")  # then the real weight
    check = shown(clinic)["dose_check"]
    assert check["needs_confirmation"] and check["unconfirmed"]
    assert "NOT CONFIRMED" in clinic.ok("visit", "show", "1").stdout


def test_moving_a_visit_to_another_day_checks_that_day_again(adult):
    adult.ok("log", "P0001", "--date", "2026-03-01", "--point",
             "deltoid:L pre=5 drug=lidocaine-1 ml=27")  # the whole day's 270 mg
    adult.ok("log", "P0001", "--date", "2026-03-02", "--point",
             "deltoid:R pre=5 drug=lidocaine-1 ml=1")
    refused = adult.run("visit", "amend", "2", "--reason", "wrong date", "--date", "2026-03-01")
    assert_refused(refused, 5, "lidocaine 280 mg of 270 mg", "with visit(s) 1 the same day")
    assert adult.count("visit_revision") == 2
    adult.ok("visit", "amend", "2", "--reason", "wrong date", "--date", "2026-03-01", "--yes")
    (dose,) = [w for w in shown(adult, 2)["warnings"] if w["kind"] == "dose"]
    assert "with visit(s) 1 the same day" in dose["message"]
    assert dose["confirmation"] == "confirmed with --yes"


def test_exports_give_one_code_and_one_dose_for_the_day(adult):
    adult.ok("log", "P0001", "--date", "2026-03-01", "--point",
             "deltoid:L pre=5 drug=lidocaine-1 ml=20", "--point", "masseter:L pre=5")
    adult.ok("log", "P0001", "--date", "2026-03-01", "--yes", "--point",
             "rhomboids:L pre=5 drug=lidocaine-1 ml=8")
    document = json.loads(adult.ok("export", "P0001", "-f", "json").stdout)
    first, second = document["patients"][0]["visits"]
    assert [c["code"] for c in first["cpt"]] == [c["code"] for c in second["cpt"]] == ["20553"]
    assert first["dose_check"]["drugs"][0]["mg"] == second["dose_check"]["drugs"][0]["mg"] \
        == 280
    single = json.loads(adult.ok("export", "--visit", "2", "-f", "json").stdout)
    (alone,) = single["patients"][0]["visits"]
    assert [c["code"] for c in alone["cpt"]] == ["20553"]
    assert alone["dose_check"]["combined_fraction"] == pytest.approx(280 / 270)
    page = adult.ok("export", "P0001", "-f", "md").stdout
    assert "20552" not in page and page.count("CPT 20553") == 2


@pytest.mark.parametrize("key, value, fragment", [
    ("dose_limits.lidocaine.max_mg", "inf", "give a number above 0"),
    ("dose_limits.lidocaine.mg_per_kg", "nan", "is not allowed"),
    ("checks.repeat_relief_percent", "150", "give a whole number from 1 to 100"),
])
def test_impossible_settings_are_refused(adult, tmp_path, monkeypatch, key, value, fragment):
    monkeypatch.setenv("TPLOG_CONFIG", str(tmp_path / "config.toml"))
    assert_refused(adult.run("config", "set", key, value), 2, fragment)
    assert not (tmp_path / "config.toml").exists()
    adult.ok("log", "P0001", "--point", "deltoid:L pre=5 drug=lidocaine-1 ml=1")


@pytest.mark.parametrize("volume", ["0.001", "1e-9", "0.0049", "30.004"])
def test_a_volume_finer_than_a_hundredth_of_a_ml_is_refused(adult, volume):
    result = adult.run("log", "P0001", "--point", f"deltoid:L pre=5 drug=lidocaine-1 ml={volume}")
    assert_refused(result, 2, f"ml '{volume}' is not allowed; give a volume in mL from 0.01")
    assert adult.count("visit") == 0


def test_a_shown_percentage_never_crosses_its_band(adult):
    # Means 61/7 -> 43/7: 29.5 %, which is "little"; rounding would print 30 %.
    pains = [(10, 7), (10, 7), (10, 7), (10, 6), (10, 6), (10, 6), (1, 4)]
    adult.ok("log", "P0001", *[a for pre, post in pains
                               for a in ("--point", f"deltoid:L pre={pre} post={post}")])
    assert shown(adult)["band"] == "little"
    assert "Reduction of mean pain: 29% little" in adult.ok("visit", "show", "1").stdout


def test_worse_without_a_percentage_is_still_shown_as_worse(adult):
    adult.ok("log", "P0001", "--point", "deltoid:L pre=0 post=3")
    table = adult.ok("visit", "show", "1").stdout
    assert "0 → 3 (+3)" in table and "worse" in table
    (row,) = json.loads(adult.ok("summary", "--json").stdout)["groups"]
    assert (row["share_30"], row["share_worse"]) == (0.0, 1.0)


def test_two_visits_on_one_day_are_one_session_and_one_chest(adult):
    for date in ("2025-06-01", "2025-09-01", "2026-01-10"):
        adult.ok("log", "P0001", "--date", date, "--point", "deltoid:L pre=5")
    second_today = adult.ok("log", "P0001", "--date", "2026-01-10", "--point",
                            "rhomboids:L pre=5")
    assert "sessions in the 12 months" not in second_today.stderr  # still 3 days
    other_side = adult.ok("log", "P0001", "--date", "2026-01-10", "--point",
                          "rhomboids:R pre=5")
    assert "BOTH sides of the chest on one day (with visit(s) 4: rhomboids L)" in \
        other_side.stderr
    shown_text = " ".join(adult.ok("visit", "show", "5").stdout.split())  # unwrapped
    assert "BOTH sides of the chest on one day (with visit(s) 4: rhomboids L)" in shown_text


def test_whiplash_codes_given_win_and_sequela_carries_on(adult):
    adult.ok("log", "P0001", "--yes", "-c", "whiplash", "-c", "S13.4XXA", "--point",
             "sternocleidomastoid:L pre=5")
    assert _conditions(adult) == [("whiplash-initial", "S13.4XXA")]
    adult.ok("log", "P0001", "--yes", "--date", "2026-11-29", "-c", "S13.4XXS", "--point",
             "sternocleidomastoid:L pre=5")
    adult.ok("log", "P0001", "--yes", "-c", "whiplash", "--point", "sternocleidomastoid:L pre=5")
    assert _conditions(adult, 3) == [("whiplash-sequela", "S13.4XXS")]
    assert_refused(adult.run("log", "P0001", "--yes", "--encounter", "sequela", "--point",
                             "deltoid:L pre=5"), 2,
                   "--encounter sequela goes with --condition whiplash")
    assert_refused(adult.run("visit", "amend", "1", "--reason", "x", "--encounter", "sequela"),
                   2, "--encounter sequela goes with --condition whiplash")
    assert adult.count("visit") == 3


def test_follow_ups_are_listed_by_date_and_a_lapse_is_said_plainly(adult):
    adult.ok("log", "P0001", "--date", "2026-01-10", "--point", "deltoid:L pre=8")
    adult.ok("followup", "1", "--yes", "--pain", "7", "--on", "2026-01-24")
    adult.ok("followup", "1", "--yes", "--pain", "6", "--on", "2026-01-17")
    assert [f["reported_on"] for f in shown(adult)["follow_ups"]] == ["2026-01-17",
                                                                      "2026-01-24"]
    assert "Relief (>= 30 %) had lapsed by the first follow-up." in \
        adult.ok("visit", "show", "1").stdout
