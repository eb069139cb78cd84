"""What the physician documents of the procedure on each visit (issue 16): consent, time-out,
ultrasound guidance, the needle, aspiration; stored on the visit revision, carried and changed
by amendments, required by the clinic's config, shown and exported."""

import json

import pytest

from tests.conftest import assert_refused, built_once

POINT = "upper-trapezius:L pre=7 post=3"
EVERYTHING = ("--consent", "written", "--time-out", "--ultrasound", "--needle", "25G 1.5in",
              "--aspirated")


@built_once
def ada(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--weight-kg", "60")
    return clinic


def shown(clinic, visit_id=1, *options):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json", *options).stdout)


def written(clinic):
    return {t: clinic.count(t) for t in ("visit", "visit_revision", "injected_point",
                                         "range_of_motion", "audit_event")}


def test_every_detail_is_saved_and_shown(ada):
    result = ada.ok("log", "P0001", "--point", POINT, *EVERYTHING)
    assert ("Procedure: consent written, time-out done, ultrasound-guided, aspirated before "
            "injecting, needle 25G 38.1 mm (1.5 in)") in " ".join(result.stdout.split())
    procedure = shown(ada)["procedure"]
    assert procedure == {"consent": "written", "time_out": True, "ultrasound": True,
                         "needle_gauge": 25, "needle_length_mm": 38.1, "aspirated": True,
                         "needle": "25G 38.1 mm (1.5 in)"}
    history = ada.ok("history", "P0001").stdout
    assert "Procedure: consent written" in history
    assert json.loads(ada.ok("history", "P0001", "--json").stdout)["visits"][0][
        "procedure"]["needle_gauge"] == 25
    assert "holds" in ada.ok("audit", "verify").stdout


def test_left_out_is_not_recorded_and_no_is_kept_apart_from_it(ada):
    ada.ok("log", "P0001", "--point", POINT, "--no-time-out", "--no-ultrasound",
           "--no-aspirated", "--consent", "none")
    ada.ok("log", "P0001", "--point", "deltoid:R pre=3", "--date", "2026-01-02")
    first, second = shown(ada, 1)["procedure"], shown(ada, 2)["procedure"]
    assert first == {"consent": "none", "time_out": False, "ultrasound": False,
                     "needle_gauge": None, "needle_length_mm": None, "aspirated": False,
                     "needle": None}
    assert set(second.values()) == {None}
    assert "Procedure:" not in ada.ok("visit", "show", "2").stdout


@pytest.mark.parametrize(("typed", "gauge", "length"), [
    ("25G 1.5in", 25, 38.1), ('25G 1.5"', 25, 38.1), ("22G 38mm", 22, 38.0),
    ("21g 3 inches", 21, 76.2), ("27G", 27, None), ("30G x 0.5in", 30, 12.7),
    ("18G 2in", 18, 50.8), ("34G 13mm", 34, 13.0)])
def test_needles_as_written_on_the_hub(ada, typed, gauge, length):
    ada.ok("log", "P0001", "--point", POINT, "--needle", typed)
    procedure = shown(ada)["procedure"]
    assert (procedure["needle_gauge"], procedure["needle_length_mm"]) == (gauge, length)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--needle", "25", "'25' is not a needle; use GAUGE[G] [LENGTH]"),
    ("--needle", "17G 1.5in", "gauge 17G is not allowed; give 18G to 34G"),
    ("--needle", "35G", "gauge 35G is not allowed"),
    ("--needle", "25G 9in", "length 228.6 mm is not allowed; give 5-200 mm"),
    ("--needle", "25G 1.5cm", "is not a needle"),
    ("--needle", "25G 1,5in", "is not a needle"),
    ("--needle", "", "is not a needle"),
    ("--consent", "maybe", "--consent 'maybe' is not allowed; use none|verbal|written"),
])
def test_a_bad_detail_is_refused_and_nothing_is_written(ada, option, value, message):
    before = written(ada)
    result = ada.run("log", "P0001", "--point", POINT, option, value)
    assert_refused(result, 2, message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert written(ada) == before


def _require(clinic, *keys):
    for key in keys:
        clinic.ok("config", "set", f"required.{key}", "true")


def test_a_clinic_that_requires_consent_refuses_a_visit_without_it(ada):
    _require(ada, "consent")
    before = written(ada)
    for extra in ((), ("--consent", "none")):
        result = ada.run("log", "P0001", "--point", POINT, *extra)
        assert_refused(result, 2, "this clinic requires consent on every visit "
                                  "(required.consent in", "give --consent verbal|written",
                       "nothing was saved")
        assert len(result.stderr.strip().splitlines()) == 1
        assert written(ada) == before
    ada.ok("log", "P0001", "--point", POINT, "--consent", "verbal")
    assert shown(ada)["procedure"]["consent"] == "verbal"


@pytest.mark.parametrize(("key", "given", "option"), [
    ("time_out", ("--time-out",), "--time-out"),
    ("ultrasound", ("--no-ultrasound",), "--ultrasound or --no-ultrasound"),
    ("needle", ("--needle", "25G"), "--needle GAUGE"),
    ("aspirated", ("--aspirated",), "--aspirated or --no-aspirated"),
])
def test_each_detail_can_be_required(ada, key, given, option):
    _require(ada, key)
    before = written(ada)
    assert_refused(ada.run("log", "P0001", "--point", POINT), 2,
                   f"this clinic requires {key} on every visit", f"give {option}")
    assert written(ada) == before
    ada.ok("log", "P0001", "--point", POINT, *given)


def test_several_required_are_named_in_one_line(ada):
    _require(ada, "consent", "needle")
    result = ada.run("log", "P0001", "--point", POINT)
    assert_refused(result, 2, "requires consent, needle on every visit")
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_refuses_an_unknown_requirement_or_a_value_not_true_or_false(ada):
    assert_refused(ada.run("config", "set", "required.lot_number", "true"), 2,
                   "unknown config key 'required.lot_number'")
    assert_refused(ada.run("config", "set", "required.consent", "yes"), 2,
                   "required.consent 'yes' is not allowed; give true or false")
    settings = json.loads(ada.ok("config", "show", "--json").stdout)["settings"]
    assert settings["required.consent"] is False


def test_amend_carries_the_details_and_changes_the_ones_given(ada):
    ada.ok("log", "P0001", "--point", POINT, *EVERYTHING)
    ada.ok("visit", "amend", "1", "--reason", "note only", "--note", "tolerated well")
    assert shown(ada)["procedure"]["needle_gauge"] == 25  # carried
    ada.ok("visit", "amend", "1", "--reason", "wrong needle", "--needle", "22G 38mm",
           "--consent", "verbal", "--no-ultrasound")
    visit = shown(ada, 1, "--revisions")
    assert visit["procedure"] == {"consent": "verbal", "time_out": True, "ultrasound": False,
                                  "needle_gauge": 22, "needle_length_mm": 38.0,
                                  "aspirated": True, "needle": "22G 38 mm"}
    changes = visit["revisions"][-1]["changes"]
    assert "consent: written → verbal" in changes
    assert "ultrasound guidance: yes → no" in changes
    assert "needle gauge: 25 → 22" in changes and "needle length (mm): 38.1 → 38" in changes
    assert visit["revisions"][0]["procedure"]["consent"] == "written"  # the old one is kept
    assert "holds" in ada.ok("audit", "verify").stdout


def test_amend_that_changes_nothing_and_amend_below_the_clinics_requirements(ada):
    ada.ok("log", "P0001", "--point", POINT, "--consent", "written")
    before = written(ada)
    assert_refused(ada.run("visit", "amend", "1", "--reason", "x", "--consent", "written"), 2,
                   "the amendment changes nothing")
    _require(ada, "consent")
    assert_refused(ada.run("visit", "amend", "1", "--reason", "x", "--consent", "none"), 2,
                   "this clinic requires consent")
    assert_refused(ada.run("visit", "amend", "1", "--reason", "x", "--needle", "99G"), 2,
                   "gauge 99G is not allowed")
    assert written(ada) == before
    # A visit logged before the requirement is still corrected in other ways.
    ada.ok("log", "P0001", "--point", "deltoid:L pre=2", "--consent", "verbal")
    ada.ok("visit", "amend", "1", "--reason", "note", "--note", "fine")


def test_exports_carry_the_details_and_the_csv_reads_back_the_same(ada, tmp_path):
    # Logged in date order, so that the visits are numbered alike after an import.
    ada.ok("log", "P0001", "--point", POINT, "--date", "2026-01-02", "--no-aspirated")
    ada.ok("log", "P0001", "--point", POINT, "--point", "deltoid:R pre=4 post=1",
           *EVERYTHING)
    document = json.loads(ada.ok("export", "P0001", "--format", "json").stdout)
    visits = document["patients"][0]["visits"]
    assert visits[0]["procedure"]["aspirated"] is False
    assert visits[1]["procedure"]["needle"] == "25G 38.1 mm (1.5 in)"
    markdown = ada.ok("export", "P0001", "--format", "md").stdout
    assert "- Procedure: consent written, time-out done, ultrasound-guided" in markdown
    html = ada.ok("export", "P0001", "--format", "html").stdout
    assert "<dt>Procedure:</dt><dd>consent written, time-out done" in html
    exported = tmp_path / "visits.csv"
    ada.ok("export", "P0001", "-o", str(exported))
    header, *rows = exported.read_text().splitlines()
    assert ",consent,time_out,ultrasound,needle_gauge,needle_length_mm,aspirated," \
           "range_of_motion," in header  # visit columns, after the visit's record
    assert ",written,yes,yes,25,38.1,yes,," in rows[-1]
    other = tmp_path / "other.db"
    from tests.conftest import Clinic

    copy = Clinic(url=str(other), backend="sqlite")
    copy.ok("import", str(exported))
    again = tmp_path / "again.csv"
    copy.ok("export", "P0001", "-o", str(again))
    assert again.read_text() == exported.read_text()
    assert "holds" in copy.ok("audit", "verify").stdout
    assert "0 visit(s) with 0 point(s); 2 visit(s) were already there" in \
        copy.ok("import", str(exported)).stderr


def test_import_refuses_a_bad_detail_naming_the_line(ada, tmp_path):
    ada.ok("log", "P0001", "--point", POINT, *EVERYTHING)
    exported = tmp_path / "visits.csv"
    ada.ok("export", "P0001", "-o", str(exported))
    exported.write_text(exported.read_text().replace(",written,", ",signed,"))
    before = written(ada)
    assert_refused(ada.run("import", str(exported)), 2, "line 2", "consent 'signed'")
    assert written(ada) == before
