"""Muscles clinicians inject that tplog lacked (issue 16, item 6): the pelvic floor, the
abdominal wall, the pterygoids, the multifidus, the thigh, leg and forearm groups. Entered with
`--point`, listed by `tplog muscles`, text only (no code: the reference verifies none), and
drawn on the body chart inside the body."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from tests.test_body_chart import Chart, assert_placed
from tplog import clinical, vocab
from tplog.cli import app

NEW = {
    "obturator-internus": "pelvic-floor", "coccygeus": "pelvic-floor",
    "iliococcygeus": "pelvic-floor", "pubococcygeus": "pelvic-floor",
    "rectus-abdominis": "abdomen", "external-oblique": "abdomen",
    "medial-pterygoid": "head-face", "lateral-pterygoid": "head-face",
    "multifidus": "lower-back", "adductors": "thigh", "hamstrings": "thigh",
    "vastus-medialis": "thigh", "tibialis-anterior": "leg", "soleus": "leg",
    "forearm-flexors": "forearm",
}


def run(*args):
    return CliRunner().invoke(app, list(args))


def test_new_muscles_are_listed_in_their_regions_without_codes():
    listed = {m["key"]: m for m in json.loads(run("muscles", "--json").stdout)}
    for key, region in NEW.items():
        assert listed[key]["region"] == region and listed[key]["snomed"] is None, key
        assert key in run("muscles", "--region", region).stdout
    # The forearm and thigh muscles tplog had moved into those regions.
    assert vocab.MUSCLE_BY_KEY["brachioradialis"].region == "forearm"
    assert vocab.MUSCLE_BY_KEY["forearm-extensors"].region == "forearm"
    assert vocab.MUSCLE_BY_KEY["vastus-lateralis"].region == "thigh"


def test_new_muscles_clinical_flags():
    muscle = vocab.MUSCLE_BY_KEY
    # The pterygoids are muscles of mastication: M79.11 (reference, "Diagnosis codes").
    assert muscle["medial-pterygoid"].masticatory and muscle["lateral-pterygoid"].masticatory
    assert clinical.myalgia_keys(["lateral-pterygoid"]) == ["myofascial-pain-mastication"]
    assert clinical.myalgia_keys(["obturator-internus"]) == ["myofascial-pain-other-site"]
    # Over the thorax: the multifidus as the thoracic paraspinals; the external oblique over
    # the lower ribs; the rectus abdominis and the pelvic floor not.
    assert muscle["multifidus"].over_thorax and muscle["external-oblique"].over_thorax
    assert not muscle["rectus-abdominis"].over_thorax
    assert not any(muscle[k].over_thorax for k, r in NEW.items() if r == "pelvic-floor")
    # Parts of the levator ani count as the levator ani for CPT.
    (suggestion,) = clinical.cpt_suggestions([("iliococcygeus", "L", "lidocaine-1"),
                                              ("pubococcygeus", "L", "lidocaine-1"),
                                              ("levator-ani", "L", "lidocaine-1")])
    assert suggestion.code == "20552" and len(suggestion.muscles) == 1


def test_every_new_muscle_logged_and_drawn_inside_the_body(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    points = [f"{key}:{side} pre=6 post=3" for key in NEW for side in "LR"]
    args = [a for p in points for a in ("--point", p)]
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--yes", *args)
    visit = json.loads(clinic.ok("visit", "show", "1", "--json").stdout)
    assert [(p["muscle"], p["side"]) for p in visit["points"]] == \
        [(key, side) for key in NEW for side in "LR"]
    page = clinic.ok("export", "P0001", "-f", "html").stdout
    chart = Chart(text=re.search(r'<svg[^>]*class="body-chart".*?</svg>', page,
                                 re.S).group(0))
    assert len(chart.markers) == 2 * len(NEW)
    for marker in chart.markers:
        assert_placed(chart, marker)
    pelvic = [m for m in chart.markers if vocab.MUSCLE_BY_KEY[m.get("data-muscle")].region
              == "pelvic-floor"]
    assert {m.get("data-panel") for m in pelvic} == {"pelvis"}  # the inset, not the skin
