"""tplog import: the CSV export read back; every row checked first; idempotent."""

import json

import pytest

from tests.conftest import assert_refused, new_clinic
from tests.test_export import clinic_data  # noqa: F401  (the fixture)
from tplog.export.csv_format import HEADER


def test_export_import_export_gives_the_identical_file(clinic_data, tmp_path):  # noqa: F811
    exported = clinic_data.ok("export", "--all", "-f", "csv").stdout
    source = tmp_path / "visits.csv"
    source.write_text(exported)
    with new_clinic(clinic_data.backend, tmp_path, "target") as target:
        result = target.ok("import", str(source))
        assert "Added 2 patient(s), 3 visit(s) with 7 point(s); 0 visit(s) were already" in \
            result.stderr
        assert target.ok("export", "--all", "-f", "csv").stdout == exported
        assert "holds" in target.ok("audit", "verify").stdout
        actions = {e["action"] for e in json.loads(target.ok("audit", "log", "--json").stdout)}
        assert {"patient.add", "visit.import"} <= actions


def test_importing_twice_adds_nothing_the_second_time(clinic, tmp_path):
    source = tmp_path / "template.csv"
    source.write_text(clinic.ok("import", "--template").stdout)
    clinic.ok("import", str(source))
    before = clinic.counts()
    result = clinic.ok("import", str(source))
    assert "Added 0 patient(s), 0 visit(s) with 0 point(s); 1 visit(s) were already there" in \
        result.stderr
    assert clinic.counts() == before


def test_the_template_is_the_header_and_one_example_that_imports(clinic, tmp_path):
    text = clinic.ok("import", "--template").stdout
    lines = text.splitlines()
    assert lines[0] == ",".join(HEADER) and len(lines) == 2
    source = tmp_path / "t.csv"
    source.write_text(text)
    clinic.ok("import", str(source))
    history = json.loads(clinic.ok("history", "P0001", "--json").stdout)
    assert history["patient"]["name"] == "Example Patient"
    assert history["visits"][0]["points"][0]["muscle"] == "upper-trapezius"


def test_dry_run_counts_and_writes_nothing(clinic, tmp_path):
    source = tmp_path / "t.csv"
    source.write_text(clinic.ok("import", "--template").stdout)
    result = clinic.ok("import", str(source), "--dry-run")
    assert "Would add 1 patient(s), 1 visit(s) with 1 point(s)" in result.stderr
    assert clinic.counts() == {"patient": 0, "visit": 0, "visit_condition": 0,
                               "injected_point": 0}


def _row(**changes):
    # By name: a column added later (a finding, a procedure detail, a lot) is left empty.
    values = dict.fromkeys(HEADER, "") | {
        "mrn": "P0001", "patient_name": "Ada Lovelace", "date_of_birth": "1950-12-10",
        "sex": "female", "weight_kg": "61.5", "visit": "1", "visit_date": "2026-03-01",
        "practitioner": "Dr Finch", "conditions": "myofascial-pain", "point": "1",
        "muscle": "deltoid", "side": "L", "pain_before": "6", "pain_after": "2",
        "twitch_response": "yes", "soreness": "mild", "numbness": "no",
        "drug": "lidocaine-1", "volume_ml": "1"}
    values.update(changes)
    return ",".join(values.get(h, "") for h in HEADER)


def test_every_bad_row_is_named_by_line_and_nothing_is_written(clinic, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("\n".join([
        ",".join(HEADER),
        _row(),                                              # line 2: good
        _row(point="2", muscle="deltiod"),                   # line 3
        _row(visit="2", visit_date="2026-02-30"),            # line 4
        _row(visit="3", pain_before="12"),                   # line 5
        _row(visit="4", side="X"),                           # line 6
        _row(visit="5", practitioner=""),                    # line 7
        _row(visit="6", conditions="gout"),                  # line 8
        _row(visit="7", patient_name="Someone Else"),        # line 9: same MRN, other name
        _row(visit="8", sex="x"),                            # line 10
        "P0002,too,few,cells",                               # line 11
    ]) + "\n")
    result = clinic.run("import", str(source))
    assert_refused(result, 2, "9 bad row(s)", "nothing was imported")
    for line, reason in [(3, "unknown muscle 'deltiod'"), (4, "visit_date '2026-02-30'"),
                         (5, "pain_before '12' is not allowed"), (6, "side 'X'"),
                         (7, "practitioner is empty"), (8, "unknown condition 'gout'"),
                         (9, "patient P0001 has another name"), (10, "sex 'x'"),
                         (11, f"4 cells, expected {len(HEADER)}")]:
        assert f"line {line}: {reason}" in result.stderr, (line, result.stderr)
    assert clinic.counts()["patient"] == 0 and clinic.count("audit_event") == 0


def test_an_mrn_that_belongs_to_someone_else_is_refused(clinic, tmp_path):
    clinic.ok("patient", "add", "Grace Hopper", "--mrn", "P0001")
    source = tmp_path / "t.csv"
    source.write_text(",".join(HEADER) + "\n" + _row() + "\n")
    result = clinic.run("import", str(source))
    assert_refused(result, 2, "line 2: MRN P0001 is 'Grace Hopper' in the database, not "
                              "'Ada Lovelace'", "nothing was imported")
    assert clinic.count("visit") == 0


@pytest.mark.parametrize("content, fragment", [
    ("name,date\nx,y\n", "does not start with tplog's CSV header"),
    ("", "does not start with tplog's CSV header"),
])
def test_a_file_that_is_not_the_format_is_refused(clinic, tmp_path, content, fragment):
    source = tmp_path / "t.csv"
    source.write_text(content)
    assert_refused(clinic.run("import", str(source)), 2, fragment)


@pytest.mark.parametrize("refused", [1, 6], ids=["first-batch", "last-batch"])
def test_points_the_database_refuses_end_the_import_in_one_line_and_leave_nothing(
        clinic, tmp_path, monkeypatch, refused):
    """The points reach the database in bulk (COPY on PostgreSQL, the driver's executemany
    on SQLite), past SQLAlchemy: a row the database itself refuses there (a trigger stands
    for a full disk or a constraint) is still one line, exit 3, and earlier batches go too.
    On PostgreSQL a batch's points are still being stored while the next rows are read
    (csv_bulk.send): refused in the first batch, the import ends there just the same."""
    from tplog.export import csv_import as importer

    monkeypatch.setattr(importer, "BATCH_VISITS", 2)
    if clinic.backend == "sqlite":
        clinic.sql("CREATE TRIGGER refuse_point BEFORE INSERT ON injected_point "
                   "WHEN NEW.muscle = 'infraspinatus' BEGIN SELECT RAISE(ABORT, "
                   "'no infraspinatus here'); END")
    else:
        clinic.sql_script([
            "CREATE FUNCTION refuse_point() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.muscle = 'infraspinatus' THEN RAISE EXCEPTION 'no infraspinatus here'; "
            "END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_point BEFORE INSERT ON injected_point FOR EACH ROW "
            "EXECUTE FUNCTION refuse_point()"])
    rows = [_row(mrn=f"Q{n}", patient_name=f"Patient {n}", visit=str(n),
                 muscle="infraspinatus" if n == refused else "deltoid") for n in range(1, 7)]
    source = tmp_path / "refused.csv"
    source.write_text("\n".join([",".join(HEADER), *rows]) + "\n")
    assert_refused(clinic.run("import", str(source)), 3, "no infraspinatus here",
                   "nothing was saved")
    assert clinic.counts() == {"patient": 0, "visit": 0, "visit_condition": 0,
                               "injected_point": 0}
    assert clinic.count("audit_event") == 0
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_a_patient_already_here_met_after_a_batch_was_written_is_compared_with_the_database(
        clinic, tmp_path, monkeypatch):
    """The database is asked about a patient it holds only once the batch before has been
    stored (on PostgreSQL its points are still on their way while the file is read)."""
    from tplog.export import csv_import as importer

    monkeypatch.setattr(importer, "BATCH_VISITS", 2)
    source = tmp_path / "first.csv"
    source.write_text(",".join(HEADER) + "\n" + _row() + "\n")
    clinic.ok("import", str(source))  # Ada and her visit of 2026-03-01
    rows = [_row(mrn=f"Q{n}", patient_name=f"Patient {n}", visit=str(n)) for n in range(1, 6)]
    rows += [_row(visit="7"),  # the visit already here
             _row(visit="8", visit_date="2026-04-01")]  # a new one of hers
    source.write_text("\n".join([",".join(HEADER), *rows]) + "\n")
    result = clinic.ok("import", str(source))
    assert "Added 5 patient(s), 6 visit(s) with 6 point(s); 1 visit(s) were already there" \
        in result.stderr
    history = json.loads(clinic.ok("history", "P0001", "--json").stdout)
    assert [v["visit_date"] for v in history["visits"]] == ["2026-04-01", "2026-03-01"]
    assert clinic.counts()["injected_point"] == 7
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_a_missing_file_or_no_file(clinic, tmp_path):
    assert_refused(clinic.run("import", str(tmp_path / "nope.csv")), 2, "no file")
    assert_refused(clinic.run("import"), 2, "give the CSV file to import")


def test_a_bad_row_after_batches_were_written_still_leaves_nothing(clinic, tmp_path,
                                                                    monkeypatch):
    """The import writes as it reads; a mistake near the end rolls back what came before."""
    from tplog.export import csv_import as importer

    monkeypatch.setattr(importer, "BATCH_VISITS", 2)  # so five visits make two batches
    rows = [_row(mrn=f"Q{n}", patient_name=f"Patient {n}", visit=str(n)) for n in range(1, 6)]
    rows.append(_row(mrn="Q6", patient_name="Patient 6", visit="6", pain_before="eleven"))
    source = tmp_path / "late.csv"
    source.write_text("\n".join([",".join(HEADER), *rows]) + "\n")
    result = clinic.run("import", str(source))
    assert_refused(result, 2, "line 7: pain_before 'eleven' is not allowed",
                   "1 bad row(s)", "nothing was imported")
    assert clinic.counts() == {"patient": 0, "visit": 0, "visit_condition": 0,
                               "injected_point": 0}
    assert clinic.count("audit_event") == 0
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_a_new_patient_without_a_name_or_born_in_the_future_is_refused(clinic, tmp_path):
    source = tmp_path / "new.csv"
    source.write_text("\n".join([
        ",".join(HEADER),
        _row(mrn="N1", patient_name="", visit="1"),                           # line 2
        _row(mrn="N2", patient_name="Future Child", date_of_birth="2999-01-01",
             visit="2"),                                                       # line 3
        _row(mrn="N3", patient_name="Fine Patient", visit="3"),               # line 4: good
    ]) + "\n")
    result = clinic.run("import", str(source))
    assert_refused(result, 2, "line 2: patient_name is empty; a new patient (N1) needs a name",
                   "line 3: date of birth 2999-01-01 is in the future", "2 bad row(s)",
                   "nothing was imported")
    assert clinic.counts() == {"patient": 0, "visit": 0, "visit_condition": 0,
                               "injected_point": 0}
    assert clinic.count("audit_event") == 0


def test_the_import_digests_every_column_of_a_revision_and_its_parts():
    # A column added to a table and not written by the import fails at once, rather than
    # giving digests that `audit verify` would later dispute.
    from tplog.db.chain import RevisionDigests
    from tplog.export import csv_import

    columns = (("id", *csv_import._REVISION_COLUMNS), csv_import._POINT_COLUMNS,
               csv_import._CONDITION_COLUMNS, csv_import._MOTION_COLUMNS,
               ("id", *csv_import._LOT_COLUMNS))
    RevisionDigests(*columns)
    for part, table in enumerate(("visit_revision", "injected_point", "visit_condition",
                                  "range_of_motion", "injectate_lot")):
        short = list(columns)
        short[part] = columns[part][:-1]
        with pytest.raises(ValueError, match=table):
            RevisionDigests(*short)


def test_text_with_copys_escapes_imports_as_written(clinic, tmp_path):
    # PostgreSQL takes the rows as COPY text, where a backslash, a tab and a newline are
    # escapes: a note and an addendum holding them (and COPY's own \N and \.) come back as
    # written, and the trail holds.
    import csv

    note = "tab\there\nnew line \\N and \\. and a \\ backslash"
    values = dict(zip(HEADER, _row().split(","), strict=True)) | {
        "visit_note": note,
        "addenda": json.dumps([{"created_at": "2026-03-02T09:30:00+00:00",
                                "created_by": "nurse", "practitioner": "Dr Finch",
                                "text": "\\\\server\\share\tsee\nabove"}])}
    source = tmp_path / "escapes.csv"
    with source.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, [values[h] for h in HEADER]])
    clinic.ok("import", str(source))
    visit = json.loads(clinic.ok("history", "P0001", "--json").stdout)["visits"][0]
    assert visit["note"] == note
    assert [a["text"] for a in visit["addenda"]] == ["\\\\server\\share\tsee\nabove"]
    assert "holds" in clinic.ok("audit", "verify").stdout


@pytest.mark.parametrize("column", ["visit_note", "pregnant", "practitioner", "lots"])
def test_a_visit_whose_rows_disagree_is_refused_naming_the_column(clinic, tmp_path, column):
    """A visit's columns are read from its first row: a later row with another value (a
    hand-edited file) is refused naming the column and both lines, not dropped."""
    import csv
    import io

    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--note", "tolerated well",
              "--pregnant", "no", "--lot", "lidocaine-1=AB1:2027-05",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=1",
              "--point", "deltoid:R pre=5 post=2 drug=lidocaine-1 ml=1")
    table = list(csv.reader(io.StringIO(clinic.ok("export", "P0001").stdout)))
    table[2][HEADER.index(column)] = {"visit_note": "another note", "pregnant": "yes",
                                      "practitioner": "Dr Other",
                                      "lots": "lidocaine-1=ZZ9:2027-05"}[column]
    edited = tmp_path / "edited.csv"
    with edited.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(table)
    with new_clinic(clinic.backend, tmp_path, "other", current=True) as other:
        result = other.run("import", str(edited))
        assert_refused(result, 2, f"line 3: visit 1: {column} differs from the visit's first "
                                  "row (line 2)", "nothing was imported")
        assert other.count("visit") == 0 and other.count("audit_event") == 0


def test_a_weight_measured_after_the_visit_imports_but_not_one_in_the_future(clinic, tmp_path):
    """weight_measured_on may follow the visit (the nearest weight, the one its dose check
    used, as an export writes it), never today's future."""
    import csv
    import datetime as dt
    import io

    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--date", "2026-03-01",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=1")
    clinic.ok("patient", "weight", "P0001", "61", "--on", "2026-03-20")
    text = clinic.ok("export", "P0001").stdout
    with new_clinic(clinic.backend, tmp_path, "other", current=True) as other:
        source = tmp_path / "after.csv"
        source.write_text(text)
        other.ok("import", str(source))
        (row,) = csv.DictReader(io.StringIO(other.ok("export", "--all").stdout))
        assert (row["weight_kg"], row["weight_measured_on"]) == ("61", "2026-03-20")
        table = list(csv.reader(io.StringIO(text)))
        future = str(dt.date.today() + dt.timedelta(days=2))
        table[1][HEADER.index("weight_measured_on")] = future
        edited = tmp_path / "future.csv"
        with edited.open("w", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(table)
        with new_clinic(clinic.backend, tmp_path, "third", current=True) as third:
            assert_refused(third.run("import", str(edited)), 2,
                           f"weight_measured_on {future} is not allowed", "not in the future")
            assert third.count("patient") == 0


def test_a_pregnant_cell_that_is_not_yes_no_or_unknown_is_refused(clinic, tmp_path):
    import csv
    import io

    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1990-01-01")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--pregnant", "no",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=1")
    table = list(csv.reader(io.StringIO(clinic.ok("export", "P0001").stdout)))
    table[1][HEADER.index("pregnant")] = "maybe"
    edited = tmp_path / "maybe.csv"
    with edited.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(table)
    with new_clinic(clinic.backend, tmp_path, "other", current=True) as other:
        assert_refused(other.run("import", str(edited)), 2,
                       "line 2: pregnant 'maybe' is not allowed", "yes|no|unknown",
                       "nothing was imported")
        assert other.count("patient") == 0 and other.count("audit_event") == 0


def test_a_clinic_imported_into_itself_adds_nothing_whatever_its_visits_hold(clinic,
                                                                              tmp_path):
    """The visits in the database of a file's patients are read for many patients at once:
    each is still compared as `history` gives it (a procedure, ranges of motion, lots, PEG,
    pregnancy; an amended visit, as it is now; a merged duplicate's, its patient's now).
    A file written before a visit was corrected or voided holds the old record: it is not
    imported as a visit of its own (a hostile trial: the uncorrected visit came back beside
    the corrected one, its dose counted twice, and a visit voided as entered in error came
    back live)."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")  # P0001
    clinic.ok("patient", "add", "Bea Lovelace", "--dob", "1960-01-01")  # P0002
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10", "--yes")  # P0003
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--yes", "--practitioner", "Dr Finch",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=1",
              "--lot", "lidocaine-1=AB123:2030-05", "--pregnant", "no", "--peg", "6,5,7",
              "--consent", "written", "--needle", "25G 1.5in",
              "--rom", "cervical-rotation:L before=40 after=60")
    clinic.ok("log", "P0002", "--date", "2026-03-02", "--yes", "--practitioner", "Dr Finch",
              "--point", "upper-trapezius:R pre=7 post=3 drug=lidocaine-1 ml=3")
    clinic.ok("log", "P0003", "--date", "2026-03-03", "--yes", "--practitioner", "Dr Finch",
              "--point", "rhomboids:L pre=5 post=1 drug=lidocaine-1 ml=1")
    clinic.ok("patient", "merge", "P0003", "P0001", "--yes", "--reason", "added twice")
    clinic.ok("log", "P0002", "--date", "2026-03-04", "--yes", "--practitioner", "Dr Finch",
              "--point", "upper-trapezius:L pre=7 post=3 drug=lidocaine-1 ml=1")
    older = tmp_path / "older.csv"
    older.write_text(clinic.ok("export", "--all", "-f", "csv").stdout)
    clinic.ok("visit", "amend", "2", "--yes", "--reason", "1 mL, not 3",
              "--set", "1 ml=1")
    clinic.ok("visit", "void", "4", "--yes", "--reason", "entered in error")
    now = tmp_path / "now.csv"
    now.write_text(clinic.ok("export", "--all", "-f", "csv").stdout)
    before = clinic.counts()
    again = clinic.ok("import", str(now))
    assert ("Added 0 patient(s), 0 visit(s) with 0 point(s); 3 visit(s) were already there"
            in again.stderr)
    stale = clinic.ok("import", str(older))
    assert ("Added 0 patient(s), 0 visit(s) with 0 point(s); 2 visit(s) were already there"
            in stale.stderr)
    assert "2 visit(s) of the file read as visits here did before they were corrected or " \
        "voided: not imported again" in " ".join(stale.stderr.split())
    assert clinic.counts() == before
    history = json.loads(clinic.ok("history", "P0002", "--json").stdout)
    assert [v["visit_date"] for v in history["visits"]] == ["2026-03-02"]
    assert history["visits"][0]["points"][0]["volume_ml"] == 1
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_bad_rows_are_named_in_the_order_of_their_lines(clinic, tmp_path):
    """A new patient's missing name (found when the patient is met) and a cell's mistake
    (found as the line is read) are reported in the file's order of lines, however far
    ahead of the patients met the file is read."""
    rows = [_row(mrn="Q1", patient_name="", visit="1"),
            _row(mrn="Q2", patient_name="Patient 2", visit="2", pain_before="eleven"),
            _row(mrn="Q3", patient_name="", visit="3")]
    source = tmp_path / "bad.csv"
    source.write_text("\n".join([",".join(HEADER), *rows]) + "\n")
    result = clinic.run("import", str(source))
    assert_refused(result, 2, "3 bad row(s)", "nothing was imported")
    named = [line.split(":")[0].strip() for line in result.stderr.splitlines()
             if line.strip().startswith("line ")]
    assert named == ["line 2", "line 3", "line 4"]
    assert clinic.counts()["patient"] == 0


def test_a_file_meeting_a_thousand_patients_here_imports_on_sqlite_of_999_variables(
        sqlite_clinic, tmp_path, monkeypatch):
    """SQLite before 3.32 (Ubuntu 20.04, RHEL 8) allows 999 variables in a statement: a batch
    of the file meeting more patients already here than that is read in slices."""
    import sqlite3

    from sqlalchemy import Engine, event

    from benchmarks import generate as clinics

    monkeypatch.setattr(clinics, "VISITS_PER_PATIENT", 1)
    clinics.generate(sqlite_clinic.url, 6_000)  # 1,200 visits of 1,200 patients
    source = tmp_path / "again.csv"
    source.write_text(sqlite_clinic.ok("export", "--all", "-f", "csv").stdout)

    def old_sqlite(dbapi_connection, _record):  # noqa: ANN001, ANN202
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    event.listen(Engine, "connect", old_sqlite)
    try:
        result = sqlite_clinic.ok("import", str(source))
    finally:
        event.remove(Engine, "connect", old_sqlite)
    assert "Added 0 patient(s), 0 visit(s) with 0 point(s); 1200 visit(s) were already" \
        in result.stderr


def test_a_new_visits_weight_is_recorded_for_a_patient_already_here(clinic, tmp_path):
    """A file from another record system brings a patient here a visit with a newer weight:
    it is recorded as a measurement, as for a patient the import creates, and the next dose
    check uses it (a hostile trial: it was dropped, and the limits stayed those of 70 kg for
    a patient of 45). A weight the record holds already is not recorded again."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    clinic.ok("patient", "weight", "P0001", "70", "--on", "2026-01-01")
    rows = [_row(visit="1", visit_date="2026-03-01", weight_kg="45",
                 weight_measured_on="2026-02-15"),
            _row(visit="2", visit_date="2026-03-08", weight_kg="45",
                 weight_measured_on="2026-02-15", muscle="rhomboids")]
    source = tmp_path / "elsewhere.csv"
    source.write_text("\n".join([",".join(HEADER), *rows]) + "\n")
    clinic.ok("import", str(source))
    shown = json.loads(clinic.ok("patient", "show", "P0001", "--json").stdout)
    assert shown["weight_kg"] == 45
    assert clinic.count("patient_weight") == 2  # 70 on record, 45 from the file, once
    clinic.ok("log", "P0001", "--date", "2026-03-15", "--yes",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=20")
    checked = json.loads(clinic.ok("visit", "show", "3", "--json").stdout)["dose_check"]
    assert "45 kg weighed 2026-02-15" in json.dumps(checked)
    again = tmp_path / "again.csv"
    again.write_text(clinic.ok("export", "P0001", "-f", "csv").stdout)
    clinic.ok("import", str(again))
    assert clinic.count("patient_weight") == 2
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_two_visits_of_a_file_that_record_the_same_are_two_visits(clinic, tmp_path):
    """Two visits of the file (two visit numbers) recording the same are both imported, each
    matched with one visit here at most (a hostile trial: the second was counted "already
    there", and the day's dose in the export halved); importing the file again adds
    nothing."""
    twice = [_row(visit="1"), _row(visit="2")]
    source = tmp_path / "twice.csv"
    source.write_text("\n".join([",".join(HEADER), *twice]) + "\n")
    first = clinic.ok("import", str(source))
    assert "Added 1 patient(s), 2 visit(s) with 2 point(s); 0 visit(s) were already" \
        in first.stderr
    again = clinic.ok("import", str(source))
    assert "Added 0 patient(s), 0 visit(s) with 0 point(s); 2 visit(s) were already" \
        in again.stderr
    three = tmp_path / "three.csv"
    three.write_text("\n".join([",".join(HEADER), *twice, _row(visit="3")]) + "\n")
    more = clinic.ok("import", str(three))
    assert "Added 0 patient(s), 1 visit(s) with 1 point(s); 2 visit(s) were already" \
        in more.stderr
    assert clinic.counts()["visit"] == 3
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_an_mrn_here_born_on_another_day_clashes_and_nothing_is_imported(clinic, tmp_path):
    """An MRN of the database carrying the same name but another date of birth is another
    person, or a slip in one record: refused as a clash naming both dates, nothing written
    (a hostile trial: the MRN was matched on the name alone, and the visit filed under
    the patient here)."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    source = tmp_path / "other.csv"
    source.write_text("\n".join([",".join(HEADER), _row(date_of_birth="1951-12-10")]) + "\n")
    before = clinic.counts()
    result = clinic.run("import", str(source))
    assert_refused(result, 2, "line 2: MRN P0001 was born 1950-12-10 in the database, not "
                   "1951-12-10", "1 row(s) clash with the database", "nothing was imported")
    assert clinic.counts() == before
    same = tmp_path / "same.csv"
    same.write_text("\n".join([",".join(HEADER), _row(date_of_birth="")]) + "\n")
    clinic.ok("import", str(same))  # a file that does not say is not a clash
    assert clinic.counts()["visit"] == before["visit"] + 1


def test_follow_ups_and_addenda_a_file_brings_to_a_visit_here_are_added_once(clinic,
                                                                              tmp_path):
    """A visit here that a file holds too, with follow-ups and addenda recorded since in the
    other database: they are added to it, each audited (a hostile trial: they were dropped,
    the report saying only "already there"). Importing the file again adds nothing."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--yes", "--practitioner", "Dr Finch",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=1")
    with new_clinic(clinic.backend, tmp_path, "elsewhere") as elsewhere:
        plain = tmp_path / "plain.csv"
        plain.write_text(clinic.ok("export", "--all", "-f", "csv").stdout)
        elsewhere.ok("import", str(plain))
        elsewhere.ok("followup", "1", "--pain", "3", "--on", "2026-03-15", "--yes",
                     "--practitioner", "Dr Finch")
        elsewhere.ok("visit", "addendum", "1", "Aftercare explained by phone.",
                     "--practitioner", "Dr Finch")
        later = tmp_path / "later.csv"
        later.write_text(elsewhere.ok("export", "--all", "-f", "csv").stdout)
    result = clinic.ok("import", str(later))
    assert ("Added 0 patient(s), 0 visit(s) with 0 point(s) and 1 follow-up(s), 1 addend(a); "
            "1 visit(s) were already there") in " ".join(result.stderr.split())
    shown = json.loads(clinic.ok("visit", "show", "1", "--json").stdout)
    assert [f["pain"] for f in shown["follow_ups"]] == [3]
    assert [a["text"] for a in shown["addenda"]] == ["Aftercare explained by phone."]
    assert clinic.ok("export", "--all", "-f", "csv").stdout == later.read_text()
    again = clinic.ok("import", str(later))
    assert "Added 0 patient(s), 0 visit(s) with 0 point(s); 1 visit(s) were already there" \
        in again.stderr
    assert clinic.count("follow_up") == 1 and clinic.count("visit_addendum") == 1
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_a_files_weight_differing_from_the_one_here_that_day_is_named_not_recorded(
        clinic, tmp_path):
    """The file says 80 kg on a day the record here says 40: which is right is for the
    clinic to say. Recorded, the file's would have become the patient's weight unsaid, and
    the dose limit with it (a hostile trial: 200 mg of lidocaine checked against 80 kg as
    within the limit, over it for 40 kg)."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    clinic.ok("patient", "weight", "P0001", "40", "--on", "2026-02-15")
    rows = [_row(visit=str(n), visit_date=day, weight_kg="80", weight_measured_on="2026-02-15",
                 muscle=muscle)
            for n, day, muscle in ((1, "2026-03-01", "deltoid"), (2, "2026-03-08", "rhomboids"))]
    source = tmp_path / "elsewhere.csv"
    source.write_text("\n".join([",".join(HEADER), *rows]) + "\n")
    result = clinic.ok("import", str(source))
    said = " ".join(result.stderr.split())
    assert "1 weight(s) of the file differ from the weight recorded here for the same day " \
        "and were not recorded" in said
    assert "line 2: 80 kg on 2026-02-15, where P0001's record holds 40 kg that day: not " \
        "recorded" in said
    assert clinic.count("patient_weight") == 1
    assert json.loads(clinic.ok("patient", "show", "P0001", "--json").stdout)["weight_kg"] == 40


def test_a_visit_amended_where_the_file_came_from_is_not_imported_beside_its_old_self(
        clinic, tmp_path):
    """A visit imported here, then amended in the database it came from: the next file holds
    it as amended, matching nothing here, beside the visit here that day. Imported, the day
    would hold both and its dose be counted twice (a hostile trial: "350 mg of 300 mg", a
    false overdose). It is named and not imported."""
    with new_clinic(clinic.backend, tmp_path, "source") as source:
        source.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
        source.ok("log", "P0001", "--date", "2026-03-01", "--yes", "--practitioner",
                  "Dr Finch", "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=2")
        first = tmp_path / "first.csv"
        first.write_text(source.ok("export", "--all", "-f", "csv").stdout)
        clinic.ok("import", str(first))
        source.ok("visit", "amend", "1", "--yes", "--reason", "5 mL, not 2", "--set", "1 ml=5")
        source.ok("log", "P0001", "--date", "2026-03-08", "--yes", "--practitioner",
                  "Dr Finch", "--point", "rhomboids:L pre=5 post=1 drug=lidocaine-1 ml=1")
        second = tmp_path / "second.csv"
        second.write_text(source.ok("export", "--all", "-f", "csv").stdout)
    result = clinic.ok("import", str(second))
    said = " ".join(result.stderr.split())
    assert "Added 0 patient(s), 1 visit(s) with 1 point(s); 0 visit(s) were already" in said
    assert "1 visit(s) of the file were not imported" in said
    assert "line 2: the visit of 2026-03-01 was amended where it came from, and P0001 has a " \
        "visit here that day that the file does not hold: not imported" in said
    history = json.loads(clinic.ok("history", "P0001", "--json").stdout)
    assert [v["visit_date"] for v in history["visits"]] == ["2026-03-08", "2026-03-01"]
    assert "holds" in clinic.ok("audit", "verify").stdout


def test_what_a_file_adds_to_a_visit_corrected_here_goes_to_it_and_a_voided_ones_is_said(
        clinic, tmp_path):
    """A file written after a follow-up and an addendum elsewhere, holding a visit as it read
    before it was corrected here: they go to the corrected visit; a voided visit's are
    counted, not added (a hostile trial: both were dropped, the import saying nothing)."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    for day, muscle in (("2026-03-01", "deltoid"), ("2026-03-08", "rhomboids")):
        clinic.ok("log", "P0001", "--date", day, "--yes", "--practitioner", "Dr Finch",
                  "--point", f"{muscle}:L pre=6 post=2 drug=lidocaine-1 ml=2")
    with new_clinic(clinic.backend, tmp_path, "elsewhere") as elsewhere:
        plain = tmp_path / "plain.csv"
        plain.write_text(clinic.ok("export", "--all", "-f", "csv").stdout)
        elsewhere.ok("import", str(plain))
        for visit in ("1", "2"):
            elsewhere.ok("followup", visit, "--pain", "3", "--on", "2026-03-20", "--yes",
                         "--practitioner", "Dr Finch")
            elsewhere.ok("visit", "addendum", visit, "Called back.", "--practitioner",
                         "Dr Finch")
        later = tmp_path / "later.csv"
        later.write_text(elsewhere.ok("export", "--all", "-f", "csv").stdout)
    clinic.ok("visit", "amend", "1", "--yes", "--reason", "1 mL, not 2", "--set", "1 ml=1")
    clinic.ok("visit", "void", "2", "--yes", "--reason", "entered in error")
    result = clinic.ok("import", str(later))
    said = " ".join(result.stderr.split())
    assert "Added 0 patient(s), 0 visit(s) with 0 point(s) and 1 follow-up(s), 1 addend(a); " \
        "0 visit(s) were already there" in said
    assert "2 visit(s) of the file read as visits here did before they were corrected or " \
        "voided" in said
    assert "2 follow-up(s) and addend(a) of the file belong to visits voided here: not " \
        "added" in said
    shown = json.loads(clinic.ok("visit", "show", "1", "--json").stdout)
    assert [f["pain"] for f in shown["follow_ups"]] == [3]
    assert [a["text"] for a in shown["addenda"]] == ["Called back."]
    assert clinic.count("follow_up") == 1 and clinic.count("visit_addendum") == 1
    again = clinic.ok("import", str(later))
    assert "0 visit(s) with 0 point(s); 0 visit(s) were already there" in again.stderr
    assert clinic.count("follow_up") == 1
    assert "holds" in clinic.ok("audit", "verify").stdout
