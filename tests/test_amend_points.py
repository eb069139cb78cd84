"""Issue 14: correcting one point never loses or garbles the others.

Reproduces the tired clinician's findings: `visit amend --point` turned a 5-point visit into 1
point without a word, re-entering points lost the drug and volume the config had given them,
and the revision diff named points by their place in the list, not their site.
"""

from __future__ import annotations

import json
import tempfile

import pytest

from tests.conftest import assert_refused, built_once
from tests.terminal import converse

FIVE = ["levator-ani:L pre=7 post=4", "quadratus-lumborum:L pre=6 post=3",
        "piriformis:R pre=5 post=2 drug=bupivacaine-0.25 ml=2", "gluteus-medius:L pre=6",
        "iliopsoas:R pre=4 post=4"]


DEFAULTS = (("default_drug", "lidocaine-1"), ("default_ml", "2"))


@built_once
def logged_with_defaults(clinic):
    """The visit, logged with the practitioner's default drug and volume: set in a config
    folder of the build's own, as the test sets them again in its own (`five_points`)."""
    with tempfile.TemporaryDirectory() as folder:
        settings = {"XDG_CONFIG_HOME": folder}
        args = [arg for spec in FIVE for arg in ("--point", spec)]
        for command in (*[("config", "set", *pair) for pair in DEFAULTS],
                        ("patient", "add", "Maria Gonzalez", "--dob", "1968-04-12",
                         "--weight-kg", "64"),
                        ("log", "P0001", "--date", "2026-11-02", *args, "--yes")):
            result = clinic.run(*command, env=settings)
            assert result.exit_code == 0, (command, result.stderr)


@pytest.fixture
def five_points(logged_with_defaults):
    for pair in DEFAULTS:
        logged_with_defaults.ok("config", "set", *pair)
    return logged_with_defaults


def shown(clinic, *args):
    return json.loads(clinic.ok("visit", "show", "1", "--json", *args).stdout)


def drugs(clinic):
    return [(p["muscle"], p["drug"], p["volume_ml"], p["pain_after"])
            for p in shown(clinic)["points"]]


def test_set_changes_one_point_and_keeps_every_other_finding(five_points):
    before = drugs(five_points)
    assert before[1] == ("quadratus-lumborum", "lidocaine-1", 2.0, 3)
    five_points.ok("visit", "amend", "1", "--reason", "QL post pain misread",
                   "--set", "2 post=2")
    after = drugs(five_points)
    assert after == [*before[:1], ("quadratus-lumborum", "lidocaine-1", 2.0, 2), *before[2:]]
    # The day's lidocaine is still 5 points' worth minus piriformis: 4 x 2 mL x 10 mg/mL.
    dose = shown(five_points)["dose_check"]
    assert [(d["anaesthetic"], d["mg"]) for d in dose["drugs"]] == \
        [("bupivacaine", 5.0), ("lidocaine", 80.0)]
    changes = shown(five_points, "--revisions")["revisions"][1]["changes"]
    assert changes == ["quadratus-lumborum L: pain after 3 → 2"]


def test_set_can_clear_a_finding_and_change_several_points(five_points):
    five_points.ok("visit", "amend", "1", "--reason", "two fixes", "--set", "4 post=1",
                   "--set", "5 post=- twitch=yes")
    points = shown(five_points)["points"]
    assert (points[3]["pain_after"], points[4]["pain_after"]) == (1, None)
    assert points[4]["twitch_response"] is True
    changes = shown(five_points, "--revisions")["revisions"][1]["changes"]
    assert changes == ["gluteus-medius L: pain after not recorded → 1",
                       "iliopsoas R: pain after 4 → not recorded, "
                       "local twitch response not recorded → yes"]


def test_add_and_remove_one_point_with_the_logs_defaults(five_points):
    five_points.ok("visit", "amend", "1", "--reason", "wrong side", "--remove-point", "5",
                   "--add-point", "iliopsoas:L pre=4 post=2")
    points = drugs(five_points)
    assert len(points) == 5 and points[-1] == ("iliopsoas", "lidocaine-1", 2.0, 2)
    changes = shown(five_points, "--revisions")["revisions"][1]["changes"]
    assert changes == ["iliopsoas R removed", "iliopsoas L added"]


def test_replacing_every_point_needs_replace_points_and_changes_nothing_without(five_points):
    before = five_points.counts()
    result = five_points.run("visit", "amend", "1", "--reason", "QL post pain misread",
                             "--point", "quadratus-lumborum:L pre=6 post=3")
    assert_refused(result, 2, "--point replaces all 5 point(s) of visit 1",
                   "levator-ani L, piriformis R, gluteus-medius L, iliopsoas R",
                   "--replace-points")
    assert five_points.counts() == before
    five_points.ok("visit", "amend", "1", "--reason", "only one", "--replace-points",
                   "--point", "quadratus-lumborum:L pre=6 post=3")
    # The config's drug and volume, as `log` gives them (the help always said so).
    assert drugs(five_points) == [("quadratus-lumborum", "lidocaine-1", 2.0, 3)]


@pytest.mark.parametrize("args, fragments", [
    (["--set", "6 post=1"], ["point 6 is not allowed; visit has points 1-5"]),
    (["--set", "x post=1"], ["--set 'x post=1' is not allowed"]),
    (["--set", "1 pre=-"], ["pain before cannot be cleared"]),
    (["--set", "1 post=11"], ["post '11' is not allowed"]),
    (["--set", "3 drug=dry-needling"], ["not allowed with dry-needling"]),
    (["--set", "1 colour=red"], ["'colour=red' is not understood"]),
    (["--remove-point", "1", "--remove-point", "2", "--remove-point", "3", "--remove-point",
      "4", "--remove-point", "5"], ["removes every point", "void"]),
    (["--remove-point", "2", "--remove-point", "2"], ["removed twice"]),
    (["--point", "deltoid:L pre=1", "--set", "1 post=1"], ["use it alone"]),
    (["--add-point", "deltoid:L"], ["has no pain before"]),
])
def test_bad_point_changes_write_nothing(five_points, args, fragments):
    before = five_points.counts()
    events = five_points.count("audit_event")
    assert_refused(five_points.run("visit", "amend", "1", "--reason", "x", *args), 2,
                   *fragments)
    assert five_points.counts() == before and five_points.count("audit_event") == events


def test_on_a_terminal_replacing_every_point_asks_first(five_points, tmp_path):
    args = ["--db", five_points.url, "visit", "amend", "1", "--reason", "one point",
            "--point", "quadratus-lumborum:L pre=6 post=3"]
    code, screen = converse(args, [("Replace every point?", "n")], tmp_path)
    assert code == 5, screen
    assert "removed: levator-ani L, piriformis R, gluteus-medius L, iliopsoas R" in screen
    assert len(drugs(five_points)) == 5
    code, screen = converse(args, [("Replace every point?", "y")], tmp_path)
    assert code == 0, screen
    assert len(drugs(five_points)) == 1
