"""Adverse events after a visit (issue 16): `tplog event`, recorded audited and append-only,
shown by `visit show` and `history`, counted by `summary`, carried by every export."""

import csv
import io
import json

import pytest

from tests.conftest import assert_refused, built_once, new_clinic
from tests.terminal import converse
from tests.test_audit import _without_guards

TABLES = ("adverse_event", "audit_event", "visit", "visit_revision")


def everything(clinic) -> dict[str, int]:
    return {table: clinic.count(table) for table in TABLES}


@built_once
def visited(clinic):
    """P0001 with two visits (3 points in all) on 2026-03-01 and 2026-03-15."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--weight-kg", "70")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch",
              "--point", "upper-trapezius:L pre=6 post=2 drug=lidocaine-1 ml=1",
              "--point", "deltoid:R pre=5 post=3 drug=lidocaine-1 ml=1")
    clinic.ok("log", "P0001", "--date", "2026-03-15", "--practitioner", "Dr Finch",
              "--point", "gluteus-medius:R pre=5 post=2 drug=lidocaine-1 ml=1")
    return clinic


def event(clinic, *args):
    return clinic.run("event", *args, "--practitioner", "Dr Finch")


def test_an_event_is_recorded_audited_and_returned(visited):
    events = visited.count("audit_event")
    result = event(visited, "1", "vasovagal", "--severity", "mild", "--on", "2026-03-01",
                   "--outcome", "resolved", "--note", "felt faint, lay flat", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    written = json.loads(result.stdout)
    assert written["adverse_event"] == {
        "id": 1, "kind": "vasovagal", "kind_name": "Vasovagal reaction", "severity": "mild",
        "occurred_on": "2026-03-01", "outcome": "resolved", "note": "felt faint, lay flat",
        "practitioner": "Dr Finch"}
    assert written["visit"]["id"] == 1
    assert written["visit"]["adverse_events"] == [written["adverse_event"]]
    assert "Recorded adverse event 1 for visit 1 (P0001)" in result.stderr
    assert visited.count("adverse_event") == 1
    assert visited.count("audit_event") == events + 1
    assert visited.sql("SELECT action, target FROM audit_event ORDER BY id DESC LIMIT 1") == [
        ("visit.event", "visit 1 adverse event 1: vasovagal")]
    assert "holds" in visited.ok("audit", "verify").stdout


def test_an_event_is_shown_by_visit_show_and_history(visited):
    event(visited, "1", "haematoma", "--severity", "moderate", "--on", "2026-03-02",
          "--outcome", "recovering", "--yes")
    shown = visited.ok("visit", "show", "1").stdout
    assert "Adverse event 1: 2026-03-02 Haematoma (bleeding), moderate, recovering" in shown
    history = visited.ok("history", "P0001").stdout
    assert "Adverse event 1: 2026-03-02 Haematoma (bleeding)" in history
    visits = json.loads(visited.ok("history", "P0001", "--json").stdout)["visits"]
    assert [(v["id"], [e["kind"] for e in v["adverse_events"]]) for v in visits] == [
        (2, []), (1, ["haematoma"])]


@pytest.mark.parametrize("typed, kind", [
    ("bleeding", "haematoma"), ("Hematoma", "haematoma"), ("vaso", "vasovagal"),
    ("LAST", "anaesthetic-toxicity"), ("allergy", "allergic-reaction"),
    ("pneumothorax", "pneumothorax"), ("infection", "infection"),
])
def test_a_kind_is_read_by_its_key_a_common_word_or_its_start(visited, typed, kind):
    result = event(visited, "1", typed, "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["adverse_event"]["kind"] == kind


def test_other_is_said_in_the_note(visited):
    result = event(visited, "1", "other", "--note", "headache that evening", "--yes", "--json")
    assert json.loads(result.stdout)["adverse_event"]["kind_name"] == \
        "Other (described in the note)"


@pytest.mark.parametrize("args, code, message", [
    (["1", "sneeze", "--yes"], 2, "adverse event 'sneeze' is not allowed; use vasovagal|"),
    (["1", "other", "--yes"], 2, "an event of kind 'other' needs --note"),
    (["1", "vasovagal", "--severity", "awful", "--yes"], 2,
     "--severity 'awful' is not allowed; use mild|moderate|severe"),
    (["1", "vasovagal", "--outcome", "fine", "--yes"], 2, "--outcome 'fine' is not allowed"),
    (["1", "vasovagal", "--on", "2026-02-28", "--yes"], 2,
     "date 2026-02-28 is before the visit (2026-03-01)"),
    (["1", "vasovagal", "--on", "2026-02-28"], 2, "is before the visit"),  # before asking
    (["1", "vasovagal", "--on", "2999-01-01", "--yes"], 2, "date 2999-01-01 is in the future"),
    (["1", "vasovagal", "--on", "March", "--yes"], 2, "--on"),
    (["9", "vasovagal", "--yes"], 1, "no visit with id 9"),
    (["x", "vasovagal", "--yes"], 2, "visit id 'x' is not allowed"),
    (["1", "vasovagal"], 5, "there is no terminal to ask; nothing was saved (confirm with "
                            "--yes)"),
])
def test_an_event_refused_writes_nothing(visited, args, code, message):
    before = everything(visited)
    result = event(visited, *args)
    assert_refused(result, code, message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert everything(visited) == before


@pytest.mark.parametrize("answer, events", [("n", 0), ("y", 1)])
def test_on_a_terminal_the_visit_is_shown_and_asked_about(sqlite_clinic, tmp_path, answer,
                                                           events):
    sqlite_clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    sqlite_clinic.ok("log", "P0001", "--date", "2026-03-01", "--point", "deltoid:L pre=3")
    code, screen = converse(
        ["--db", sqlite_clinic.url, "event", "1", "vasovagal", "--on", "2026-03-01"],
        [("Record it for this visit?", answer)], tmp_path)
    assert code == (0 if answer == "y" else 5), screen
    assert "An adverse event for" in screen
    assert "Ada Lovelace" in screen and "2026-03-01" in screen and "deltoid L" in screen
    assert sqlite_clinic.count("adverse_event") == events


def test_summary_counts_events_per_thousand_points_by_kind(visited):
    event(visited, "1", "vasovagal", "--yes")
    event(visited, "1", "haematoma", "--yes")
    event(visited, "2", "haematoma", "--yes")
    found = json.loads(visited.ok("summary", "--json").stdout)["adverse_events"]
    # 3 points in all: 1 vasovagal is 333.3 per 1,000 points; 2 haematomas 666.7.
    assert [(r["kind"], r["events"], r["points"], round(r["per_1000_points"], 1))
            for r in found] == [("vasovagal", 1, 3, 333.3), ("haematoma", 2, 3, 666.7),
                                ("all", 3, 3, 1000.0)]
    text = visited.ok("summary").stdout
    assert "Adverse events" in text and "Haematoma (bleeding)" in text and "666.67" in text
    # The summary's filters hold: a voided visit's events are left out, as the visit is.
    visited.ok("visit", "void", "2", "--reason", "wrong patient", "--yes")
    found = json.loads(visited.ok("summary", "--json").stdout)["adverse_events"]
    assert [(r["kind"], r["events"], r["points"]) for r in found] == [
        ("vasovagal", 1, 2), ("haematoma", 1, 2), ("all", 2, 2)]
    since = json.loads(visited.ok("summary", "--since", "2026-03-10", "--json").stdout)
    assert since["adverse_events"] == [{"kind": "all", "name": "All adverse events",
                                        "events": 0, "points": 0, "per_1000_points": None}]


# --- exports ----------------------------------------------------------------------------------

@pytest.fixture
def with_event(visited):
    event(visited, "1", "vasovagal", "--severity", "mild", "--on", "2026-03-01", "--outcome",
          "resolved-with-sequelae", "--note", "<b>faint</b> in room 3", "--yes")
    return visited


def export(clinic, *args) -> str:
    return clinic.ok("export", "P0001", *args).stdout


def test_the_json_export_carries_the_events(with_event):
    document = json.loads(export(with_event, "-f", "json"))
    visits = {v["visit"]: v for v in document["patients"][0]["visits"]}
    assert visits[1]["adverse_events"] == [{
        "kind": "vasovagal", "kind_name": "Vasovagal reaction", "severity": "mild",
        "occurred_on": "2026-03-01", "outcome": "resolved-with-sequelae",
        "note": "<b>faint</b> in room 3"}]
    assert visits[2]["adverse_events"] == []
    hidden = json.loads(export(with_event, "-f", "json", "--deidentify"))
    events = [e for v in hidden["patients"][0]["visits"] for e in v["adverse_events"]]
    assert events == [{"kind": "vasovagal", "kind_name": "Vasovagal reaction",
                       "severity": "mild", "occurred_on": 2026,
                       "outcome": "resolved-with-sequelae", "note": None}]


def test_the_csv_export_has_the_events_column_and_imports_back(with_event, tmp_path):
    exported = with_event.ok("export", "--all", "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["visit"], r["adverse_events"]) for r in rows] == [
        ("1", "2026-03-01 vasovagal (mild, resolved-with-sequelae)"),
        ("1", "2026-03-01 vasovagal (mild, resolved-with-sequelae)"), ("2", "")]
    source = tmp_path / "visits.csv"
    source.write_text(exported)
    with new_clinic(with_event.backend, tmp_path, "target", current=True) as target:
        result = target.ok("import", str(source))
        assert "Added 1 patient(s), 2 visit(s) with 3 point(s)" in result.stderr
        # The column is read past: events are recorded with `tplog event`, not imported.
        assert target.count("adverse_event") == 0
        assert "holds" in target.ok("audit", "verify").stdout


def test_a_csv_without_the_events_column_still_imports(clinic, tmp_path):
    from tplog.export.csv_format import HEADER

    template = clinic.ok("import", "--template").stdout
    header, example = list(csv.reader(io.StringIO(template)))
    assert tuple(header) == HEADER
    at = header.index("adverse_events")
    older = io.StringIO()
    csv.writer(older, lineterminator="\n").writerows([header[:at] + header[at + 1:],
                                                      example[:at] + example[at + 1:]])
    source = tmp_path / "older.csv"
    source.write_text(older.getvalue())
    result = clinic.ok("import", str(source))
    assert "Added 1 patient(s), 1 visit(s) with 1 point(s)" in result.stderr


def test_markdown_and_html_show_the_events_escaped(with_event):
    markdown = export(with_event, "-f", "md")
    assert "Adverse events:" in markdown
    assert "Vasovagal reaction \\(mild, resolved\\-with\\-sequelae\\): &lt;b&gt;faint&lt;/b&gt;" \
        in markdown
    html = export(with_event, "-f", "html")
    assert "<li><b>Adverse event:</b> 2026-03-01: Vasovagal reaction (mild, " \
           "resolved-with-sequelae): &lt;b&gt;faint&lt;/b&gt; in room 3</li>" in html
    assert "<b>faint</b>" not in html
    assert "faint" not in export(with_event, "-f", "html", "--deidentify")


def test_the_pdf_shows_the_events(with_event, tmp_path):
    from pypdf import PdfReader

    # The PDF is laid out from the same summary as the HTML (tplog.export.summary).
    target = tmp_path / "summary.pdf"
    with_event.ok("export", "P0001", "-f", "pdf", "-o", str(target))
    text = "".join("".join(page.extract_text() or "" for page in PdfReader(target).pages)
                   .split())
    assert "Adverseevent:2026-03-01:Vasovagalreaction(mild,resolved-with-sequelae):" \
           "<b>faint</b>inroom3" in text


def test_the_fhir_bundle_has_a_validating_adverse_event(with_event):
    from fhir.resources.R4B.bundle import Bundle

    bundle = json.loads(export(with_event, "-f", "fhir"))
    Bundle.model_validate(bundle)  # every resource, with the R4B models
    resources = [entry["resource"] for entry in bundle["entry"]]
    events = [r for r in resources if r["resourceType"] == "AdverseEvent"]
    assert len(events) == 1
    found = events[0]
    assert found["actuality"] == "actual" and found["date"] == "2026-03-01"
    # Text only for the kind (no verified code); FHIR's own codes for severity and outcome.
    assert found["event"] == {"text": "Vasovagal reaction: <b>faint</b> in room 3"}
    assert "coding" not in found["event"]
    assert found["severity"]["coding"] == [{
        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
        "code": "mild"}]
    assert found["outcome"]["coding"][0]["code"] == "resolvedWithSequelae"
    procedures = {e["fullUrl"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Procedure"
                  and e["resource"]["id"].startswith("procedure-1-")}
    assert {s["instance"]["reference"] for s in found["suspectEntity"]} == procedures
    encounter = next(e["fullUrl"] for e in bundle["entry"]
                     if e["resource"]["id"] == "encounter-1")
    assert found["encounter"]["reference"] == encounter
    hidden = json.loads(export(with_event, "-f", "fhir", "--deidentify"))
    Bundle.model_validate(hidden)
    event_hidden = next(e["resource"] for e in hidden["entry"]
                        if e["resource"]["resourceType"] == "AdverseEvent")
    assert event_hidden["date"] == "2026" and event_hidden["event"] == {
        "text": "Vasovagal reaction"}


# --- the audit trail and the guards -----------------------------------------------------------

@pytest.mark.parametrize("tampering, caught", [
    (["UPDATE adverse_event SET severity = 'severe'"],
     "the adverse_event record it wrote has been changed"),
    (["UPDATE adverse_event SET visit_id = 2"],
     "the adverse_event record it wrote has been changed"),
    (["DELETE FROM adverse_event"], "the adverse_event record it wrote (1) is missing"),
])
def test_a_raw_edit_of_an_event_is_caught(with_event, tampering, caught):
    assert "holds" in with_event.ok("audit", "verify").stdout
    _without_guards(with_event, *tampering)
    assert_refused(with_event.run("audit", "verify"), 4, caught)


def test_an_event_is_guarded(with_event):
    for statement in ("UPDATE adverse_event SET note = 'x'", "DELETE FROM adverse_event"):
        with pytest.raises(Exception, match="append-only"):
            with_event.sql(statement)
    assert with_event.sql("SELECT note FROM adverse_event") == [("<b>faint</b> in room 3",)]


def test_the_demo_has_an_event_and_an_allergy(_isolated_home):
    from typer.testing import CliRunner

    from tplog.cli import app

    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.stderr
    assert "Adverse event 1:" in result.stdout and "Vasovagal reaction, mild, resolved" in \
        result.stdout
    assert "Adverse events" in result.stdout
    where = result.stderr.split("(fictional patients, not your records): ")[1].split()[0]
    shown = CliRunner().invoke(app, ["--db", where, "patient", "show", "P0002"]).stdout
    assert "Allergies: bupivacaine (hives)" in shown
