"""The trigger point's signs beside the twitch (issue 16): taut=, jump=, referred= in a
--point SPEC, from the one registry of a point's fields (tplog.points.FIELDS)."""

import json

import pytest

from tests.conftest import assert_refused, built_once


@built_once
def ada(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    return clinic


def points(clinic, visit_id=1):
    shown = json.loads(clinic.ok("visit", "show", str(visit_id), "--json").stdout)
    return shown["points"]


def test_signs_are_saved_shown_and_not_recorded_when_left_out(ada):
    result = ada.ok("log", "P0001",
                    "--point", "upper-trapezius:L pre=7 post=3 taut=yes jump=no referred=y",
                    "--point", "deltoid:R pre=4 post=4")
    assert "Signs: 1 upper-trapezius L: taut band yes, jump sign no, referred pain " \
           "reproduced yes" in " ".join(result.stdout.split())
    first, second = points(ada)
    assert (first["taut_band"], first["jump_sign"], first["referred_pain"]) == (True, False,
                                                                                 True)
    assert (second["taut_band"], second["jump_sign"], second["referred_pain"]) == (None,) * 3
    assert "holds" in ada.ok("audit", "verify").stdout


@pytest.mark.parametrize(("spec", "message"), [
    ("deltoid:L pre=5 taut=maybe", "taut 'maybe' is not allowed; use yes or no"),
    ("deltoid:L pre=5 jump=", "jump '' is not allowed; use yes or no"),
    ("deltoid:L pre=5 referred=1", "referred '1' is not allowed; use yes or no"),
    ("deltoid:L pre=5 taut=yes taut=no", "taut= is given twice"),
    ("deltoid:L pre=5 tautband=yes", "'tautband=yes' in point"),
])
def test_a_bad_sign_is_refused_and_nothing_is_written(ada, spec, message):
    events = ada.count("audit_event")
    result = ada.run("log", "P0001", "--point", spec)
    assert_refused(result, 2, message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert ada.count("injected_point") == 0 and ada.count("audit_event") == events


def test_amend_changes_a_sign_and_the_diff_names_it(ada):
    ada.ok("log", "P0001", "--point", "deltoid:L pre=5 post=2 taut=yes")
    ada.ok("visit", "amend", "1", "--reason", "no band felt", "--set", "1 taut=no jump=yes")
    shown = json.loads(ada.ok("visit", "show", "1", "--revisions", "--json").stdout)
    assert (shown["points"][0]["taut_band"], shown["points"][0]["jump_sign"]) == (False, True)
    assert shown["revisions"][-1]["changes"] == [
        "deltoid L: taut band yes → no, jump sign not recorded → yes"]
    ada.ok("visit", "amend", "1", "--reason", "unsure", "--set", "1 taut=-")
    assert points(ada)[0]["taut_band"] is None
    assert "holds" in ada.ok("audit", "verify").stdout


def test_summary_shows_the_reduction_with_and_without_each_sign(ada):
    ada.ok("log", "P0001", "--point", "deltoid:L pre=10 post=2 taut=yes jump=yes",
           "--point", "deltoid:R pre=10 post=8 taut=no", "--point", "infraspinatus:L pre=4 post=2")
    groups = json.loads(ada.ok("summary", "--json").stdout)["groups"]
    signs = groups[0]["reduction_by_sign"]
    assert signs["taut_band"] == {"with": 80.0, "without": 20.0}
    assert signs["jump_sign"] == {"with": 80.0, "without": None}
    assert signs["referred_pain"] == {"with": None, "without": None}
    assert signs["twitch_response"] == {"with": None, "without": None}
    table = ada.ok("summary").stdout
    assert "Trigger point signs" in table and "Taut yes" in table and "Referred no" in table
    assert "80%" in table and "20%" in table


def test_exports_and_the_csv_carry_the_signs(ada, tmp_path):
    ada.ok("log", "P0001", "--point", "deltoid:L pre=5 post=2 taut=yes referred=no")
    exported = tmp_path / "visits.csv"
    ada.ok("export", "P0001", "-o", str(exported))
    header, row = exported.read_text().splitlines()
    assert header.endswith(",volume_ml,taut_band,jump_sign,referred_pain,injectate")
    assert row.endswith(",yes,,no,")  # then the empty injectate (one drug, or none)
    document = json.loads(ada.ok("export", "P0001", "--format", "json").stdout)
    assert document["patients"][0]["visits"][0]["points"][0]["taut_band"] is True
    markdown = ada.ok("export", "P0001", "--format", "md").stdout
    assert "| taut band yes, referred pain reproduced no |" in markdown
    html = ada.ok("export", "P0001", "--format", "html").stdout
    assert '<td data-label="Signs">taut band yes, referred pain reproduced no</td>' in html
    exported.write_text(exported.read_text().replace(",yes,,no,", ",sometimes,,no,"))
    assert_refused(ada.run("import", str(exported)), 2, "line 2", "taut_band 'sometimes'")
