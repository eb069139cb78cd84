"""The audit trail: every write appends an event; tampering by raw SQL is caught."""

import json

import pytest
import sqlalchemy.exc

from tests.conftest import assert_refused, built_once


@built_once
def audited(clinic):
    # Written by Dr Finch: the practitioner's name is the build's own setting, not the test's.
    for command in (
            ("patient", "add", "Ada Lovelace", "--dob", "1970-01-01"),
            ("patient", "add", "Grace Hopper", "--dob", "1970-01-01"),
            ("log", "P0001", "--date", "2026-03-01", "--point", "deltoid:L pre=6 post=2",
             "--point", "masseter:R pre=5 post=4"),
            ("log", "P0002", "--date", "2026-03-02", "--point", "rhomboids:L pre=7 post=3"),
            ("visit", "amend", "1", "--reason", "typo", "--note", "tolerated well"),
            ("visit", "addendum", "2", "no bruising at follow-up call"),
            ("visit", "void", "2", "--yes", "--reason", "duplicate")):
        result = clinic.run(*command, env={"TPLOG_PRACTITIONER": "Dr Finch"})
        assert result.exit_code == 0, (command, result.stderr)


def events(clinic, *args):
    return json.loads(clinic.ok("audit", "log", *args, "--json").stdout)


def test_every_write_appends_an_event_with_who_and_what(audited):
    found = events(audited)
    assert [e["action"] for e in found] == ["patient.add", "patient.add", "visit.log",
                                            "visit.log", "visit.amend", "visit.addendum",
                                            "visit.void"]
    assert [e["id"] for e in found] == list(range(1, 8))
    assert all(e["practitioner"] == "Dr Finch" and e["os_user"] and e["occurred_at"]
               for e in found)
    assert found[4]["target"] == "visit 1 revision 2" and found[4]["mrn"] == "P0001"
    assert [e["action"] for e in events(audited, "--patient", "P0002")] == \
        ["patient.add", "visit.log", "visit.addendum", "visit.void"]
    assert events(audited, "--since", "2999-01-01") == []
    assert "visit.amend" in audited.ok("audit", "log").stdout


def test_reads_append_nothing(audited):
    before = audited.count("audit_event")
    audited.ok("history", "P0001")
    audited.ok("summary")
    audited.ok("visit", "show", "1")
    assert audited.count("audit_event") == before


def test_verify_and_check_pass_on_an_untouched_trail(audited):
    result = audited.ok("audit", "verify")
    assert "The audit trail holds: 7 event(s)" in result.stdout
    check = audited.ok("db", "check").stdout
    assert "FAIL" not in check and "audit trail: every event and record holds" in check


def _without_guards(clinic, *statements):
    """Tamper as someone with direct database access would: past tplog's triggers."""
    if clinic.backend == "postgresql":
        statements = ("SET session_replication_role = replica", *statements)
    else:
        triggers = clinic.sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        statements = (*[f"DROP TRIGGER {name}" for (name,) in triggers], *statements)
    clinic.sql_script(statements)


TAMPERING = {
    "edit a pain score": (
        ["UPDATE injected_point SET pain_after = 0 WHERE id = 1"],
        "event 3 (visit.log, visit 1): the visit_revision record it wrote has been changed"),
    "delete an audit row": (
        ["DELETE FROM audit_event WHERE id = 4"],
        "event 5 (visit.amend, visit 1 revision 2): expected event 4 here"),
    "swap two audit rows": (
        ["UPDATE audit_event SET id = -1 WHERE id = 2", "UPDATE audit_event SET id = 2 "
         "WHERE id = 3", "UPDATE audit_event SET id = 3 WHERE id = -1"],
        "event 2 (visit.log, visit 1): does not follow the event before it"),
    "edit an audit row": (
        ["UPDATE audit_event SET os_user = 'someone' WHERE id = 6"],
        "event 6 (visit.addendum, visit 2 addendum 1): its contents were changed"),
    "delete a point": (
        ["DELETE FROM injected_point WHERE id = 2"],
        "event 3 (visit.log, visit 1): the visit_revision record it wrote has been changed"),
    "change who created a visit": (
        ["UPDATE visit SET created_by = 'someone' WHERE id = 1"],
        "event 3 (visit.log, visit 1): the visit_revision record it wrote has been changed"),
    "rename a patient": (
        ["UPDATE patient SET name = 'Someone Else' WHERE id = 2"],
        "event 2 (patient.add, patient P0002): the patient record it wrote has been changed"),
    "remove a void": (
        ["DELETE FROM visit_void"],
        "event 7 (visit.void, visit 2): the visit_void record it wrote (2) is missing"),
    "slip in a patient": (
        ["INSERT INTO patient (id, mrn, name, created_at, created_by) "
         "VALUES (99, 'X1', 'Ghost', '2026-01-01 00:00:00', 'x')"],
        "patient 99 was written outside tplog"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_caught_by_verify_and_check(audited, case):
    statements, first_problem = TAMPERING[case]
    _without_guards(audited, *statements)
    result = audited.run("audit", "verify")
    assert_refused(result, 4, "The audit trail does not hold: " + first_problem)
    check = audited.run("db", "check")
    assert check.exit_code == 4 and "FAIL  audit trail: " + first_problem in check.stdout


@pytest.mark.parametrize("statement", [
    "UPDATE injected_point SET pain_after = 0",
    "DELETE FROM injected_point",
    "UPDATE audit_event SET os_user = 'x'",
    "DELETE FROM audit_event",
    "DELETE FROM visit_revision",
    "DELETE FROM patient WHERE id = 2",
])
def test_the_database_itself_refuses_to_rewrite_records(audited, statement):
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        audited.sql(statement)
    assert audited.ok("audit", "verify")


def test_a_nullable_column_added_later_leaves_every_digest_as_it_was(audited):
    """The digest of a record is over a canonical form in which a column added after the
    record was written, and still NULL, is absent: a schema change that adds a nullable field
    to a point (or a patient) never invalidates history. A value in it does change the
    digest."""
    from sqlalchemy import MetaData, create_engine

    from tplog.db import chain

    url = audited.url if "://" in audited.url else f"sqlite:///{audited.url}"
    engine = create_engine(url)

    def digests() -> dict[str, dict[int, str]]:
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(bind=connection)
            return {name: dict(chain.digests(connection, name, tables=tables.tables))
                    for name in ("patient", "visit_revision")}

    try:
        before = digests()
        audited.sql_script(["ALTER TABLE injected_point ADD COLUMN needle_gauge VARCHAR(10)",
                            "ALTER TABLE patient ADD COLUMN preferred_name VARCHAR(100)"])
        assert digests() == before
        # A value written into the new column is part of the record: the digest changes.
        audited.sql_script(["DROP TRIGGER IF EXISTS tplog_no_update_injected_point",
                            "UPDATE injected_point SET needle_gauge = '25G' WHERE id = 1"]
                           if audited.backend == "sqlite" else
                           ["ALTER TABLE injected_point DISABLE TRIGGER USER",
                            "UPDATE injected_point SET needle_gauge = '25G' WHERE id = 1"])
        after = digests()
        assert after["patient"] == before["patient"]
        assert after["visit_revision"] != before["visit_revision"]
    finally:
        engine.dispose()
