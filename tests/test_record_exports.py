"""Issue 15: every export carries the whole record (follow-ups with relief, addenda, the
amendment, the recorded findings and how they were confirmed, the dose limits checked
against), and the CSV's record columns go export -> import -> export."""

import csv
import io
import json

import pytest

from tests.conftest import assert_refused, built_once, new_clinic
from tplog.export.csv_format import FIRST_HEADER, HEADER, RECORD_COLUMNS

ADDENDUM = "called back: no bruising"
FOLLOW_UP_NOTE = "much better, sleeping"
REASON = "post was 4, not 3"


def _log(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10", "--sex", "female")
    clinic.ok("patient", "weight", "P0001", "61.5", "--on", "2026-02-01")
    # 31 mL of lidocaine 1 % = 310 mg, over 4.5 mg/kg x 61.5 kg = 276.75 mg: confirmed.
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch",
              "--condition", "myofascial-pain", "--drug", "lidocaine-1", "--note", "tolerated",
              "--point", "upper-trapezius:L pre=7 post=3 ml=15",
              "--point", "upper-trapezius:R pre=6 post=2 ml=15",
              "--point", "rhomboids:L pre=5 ml=1", "--yes")
    clinic.ok("followup", "1", "--pain", "3", "--on", "2026-03-15", "--note", FOLLOW_UP_NOTE,
              "--practitioner", "Dr Finch", "--yes")
    clinic.ok("visit", "addendum", "1", ADDENDUM, "--practitioner", "Dr Finch")
    return clinic


@built_once
def recorded(clinic):
    """A visit with a confirmed dose warning, a follow-up and an addendum (not amended)."""
    return _log(clinic)


@pytest.fixture
def amended(recorded):
    recorded.ok("visit", "amend", "1", "--reason", REASON, "--set", "1 post=4", "--yes")
    return recorded


def _export(clinic, fmt, *args):
    return clinic.ok("export", "P0001", "-f", fmt, *args).stdout


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_json_carries_the_whole_record(amended):
    visit = json.loads(_export(amended, "json"))["patients"][0]["visits"][0]
    assert visit["follow_ups"] == [{"reported_on": "2026-03-15", "pain": 3, "days_after": 14,
                                    "percent_relief": 50.0, "note": FOLLOW_UP_NOTE,
                                    "practitioner": "Dr Finch", "peg": None, "pgic": None}]
    assert visit["relief_days"] == 14  # 50 % relief at day 14, the last follow-up
    assert [(a["text"], a["practitioner"]) for a in visit["addenda"]] == [(ADDENDUM,
                                                                           "Dr Finch")]
    assert visit["revision"] == 2
    assert visit["amendment"]["reason"] == REASON and visit["amendment"]["amended_at"]
    assert visit["amendment"]["amended_by"]
    dose = [w for w in visit["warnings"] if w["kind"] == "dose"]
    assert dose[0]["confirmation"] == "confirmed with --yes"
    assert "over the limit" in dose[0]["message"]
    # The limit checked against, with its basis.
    assert visit["dose_check"]["drugs"][0]["basis"].startswith("4.5 mg/kg x 61.5 kg")


def test_csv_carries_the_whole_record_on_every_row_of_the_visit(amended):
    text = _export(amended, "csv")
    assert text.splitlines()[0] == ",".join(HEADER)
    rows = _rows(text)
    assert len(rows) == 3  # still one row per point
    assert all({c: r[c] for c in RECORD_COLUMNS} == {c: rows[0][c] for c in RECORD_COLUMNS}
               for r in rows)
    row = rows[0]
    assert (row["revision"], row["amendment_reason"], row["relief_days"]) == ("2", REASON,
                                                                             "14")
    assert row["amended_at"] and row["amended_by"]
    assert json.loads(row["follow_ups"])[0]["note"] == FOLLOW_UP_NOTE
    assert json.loads(row["addenda"])[0]["text"] == ADDENDUM
    warnings = json.loads(row["warnings"])
    assert {"kind": "dose", "confirmation": "confirmed with --yes"}.items() <= \
        [w for w in warnings if w["kind"] == "dose"][0].items()
    assert "4.5 mg/kg x 61.5 kg" in row["dose_check"]


def test_markdown_carries_the_whole_record(amended):
    text = _export(amended, "md")
    assert "Follow-ups:" in text and "14 day(s) after: pain 3, 50 % relief" in text
    assert "much better, sleeping" in text
    assert "Relief of at least 30 % lasted 14 day(s)" in text
    assert "Addenda:" in text and "called back: no bruising" in text
    assert "Amended (revision 2) on " in text and "post was 4, not 3" in text
    assert "dose: local anaesthetic dose on 2026\\-03\\-01 is over the limit" in text
    assert "(confirmed: confirmed with \\-\\-yes)" in text
    assert "4.5 mg/kg x 61.5 kg" in text  # the limit checked against


def test_fhir_carries_the_whole_record(amended):
    from fhir.resources.R4B.bundle import Bundle

    bundle = json.loads(_export(amended, "fhir"))
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    follow_up = [r for r in resources if r["id"].startswith("follow-up-")]
    assert [(f["effectiveDateTime"], f["valueInteger"]) for f in follow_up] == [
        ("2026-03-15", 3)]
    assert follow_up[0]["code"]["coding"][0]["code"] == "72514-3"
    assert any("50 % relief" in n["text"] for n in follow_up[0]["note"])
    assert any(n["text"] == FOLLOW_UP_NOTE for n in follow_up[0]["note"])
    visit_procedure = [r for r in resources if r["id"] == "procedure-1"][0]
    notes = [n["text"] for n in visit_procedure["note"]]
    assert f"Addendum: {ADDENDUM}" in notes
    assert f"Amended (revision 2): {REASON}" in notes
    assert any("4.5 mg/kg x 61.5 kg" in n for n in notes)  # the limit checked against
    issues = [r for r in resources if r["resourceType"] == "DetectedIssue"]
    dose = [i for i in issues if i["code"]["text"] == "Local anaesthetic dose"][0]
    assert "over the limit" in dose["detail"]
    assert "confirmed with --yes" in dose["mitigation"][0]["action"]["text"]
    assert dose["implicated"][0]["reference"] == [e["fullUrl"] for e in bundle["entry"]
                                                  if e["resource"] is visit_procedure][0]


@pytest.mark.parametrize("fmt", ["json", "csv", "md", "fhir"])
def test_deidentified_exports_keep_the_record_without_its_words(amended, fmt):
    text = amended.ok("export", "--all", "-f", fmt, "--deidentify").stdout
    for private in (ADDENDUM, FOLLOW_UP_NOTE, REASON, "Dr Finch", "2026-03-15"):
        assert private not in text, private
    if fmt == "json":
        visit = json.loads(text)["patients"][0]["visits"][0]
        assert visit["follow_ups"][0]["pain"] == 3 and visit["follow_ups"][0]["note"] is None
        assert visit["revision"] == 2 and visit["amendment"]["reason"] is None
        assert visit["addenda"] == []
        assert {"kind": "dose", "message": None, "confirmation": "confirmed with --yes"} in \
            visit["warnings"]


def test_round_trip_recreates_follow_ups_addenda_and_findings(recorded, tmp_path):
    exported = _export(recorded, "csv")
    source = tmp_path / "visits.csv"
    source.write_text(exported)
    with new_clinic(recorded.backend, tmp_path, "target", current=True) as target:
        result = target.ok("import", str(source))
        assert "1 visit(s) with 3 point(s) and 1 follow-up(s), 1 addend(a)" in result.stderr
        assert "amended" not in result.stderr
        assert target.ok("export", "P0001", "-f", "csv").stdout == exported
        assert "holds" in target.ok("audit", "verify").stdout
        actions = [e["action"] for e in json.loads(target.ok("audit", "log", "--json").stdout)]
        assert actions.count("visit.followup") == 1 and actions.count("visit.addendum") == 1
        # Importing it again adds nothing: the visit, its follow-up and addendum are there.
        again = target.ok("import", str(source))
        assert "Added 0 patient(s), 0 visit(s) with 0 point(s); 1 visit(s) were already" in \
            again.stderr
        assert (target.count("follow_up"), target.count("visit_addendum")) == (1, 1)


def test_an_amended_visit_is_imported_as_logged_and_the_import_says_so(amended, tmp_path):
    """An amendment is history: the import keeps the visit as it reads now, as revision 1,
    and counts the visits that had been amended; everything else comes back as it was."""
    exported = _export(amended, "csv")
    source = tmp_path / "visits.csv"
    source.write_text(exported)
    with new_clinic(amended.backend, tmp_path, "target", current=True) as target:
        result = target.ok("import", str(source))
        assert "1 visit(s) had been amended: imported as they read now, as logged" in \
            result.stderr
        again = _rows(target.ok("export", "P0001", "-f", "csv").stdout)
        history = ("revision", "amended_at", "amended_by", "amendment_reason")
        for before, after in zip(_rows(exported), again, strict=True):
            assert {c: after[c] for c in history} == {"revision": "1", "amended_at": "",
                                                      "amended_by": "", "amendment_reason": ""}
            assert {k: v for k, v in before.items() if k not in history} == \
                {k: v for k, v in after.items() if k not in history}
        assert target.sql("SELECT pain_after FROM injected_point WHERE position = 1") == [(4,)]
        assert "holds" in target.ok("audit", "verify").stdout


def test_a_file_with_the_earlier_header_still_imports(clinic, tmp_path):
    source = tmp_path / "old.csv"
    source.write_text(",".join(FIRST_HEADER) + "\n" + ",".join([
        "P0001", "Ada Lovelace", "1950-12-10", "female", "", "1", "2026-03-01", "", "Dr Finch",
        "", "", "1", "deltoid", "L", "6", "2", "", "", "", "", ""]) + "\n")
    clinic.ok("import", str(source))
    row = _rows(clinic.ok("export", "--all", "-f", "csv").stdout)[0]
    assert (row["revision"], row["follow_ups"], row["addenda"], row["warnings"]) == (
        "1", "[]", "[]", "[]")


@pytest.mark.parametrize(("column", "cell", "fragment"), [
    ("follow_ups", "not json", "follow_ups is not a JSON list of objects"),
    ("follow_ups", '[{"reported_on": "2026-03-15", "pain": 11}]',
     "follow_ups: pain 11 is not allowed; pain is a whole number 0-10"),
    ("follow_ups", '[{"reported_on": "2026-02-01", "pain": 3}]',
     "is before the visit (2026-03-01)"),
    ("addenda", '[{"text": "x", "created_at": "yesterday"}]',
     "addenda: created_at 'yesterday' is not a date and time"),
    ("addenda", '[{"created_at": "2026-03-02T10:00:00+00:00"}]', "addendum has no text"),
    ("warnings", '[{"kind": "DROP TABLE", "message": "x"}]', "is not a finding's kind"),
    ("revision", "0", "revision '0' is not allowed"),
])
def test_bad_record_cells_are_refused_by_line_and_nothing_is_written(clinic, tmp_path, column,
                                                                     cell, fragment):
    values = dict(zip(FIRST_HEADER, [
        "P0001", "Ada Lovelace", "1950-12-10", "female", "", "1", "2026-03-01", "", "Dr Finch",
        "", "", "1", "deltoid", "L", "6", "2", "", "", "", "", ""], strict=True))
    values[column] = cell
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([HEADER, [values.get(h, "") for h in HEADER]])
    source = tmp_path / "bad.csv"
    source.write_text(out.getvalue())
    result = clinic.run("import", str(source))
    assert_refused(result, 2, "line 2: ", fragment, "nothing was imported")
    assert clinic.counts()["patient"] == 0
    assert (clinic.count("follow_up"), clinic.count("visit_addendum"),
            clinic.count("audit_event")) == (0, 0, 0)
