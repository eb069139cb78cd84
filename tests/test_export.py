"""tplog export: csv, json, fhir, html, md; selections; de-identification; audit."""

import csv
import io
import json
import re
import stat
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser

import pytest

from tests.conftest import assert_refused, built_once
from tplog.export.csv_format import HEADER


@built_once
def clinic_data(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10", "--sex", "female",
              "--weight-kg", "61.5")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1930-01-05", "--sex", "female")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch",
              "--condition", "myofascial-pain", "--condition", "tension-headache",
              "--drug", "lidocaine-1", "--ml", "1", "--note", "tolerated well",
              "--point", "upper-trapezius:L pre=7 post=3 twitch=yes soreness=mild numbness=no",
              "--point", "upper-trapezius:R pre=6 post=2 twitch=no",
              "--point", "rhomboids:L pre=5 drug=bupivacaine-0.25 ml=0.5",
              "--point", "deltoid:R pre=4 post=4 drug=dry-needling")
    clinic.ok("log", "P0001", "--date", "2026-04-02", "--practitioner", "Dr Finch",
              "--point", "gluteus-medius:L pre=6 post=1 drug=saline ml=2",
              "--point", "masseter:R pre=0 post=0")
    clinic.ok("log", "P0002", "--date", "2026-03-15", "--practitioner", "Dr Lee",
              "--condition", "whiplash", "--point", "sternocleidomastoid:L pre=8 post=5")
    clinic.ok("log", "P0002", "--date", "2026-03-20", "--practitioner", "Dr Lee",
              "--point", "deltoid:L pre=3")
    clinic.ok("visit", "void", "4", "--yes", "--reason", "entered twice")
    return clinic


def export(clinic, *args):
    return clinic.ok("export", *args).stdout


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_the_documented_header_and_one_row_per_point(clinic_data):
    text = export(clinic_data, "--all", "--format", "csv")
    assert text.splitlines()[0] == ",".join(HEADER)
    rows = csv_rows(text)
    assert len(rows) == 7  # 4 + 2 + 1; the voided visit is left out
    first = rows[0]
    assert (first["mrn"], first["patient_name"], first["date_of_birth"], first["visit_date"],
            first["age_at_visit"]) == ("P0001", "Ada Lovelace", "1950-12-10", "2026-03-01", "75")
    # In the order given; myofascial pain by the injected regions (neck, then others).
    assert first["conditions"] == ("myofascial-pain-head-neck;myofascial-pain-other-site;"
                                   "tension-headache")
    assert (first["twitch_response"], first["soreness"], first["numbness"]) == ("yes", "mild",
                                                                               "no")
    rhomboids = rows[2]
    assert (rhomboids["pain_after"], rhomboids["twitch_response"], rhomboids["soreness"],
            rhomboids["numbness"]) == ("", "", "", "")  # not recorded: empty, never "no"
    assert (rhomboids["drug"], rhomboids["volume_ml"]) == ("bupivacaine-0.25", "0.5")
    assert [r["visit"] for r in rows] == ["1", "1", "1", "1", "2", "2", "3"]


def test_selections(clinic_data):
    assert {r["mrn"] for r in csv_rows(export(clinic_data, "P0002", "-f", "csv"))} == {"P0002"}
    one = csv_rows(export(clinic_data, "--visit", "2", "-f", "csv"))
    assert [r["muscle"] for r in one] == ["gluteus-medius", "masseter"]
    dated = csv_rows(export(clinic_data, "--all", "--since", "2026-03-02", "--until",
                            "2026-03-31", "-f", "csv"))
    assert {r["visit_date"] for r in dated} == {"2026-03-15"}


def test_exports_use_the_latest_revision(clinic_data):
    clinic_data.ok("visit", "amend", "--replace-points", "3", "--reason", "post was 4",
                   "--point", "sternocleidomastoid:L pre=8 post=4")
    rows = csv_rows(export(clinic_data, "P0002", "-f", "csv"))
    assert [r["pain_after"] for r in rows] == ["4"]


def test_output_file_is_private_written_whole_and_the_export_is_audited(clinic_data, tmp_path):
    target = tmp_path / "out" / "summary.csv"
    target.parent.mkdir()
    result = clinic_data.ok("export", "P0001", "-f", "csv", "-o", str(target))
    assert "Exported 6 point(s) as csv" in result.stderr and result.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(target.parent.iterdir()) == [target]
    events = json.loads(clinic_data.ok("audit", "log", "--json").stdout)
    assert events[-1]["action"] == "export" and events[-1]["mrn"] == "P0001"
    assert events[-1]["target"] == f"csv export of patient P0001 to {target}"


@pytest.mark.parametrize("args, code, fragment", [
    (["-f", "csv"], 2, "say what to export: an MRN, --all, or --visit ID"),
    (["P0001", "--all"], 2, "give an MRN or --all, not both"),
    (["P0404"], 1, "no patient with MRN 'P0404'"),
    (["--visit", "99"], 1, "no visit with id 99"),
    (["--all", "-f", "docx"], 2, "--format 'docx' is not allowed; use csv|json|fhir|html|md|pdf"),
    (["--all", "--year-only"], 2, "--year-only goes with --deidentify"),
    (["--all", "--since", "March"], 2, "--since 'March' is not a date"),
])
def test_export_refusals_write_and_audit_nothing(clinic_data, args, code, fragment):
    events = clinic_data.count("audit_event")
    result = clinic_data.run("export", *args)
    assert_refused(result, code, fragment)
    assert result.stdout == "" and clinic_data.count("audit_event") == events


def test_json_nests_patients_visits_points(clinic_data):
    document = json.loads(export(clinic_data, "--all", "-f", "json"))
    assert (document["format"], document["version"], document["deidentified"]) == \
        ("tplog-export", 1, False)
    ada, grace = document["patients"]
    assert [len(v["points"]) for v in ada["visits"]] == [4, 2]
    assert ada["visits"][0]["conditions"][2] == {"key": "tension-headache",
                                                 "name": "Tension-type headache",
                                                 "icd10": "G44.209"}
    rhomboids = ada["visits"][0]["points"][2]
    assert rhomboids["pain_after"] is None and rhomboids["twitch_response"] is None
    assert ada["visits"][0]["points"][0]["band"] == "substantial"
    assert grace["visits"][0]["points"][0]["percent_reduction"] == pytest.approx(37.5)


def fhir_bundle(clinic, *args):
    return json.loads(export(clinic, *args, "-f", "fhir"))


def test_fhir_bundle_validates_and_has_the_expected_resources(clinic_data):
    from fhir.resources.R4B.bundle import Bundle

    bundle = fhir_bundle(clinic_data, "P0001")
    Bundle.model_validate(bundle)  # every resource, with the R4B models
    resources = [entry["resource"] for entry in bundle["entry"]]
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
    # 2 visits, 6 points: a pain Observation each (before and after as components); per
    # visit a Procedure per billing code (visit 1: injections and dry needling) and one per
    # site; a drug injected at 4 points (dry needling injects nothing; the masseter point has
    # no drug recorded).
    counts.pop("DetectedIssue", None)  # the safety findings recorded (test_fhir_record.py)
    assert counts == {"Patient": 1, "Encounter": 2, "Procedure": 9, "Observation": 6,
                      "MedicationAdministration": 4}
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    references = [r for r in re.findall(r'"reference": "([^"]+)"', json.dumps(bundle))
                  if not r.startswith("#")]  # "#injectate": a contained Medication
    assert references and set(references) <= full_urls
    procedures = [r for r in resources if r["resourceType"] == "Procedure"]
    injections, dry_needling, first = procedures[:3]
    # Trapezius left, trapezius right (two muscles: AAPC) and rhomboids; the dry-needled
    # deltoid is no injection: 3 muscles, 20553, on the visit's Procedure only.
    cpt = "http://www.ama-assn.org/go/cpt"
    assert injections["code"]["coding"] == [{"system": cpt, "code": "20553", "display": (
        "Injection(s); single or multiple trigger point(s), 3 or more muscles")}]
    assert "coding" not in first["code"]
    assert first["partOf"][0]["reference"] == bundle["entry"][2]["fullUrl"]
    site = first["bodySite"][0]
    assert site["coding"][0] == {"system": "http://snomed.info/sct", "code": "31764008",
                                 "display": "Trapezius muscle structure"}
    assert site["text"] == "Upper trapezius, left"
    assert site["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "7771000"
    assert procedures[3]["bodySite"][0]["extension"][0]["valueCodeableConcept"]["coding"][0][
        "code"] == "24028007"
    assert "coding" not in procedures[4]["bodySite"][0]  # rhomboids: no verified SNOMED code
    # Dry needling has its own code since CPT 2020: 20560 for 1-2 muscles.
    assert dry_needling["code"]["coding"][0]["code"] == "20560"
    pains = [r for r in resources if r["resourceType"] == "Observation"]
    assert all(p["code"]["coding"][0]["code"] == "72514-3" for p in pains)
    assert [c["valueInteger"] for c in pains[0]["component"]] == [7, 3]
    assert pains[0]["partOf"][0]["reference"] == \
        [e["fullUrl"] for e in bundle["entry"] if e["resource"] is first][0]
    encounter = [r for r in resources if r["resourceType"] == "Encounter"][0]
    assert [c["coding"][0]["code"] for c in encounter["reasonCode"]] == ["M79.12", "M79.18",
                                                                        "G44.209"]


def test_fhir_ids_are_stable_across_exports(clinic_data):
    first = [e["resource"]["id"] for e in fhir_bundle(clinic_data, "P0001")["entry"]]
    again = [e["resource"]["id"] for e in fhir_bundle(clinic_data, "P0001")["entry"]]
    everyone = [e["resource"]["id"] for e in fhir_bundle(clinic_data, "--all")["entry"]]
    assert first == again and set(first) <= set(everyone)


class _Checker(HTMLParser):
    """Tags must nest and close (void elements aside)."""

    VOID = {"meta", "br", "img", "hr", "input", "link", "circle", "path", "polyline"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def html_summary(clinic, *args):
    return export(clinic, *args, "-f", "html")


def test_html_is_valid_self_contained_and_marks_every_point_on_its_side(clinic_data):
    page = html_summary(clinic_data, "P0001")
    checker = _Checker()
    checker.feed(page)
    assert checker.errors == [] and checker.stack == []
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r'(src|href)="https?:', page)  # nothing fetched from the network
    charts = re.findall(r'<svg[^>]*class="body-chart".*?</svg>', page, re.S)
    assert len(charts) == 2
    expected = [[("upper-trapezius", "L"), ("upper-trapezius", "R"), ("rhomboids", "L"),
                 ("deltoid", "R")], [("gluteus-medius", "L"), ("masseter", "R")]]
    for chart, points in zip(charts, expected, strict=True):
        svg = ElementTree.fromstring(chart)  # well-formed XML
        marks = [g for g in svg.iter("{http://www.w3.org/2000/svg}g")
                 if g.get("class") == "point"]
        assert sorted((g.get("data-muscle"), g.get("data-side")) for g in marks) == \
            sorted(points)
        for mark in marks:
            patients_left = mark.get("data-side") == "L"
            if mark.get("data-view") == "head":  # a panel for each side of the head
                assert mark.get("data-panel") == ("head-left" if patients_left
                                                  else "head-right"), mark.attrib
                continue
            # Front view: the patient's left is on the viewer's right; back view: the left.
            on_viewers_right = float(mark.get("data-x")) > float(mark.get("data-midline"))
            front = mark.get("data-view") == "front"
            assert on_viewers_right == (patients_left == front), mark.attrib
    assert "Reduction of mean pain:" in page and "M79.18" in page and "Aftercare" in page
    assert "pneumothorax" in page and "CPT 20553 (injection) suggested" in page
    assert "CPT 20560 (dry needling) suggested" in page
    assert 'class="trend-chart"' in page  # two visits: a trend across them
    assert 'class="trend-chart"' not in html_summary(clinic_data, "--visit", "1")


def test_html_renders_in_a_browser(clinic_data, tmp_path):
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium installed here, so the summary is not rendered to PNG")
    page = tmp_path / "summary.html"
    clinic_data.ok("export", "P0001", "-f", "html", "-o", str(page))
    picture = tmp_path / "summary.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={picture}", "--window-size=1000,1800", page.as_uri()],
                   check=True, capture_output=True, timeout=1200)  # a busy machine: only a hang
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_markdown_summary(clinic_data):
    text = export(clinic_data, "P0002", "-f", "md")
    assert text.startswith("# Trigger point injection visit summary")
    assert "## Grace Hopper (MRN P0002)" in text
    assert "| 1 | Sternocleidomastoid | left | 8 → 5 (-3 points, 38 % less) | moderate |" in text
    # The patient's first whiplash visit: the initial encounter.
    assert "Whiplash, initial encounter (S13.4XXA)" in text


IDENTIFIERS = ("Ada Lovelace", "Grace Hopper", "P0001", "P0002", "tolerated well", "Dr Finch",
               "Dr Lee", "1950-12-10", "1930-01-05")
VISIT_DATES = {"2026-03-01", "2026-04-02", "2026-03-15"}


@pytest.mark.parametrize("fmt", ["csv", "json", "fhir", "html", "md"])
def test_deidentified_exports_hold_no_identifiers(clinic_data, fmt):
    text = export(clinic_data, "--all", "-f", fmt, "--deidentify")
    for identifier in IDENTIFIERS:
        assert identifier not in text, (fmt, identifier)
    # Safe Harbor: dates as the year only, so no visit's date is there at all.
    assert not {date for date in VISIT_DATES if date in text}, fmt
    # Shifted dates: the same in every export of this database (tests/test_deidentify.py
    # checks each date against its patient's shift).
    shifted = export(clinic_data, "--all", "-f", fmt, "--deidentify", "--shift-dates")
    for identifier in IDENTIFIERS:
        assert identifier not in shifted, (fmt, identifier)
    again = export(clinic_data, "--all", "-f", fmt, "--deidentify", "--shift-dates")
    made = re.compile(r"Prepared with tplog on [0-9-]+")  # the HTML is dated the day it is made
    assert made.sub("", shifted) == made.sub("", again)


def test_deidentified_dates_shift_per_patient_and_ages_over_89_are_90_plus(clinic_data):
    rows = csv_rows(export(clinic_data, "--all", "-f", "csv", "--deidentify", "--shift-dates"))
    ada = [r for r in rows if r["age_at_visit"] == "75"]
    grace = [r for r in rows if r["age_at_visit"] == "90+"]  # born 1930: 96 at the visit
    assert len(ada) == 6 and len(grace) == 1
    assert {r["mrn"] for r in ada} != {r["mrn"] for r in grace}
    assert all(re.fullmatch(r"R[0-9A-F]{16}", r["mrn"]) for r in rows)
    assert all(r["patient_name"] == r["date_of_birth"] == r["practitioner"] ==
               r["visit_note"] == "" for r in rows)
    import datetime as dt

    dates = sorted({dt.date.fromisoformat(r["visit_date"]) for r in ada})
    assert (dates[1] - dates[0]).days == 32  # the interval between visits is kept
    assert dt.date(2026, 3, 1) - dt.timedelta(days=364) <= dates[0] < dt.date(2026, 3, 1)
    again = csv_rows(export(clinic_data, "--all", "-f", "csv", "--deidentify", "--shift-dates"))
    assert again == rows  # the same shifts and research ids in every export
    fresh = csv_rows(export(clinic_data, "--all", "-f", "csv", "--deidentify"))
    assert {r["mrn"] for r in fresh}.isdisjoint({r["mrn"] for r in rows})
    assert {r["visit_date"] for r in fresh} == {"2026"}  # Safe Harbor: the year only
    assert [r["age_at_visit"] for r in fresh] == [r["age_at_visit"] for r in rows]
    years = csv_rows(export(clinic_data, "--all", "-f", "csv", "--deidentify", "--year-only"))
    assert {r["visit_date"] for r in years} == {"2026"}


def test_the_audit_trail_says_an_export_was_deidentified(clinic_data):
    export(clinic_data, "--all", "-f", "json", "--deidentify")
    last = json.loads(clinic_data.ok("audit", "log", "--json").stdout)[-1]
    assert last["target"] == "json export of all patients (de-identified) to stdout"
    assert "holds" in clinic_data.ok("audit", "verify").stdout


def test_a_progress_bar_on_a_terminal_and_none_when_piped(clinic_data, tmp_path):
    from tests.terminal import converse

    target = tmp_path / "all.csv"
    code, screen = converse(["--db", clinic_data.url, "export", "--all", "-f", "csv", "-o",
                             str(target)], [], tmp_path)
    assert code == 0 and "Exporting points" in screen, screen
    piped = clinic_data.ok("export", "--all", "-f", "csv", "-o", str(tmp_path / "b.csv"))
    assert "Exporting points" not in piped.stderr


def test_csv_weight_is_the_patients_own_never_another_patients(clinic_data):
    """Each visit's weight_kg (and the dose check's weight) is its own patient's, even when
    another patient was weighed before the visit and this one never was."""
    clinic_data.ok("patient", "weight", "P0001", "70", "--on", "2026-01-01")
    rows = csv_rows(export(clinic_data, "--all", "--format", "csv"))
    by_mrn = {(row["mrn"], row["visit_date"]): row for row in rows}
    assert by_mrn[("P0001", "2026-03-01")]["weight_kg"] == "70"
    assert by_mrn[("P0001", "2026-03-01")]["weight_measured_on"] == "2026-01-01"
    never_weighed = by_mrn[("P0002", "2026-03-15")]
    assert (never_weighed["weight_kg"], never_weighed["weight_measured_on"]) == ("", "")
    assert "kg weighed" not in never_weighed["dose_check"]


@pytest.mark.parametrize("batch", [1, 2])
def test_exports_read_in_batches_of_any_size_are_the_same(clinic_data, monkeypatch, batch):
    """The visits are read in batches, each batch's points looked up by their revisions'
    ids (select.VISIT_BATCH): batches that split a patient's visits, or a visit from its
    follow-ups and addenda, change nothing."""
    from tplog.export import select

    clinic_data.ok("followup", "2", "--pain", "2", "--on", "2026-04-20", "--yes")
    clinic_data.ok("visit", "addendum", "3", "called back", "--practitioner", "Dr Lee")
    clinic_data.ok("visit", "amend", "--replace-points", "3", "--reason", "post was 4",
                   "--point", "sternocleidomastoid:L pre=8 post=4")
    whole = {fmt: export(clinic_data, "--all", "-f", fmt) for fmt in ("csv", "json")}
    monkeypatch.setattr(select, "VISIT_BATCH", batch)
    for fmt, text in whole.items():
        assert export(clinic_data, "--all", "-f", fmt) == text
    assert len(csv_rows(whole["csv"])) == 7


def test_the_readme_names_every_key_of_the_json_export(clinic_data):
    """The JSON export's shape as README gives it: every key written at each level (the file,
    a patient, a visit, a condition, a point), and none that is not."""
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    said = re.search(r"- \*\*json\*\*: `(\{format.*?\})`", readme, re.DOTALL)
    assert said is not None
    named = set(re.findall(r"\b([a-z][a-z0-9_]*)\b",
                           said.group(1).replace('"tplog-export"', "")))
    document = json.loads(export(clinic_data, "--all", "--format", "json"))
    patient = document["patients"][0]
    visit = patient["visits"][0]
    written = {*document, *patient, *visit, *visit["points"][0], *visit["conditions"][0]}
    assert named == written


def test_a_weight_measured_only_after_the_visit_checks_the_dose_as_visit_show_does(clinic):
    """The dose check of an export is the one `visit show` gives: the latest weight on or
    before the visit, failing that the nearest after it (clinical.weight_on). The export
    assumed 50 kg instead, and called 200 mg of lidocaine for a 40 kg patient within the
    limit (180 mg): false reassurance in the letter a physician reads."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1990-01-01")
    clinic.ok("log", "P0001", "--date", "2026-11-01", "--yes",
              "--point", "upper-trapezius:L pre=7 post=3 drug=lidocaine-1 ml=20")
    clinic.ok("patient", "weight", "P0001", "40", "--on", "2026-11-15")
    shown = json.loads(clinic.ok("visit", "show", "1", "--json").stdout)["dose_check"]
    (row,) = csv_rows(export(clinic, "P0001", "--format", "csv"))
    assert (row["weight_kg"], row["weight_measured_on"]) == ("40", "2026-11-15")
    assert "40 kg weighed 2026-11-15, after this day" in row["dose_check"]
    assert "over" in row["dose_check"].lower() and "over" in json.dumps(shown).lower()
    exported = json.loads(export(clinic, "P0001", "--format", "json"))
    visit = exported["patients"][0]["visits"][0]
    assert visit["dose_check"]["drugs"][0]["basis"] == shown["drugs"][0]["basis"]


def test_of_two_weights_of_one_day_the_one_recorded_last_counts_everywhere(clinic):
    """A patient weighed twice on one day (the second a correction): `visit show`'s dose
    check, the export's weight and its dose check all take the one recorded last, before
    the visit and, failing that, after it. `visit show` took the first and the export the
    last: 200 mg of lidocaine was over the limit in one and within it in the other."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1990-01-01")
    clinic.ok("patient", "add", "Bea Lovelace", "--dob", "1990-01-01")
    for mrn in ("P0001", "P0002"):
        clinic.ok("log", mrn, "--date", "2026-11-01", "--yes",
                  "--point", "upper-trapezius:L pre=7 post=3 drug=lidocaine-1 ml=20")
    # P0001 weighed on the visit's day; P0002 only after it.
    for mrn, day in (("P0001", "2026-11-01"), ("P0002", "2026-11-15")):
        clinic.ok("patient", "weight", mrn, "90", "--on", day)
        clinic.ok("patient", "weight", mrn, "40", "--on", day)
    rows = {row["mrn"]: row for row in csv_rows(export(clinic, "--all", "--format", "csv"))}
    for visit_id, mrn, day in (("1", "P0001", "2026-11-01"), ("2", "P0002", "2026-11-15")):
        shown = json.loads(clinic.ok("visit", "show", visit_id, "--json").stdout)
        assert (rows[mrn]["weight_kg"], rows[mrn]["weight_measured_on"]) == ("40", day)
        assert f"40 kg weighed {day}" in rows[mrn]["dose_check"]
        assert "40 kg" in shown["dose_check"]["drugs"][0]["basis"]
        assert "over" in rows[mrn]["dose_check"].lower()
        assert "over" in json.dumps(shown["dose_check"]).lower()
