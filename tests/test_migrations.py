"""Schema revisions: a new database gets the head, an older one is refused until
`tplog db upgrade` (which backs up first), a newer one is refused."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.conftest import assert_refused, new_clinic
from tplog import db
from tplog.db import schema as migrate
from tplog.models import Base


def test_schema_head_constant_matches_the_migration_scripts():
    assert migrate.script_directory().get_heads() == [db.SCHEMA_HEAD]
    order = [s.revision for s in reversed(list(migrate.script_directory().walk_revisions()))]
    assert tuple(order) == db.KNOWN_REVISIONS


def test_a_new_database_is_migrated_to_head_and_matches_the_models(empty_clinic):
    empty_clinic.ok("patient", "list")
    engine = db.make_engine(db.locate(empty_clinic.url))
    with engine.connect() as connection:
        assert db.current_revision(connection) == db.SCHEMA_HEAD
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def _at_revision(clinic, revision: str) -> None:
    engine = db.make_engine(db.locate(clinic.url), foreign_keys=False)
    with engine.connect() as connection:
        command.upgrade(migrate.alembic_config(connection), revision)
        connection.commit()
    engine.dispose()


def seed_at(clinic, revision: str) -> None:
    """A database at `revision` (0001 or 0002) holding a patient, a visit and its points."""
    _at_revision(clinic, revision)
    empty_clinic = clinic
    empty_clinic.sql("INSERT INTO patient (id, mrn, name, created_at, created_by) "
                     "VALUES (1, 'P0001', 'Ada Lovelace', '2025-01-01 10:00:00', 'nurse')")
    empty_clinic.sql("INSERT INTO visit (id, patient_id, visit_date, practitioner, created_at, "
                     "created_by) VALUES (1, 1, '2025-01-02', 'Dr Old', "
                     "'2025-01-02 10:00:00', 'nurse')")
    empty_clinic.sql("INSERT INTO injected_point (visit_id, position, muscle, side, pain_before, "
                     "pain_after) VALUES (1, 1, 'deltoid', 'L', 6, 2)")


@pytest.fixture
def old_clinic(empty_clinic):
    seed_at(empty_clinic, "0001")
    return empty_clinic


def _revision(clinic) -> str:
    return clinic.sql("SELECT version_num FROM alembic_version")[0][0]


def test_an_older_schema_is_refused_naming_db_upgrade(old_clinic):
    result = old_clinic.run("history", "P0001")
    assert_refused(result, 3, "older schema (revision 0001", "tplog db upgrade")
    assert _revision(old_clinic) == "0001"
    assert "status: older" in old_clinic.run("db", "status").stdout


def test_db_upgrade_backs_up_then_upgrades_keeping_every_record(old_clinic, _isolated_home):
    result = old_clinic.ok("db", "upgrade")
    assert f"to {db.SCHEMA_HEAD}" in result.stderr
    backup = Path(result.stderr.split("Backup: ")[1].splitlines()[0])
    assert backup.exists() and backup.stat().st_size > 0
    assert oct(backup.stat().st_mode & 0o777) == oct(0o600)
    if old_clinic.backend == "sqlite":
        import sqlite3

        kept = sqlite3.connect(backup)
        assert kept.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert kept.execute("SELECT name FROM patient").fetchall() == [("Ada Lovelace",)]
        kept.close()
    assert _revision(old_clinic) == db.SCHEMA_HEAD
    history = old_clinic.ok("history", "P0001", "--json").stdout
    assert "Dr Old" in history and '"pain_after": 2' in history
    engine = db.make_engine(db.locate(old_clinic.url))
    with engine.connect() as connection:
        indexes = {ix["name"] for ix in inspect(connection).get_indexes("visit")}
        assert "ix_visit_patient" in indexes
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
    assert "already current" in old_clinic.ok("db", "upgrade").stderr


def test_a_newer_schema_is_refused(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.sql("UPDATE alembic_version SET version_num = '9999'")
    assert_refused(clinic.run("patient", "list"), 3, "revision 9999, newer than this tplog")
    assert_refused(clinic.run("db", "upgrade"), 3, "newer than this tplog")
    assert clinic.run("db", "status").exit_code == 3
    assert _revision(clinic) == "9999" and clinic.count("patient") == 1


def test_status_of_an_empty_database(empty_clinic):
    result = empty_clinic.ok("db", "status")
    assert "status: empty" in result.stdout


def _step(clinic, direction: str, revision: str) -> None:
    engine = db.make_engine(db.locate(clinic.url), foreign_keys=False)
    with engine.connect() as connection:
        getattr(command, direction)(migrate.alembic_config(connection), revision)
        connection.commit()
    engine.dispose()


def _point_count(clinic) -> int:
    return clinic.count("injected_point")


def test_every_revision_upgrades_with_data_and_downgrades_cleanly(empty_clinic):
    order = [s.revision for s in reversed(list(migrate.script_directory().walk_revisions()))]
    assert order[0] == "0001" and order[-1] == db.SCHEMA_HEAD
    seed_at(empty_clinic, order[0])
    empty_clinic.sql("INSERT INTO visit_condition (visit_id, condition) "
                     "VALUES (1, 'myofascial-pain')")
    for revision in order[1:]:
        _step(empty_clinic, "upgrade", revision)
        assert _revision(empty_clinic) == revision
        assert empty_clinic.sql("SELECT name FROM patient") == [("Ada Lovelace",)]
        assert _point_count(empty_clinic) == 1 and empty_clinic.count("visit_condition") == 1
    # At head the records read as they were written, and the trail vouches for them.
    history = json.loads(empty_clinic.ok("history", "P0001", "--json").stdout)
    (visit,) = history["visits"]
    assert (visit["visit_date"], visit["practitioner"]) == ("2025-01-02", "Dr Old")
    assert [c["key"] for c in visit["conditions"]] == ["myofascial-pain"]
    assert visit["points"][0]["pain_after"] == 2
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    # Work done at head (an amendment, an addendum) survives a downgrade as its latest form.
    empty_clinic.ok("visit", "amend", "--replace-points", "1", "--reason", "post was 1",
                    "--point", "deltoid:L pre=6 post=1")
    empty_clinic.ok("visit", "addendum", "1", "fine")
    for revision in reversed(order[:-1]):
        _step(empty_clinic, "downgrade", revision)
        assert _revision(empty_clinic) == revision
        assert empty_clinic.sql("SELECT name FROM patient") == [("Ada Lovelace",)]
        kept = empty_clinic.sql("SELECT pain_after FROM injected_point ORDER BY id")
        # From 0003 on both revisions are kept; below it only the visit's latest form.
        assert kept == ([(2,), (1,)] if revision >= "0003" else [(1,)])
    _step(empty_clinic, "downgrade", "base")
    engine = db.make_engine(db.locate(empty_clinic.url))
    with engine.connect() as connection:
        assert not db.has_tplog_tables(connection)
    engine.dispose()
    _step(empty_clinic, "upgrade", "head")
    assert _revision(empty_clinic) == db.SCHEMA_HEAD


def test_0006_carries_weights_over_as_dated_measurements_and_the_trail_holds(empty_clinic):
    """Revision 0006 on a database with data: each weight on record becomes a measurement
    dated the day the patient was added, vouched for by a `migrated` event; conditions of
    older visits keep their (alphabetical) order; `audit verify` holds."""
    seed_at(empty_clinic, "0001")
    empty_clinic.sql("UPDATE patient SET weight_kg = 58.5 WHERE id = 1")
    empty_clinic.sql("INSERT INTO patient (id, mrn, name, created_at, created_by) "
                     "VALUES (2, 'P0002', 'Grace Hopper', '2025-02-01 09:00:00', 'nurse')")
    for key in ("tension-headache", "fibromyalgia"):
        empty_clinic.sql(f"INSERT INTO visit_condition (visit_id, condition) VALUES (1, '{key}')")
    _step(empty_clinic, "upgrade", "0006")
    ((patient_id, measured_on, kg),) = empty_clinic.sql(
        "SELECT patient_id, measured_on, weight_kg FROM patient_weight")
    assert (patient_id, str(measured_on), kg) == (1, "2025-01-01", 58.5)
    empty_clinic.ok("db", "upgrade")  # the later revisions, for the CLI to open it
    events = json.loads(empty_clinic.ok("audit", "log", "--json").stdout)
    migrated = [e["target"] for e in events if e["action"] == "migrated"]
    assert "weight of patient P0001 (recorded when added)" in migrated
    assert events[-1]["action"] == "db.upgrade"
    verified = empty_clinic.ok("audit", "verify")
    assert "holds" in verified.stdout
    shown = json.loads(empty_clinic.ok("patient", "show", "P0001", "--json").stdout)
    assert shown["weight_kg"] == 58.5
    # The old visit's conditions, in the order they were always shown (by name).
    (visit,) = json.loads(empty_clinic.ok("history", "P0001", "--json").stdout)["visits"]
    assert [c["key"] for c in visit["conditions"]] == ["fibromyalgia", "tension-headache"]
    # The carried-over weight is the one the dose check uses from that day on.
    if empty_clinic.backend == "postgresql":  # the seed gave ids by hand: move the sequences
        empty_clinic.sql_script([f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                 f"(SELECT max(id) FROM {t}))"
                                 for t in ("visit", "visit_revision", "injected_point")])
    logged = empty_clinic.ok("log", "P0001", "--date", "2025-03-01", "--point",
                             "deltoid:R pre=5 drug=lidocaine-1 ml=2")
    assert "58.5 kg weighed 2025-01-01" in logged.stdout
    assert "no weight on record" not in logged.stderr
    assert "holds" in empty_clinic.ok("audit", "verify").stdout


def test_0007_gives_a_database_holding_data_its_own_key_and_the_trail_holds(empty_clinic,
                                                                            tmp_path):
    """Revision 0007 on a database at 0006 with data: `tplog db upgrade` adds the
    de-identification key (32 random bytes as hex, one row), touches no record and adds no
    event but its own, and `audit verify` holds; another database gets another key."""
    seed_at(empty_clinic, "0001")
    empty_clinic.sql("UPDATE patient SET weight_kg = 58.5 WHERE id = 1")
    _step(empty_clinic, "upgrade", "0006")  # the weight carried over, with its event
    before = {table: empty_clinic.count(table) for table in
              ("patient", "visit_revision", "injected_point", "patient_weight", "audit_event")}
    assert_refused(empty_clinic.run("audit", "verify"), 3, "older schema (revision 0006")
    _step(empty_clinic, "upgrade", "0007")
    ((key_id, secret),) = empty_clinic.sql("SELECT id, secret FROM deidentification_key")
    assert key_id == 1 and re.fullmatch(r"[0-9a-f]{64}", secret)
    after = {table: empty_clinic.count(table) for table in before}
    assert after == before  # no record touched, no event
    result = empty_clinic.ok("db", "upgrade")  # the later revisions, for the CLI to open it
    assert f"to {db.SCHEMA_HEAD}" in result.stderr
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    history = json.loads(empty_clinic.ok("history", "P0001", "--json").stdout)
    assert history["visits"][0]["practitioner"] == "Dr Old"
    # The key is what --shift-dates uses: the exports of this database agree.
    shifted = [empty_clinic.ok("export", "--all", "--deidentify", "--shift-dates").stdout
               for _ in range(2)]
    assert shifted[0] == shifted[1] and "2025-01-02" not in shifted[0]
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    assert "already current" in empty_clinic.ok("db", "upgrade").stderr
    assert empty_clinic.sql("SELECT secret FROM deidentification_key") == [(secret,)]
    with new_clinic(empty_clinic.backend, tmp_path, "other") as other:
        other.ok("patient", "list")
        assert other.sql("SELECT secret FROM deidentification_key") != [(secret,)]


def _without_guards(clinic, *statements):
    from tests.test_audit import _without_guards as bypass

    bypass(clinic, *statements)


def test_0008_makes_the_chain_cover_who_created_a_visit_and_when(empty_clinic):
    """Revision 0008 on a database at 0007 with data: every revision is re-vouched (one
    `migrated` event each) with a digest that covers its visit's own columns; `audit verify`
    holds; afterwards a raw edit of visit.created_by is caught, as it was not before."""
    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0007")
    before = {table: empty_clinic.count(table) for table in
              ("patient", "visit", "visit_revision", "injected_point", "audit_event")}
    result = empty_clinic.ok("db", "upgrade")
    assert f"from revision 0007 to {db.SCHEMA_HEAD}" in result.stderr
    after = {table: empty_clinic.count(table) for table in before}
    revisions = before["visit_revision"]
    # Revision 0013 then makes a practitioner record of each name, with its own event.
    assert after == {**before, "audit_event": before["audit_event"] + revisions + 1
                     + empty_clinic.count("practitioner")}
    events = json.loads(empty_clinic.ok("audit", "log", "--json").stdout)
    assert "visit 1 revision 1: its digest now covers the visit's creation" in \
        [e["target"] for e in events if e["action"] == "migrated"]
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    _without_guards(empty_clinic, "UPDATE visit SET created_by = 'mallory' WHERE id = 1")
    assert_refused(empty_clinic.run("audit", "verify"), 4,
                   "the visit_revision record it wrote has been changed")


def _as_written_before_0008(clinic) -> None:
    """Re-vouch every revision with its digest as tplog computed it before 0008 (without the
    visit's columns), as a database logged with an older tplog holds them."""
    import sqlalchemy as sa

    from tplog.db.chain import Actor, NewEvent, append_events, digests

    engine = db.make_engine(db.locate(clinic.url), foreign_keys=False)
    with engine.begin() as connection:
        tables = sa.MetaData()
        tables.reflect(bind=connection)
        old = dict(digests(connection, "visit_revision", None, tables.tables,
                           visit_columns=False))
        new = dict(digests(connection, "visit_revision", None, tables.tables))
        assert all(old[number] != new[number] for number in old)  # the forms differ
        append_events(connection, [NewEvent(Actor("nurse", "Dr Old"), "visit.log",
                                            f"visit {number}", 1, ("visit_revision", number),
                                            digest) for number, digest in old.items()],
                      tables.tables)
    engine.dispose()


def test_0008_upgrades_a_trail_written_by_an_older_tplog(empty_clinic):
    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0007")
    _as_written_before_0008(empty_clinic)
    result = empty_clinic.ok("db", "upgrade")
    assert "to 0008" in result.stderr or f"to {db.SCHEMA_HEAD}" in result.stderr
    assert "holds" in empty_clinic.ok("audit", "verify").stdout


def test_0008_never_blesses_a_record_changed_before_the_upgrade(empty_clinic):
    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0007")
    _without_guards(empty_clinic, "UPDATE injected_point SET pain_after = 0")
    events = empty_clinic.count("audit_event")
    result = empty_clinic.run("db", "upgrade")
    assert_refused(result, 3, "visit revision(s) 1 no longer match the audit trail",
                   "the database is as it was")
    assert _revision(empty_clinic) == "0007"
    assert empty_clinic.count("audit_event") == events


def test_0004_vouches_for_voids_and_addenda_written_before_the_trail(empty_clinic):
    """Found by a hostile trial: a database from before the audit trail (0003) holding a void
    and an addendum upgraded, but `audit verify` then said both were written outside tplog."""
    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0003")
    empty_clinic.sql_script([
        "INSERT INTO visit (id, patient_id, created_at, created_by) "
        "VALUES (2, 1, '2025-02-01 10:00:00', 'nurse')",
        "INSERT INTO visit_revision (id, visit_id, number, visit_date, practitioner, created_at, "
        "created_by) VALUES (2, 2, 1, '2025-02-01', 'Dr Old', '2025-02-01 10:00:00', 'nurse')",
        "INSERT INTO injected_point (revision_id, position, muscle, side, pain_before) "
        "VALUES (2, 1, 'deltoid', 'R', 5)",
        "INSERT INTO visit_void (visit_id, reason, voided_at, voided_by, practitioner) "
        "VALUES (2, 'wrong patient', '2025-02-02 10:00:00', 'nurse', 'Dr Void')",
        "INSERT INTO visit_addendum (id, visit_id, text, created_at, created_by, practitioner) "
        "VALUES (1, 1, 'Phone call: fine', '2025-01-03 10:00:00', 'nurse', 'Nurse Add')"])
    empty_clinic.ok("db", "upgrade")
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    migrated = [e["target"] for e in json.loads(empty_clinic.ok("audit", "log", "--json").stdout)
                if e["action"] == "migrated"]
    assert "void of visit 2 (recorded before the audit trail)" in migrated
    assert "visit 1 addendum 1 (recorded before the audit trail)" in migrated
    # Both stay as written, and the names they hold became practitioner records (0013).
    assert "voided" in empty_clinic.ok("history", "P0001", "--include-void").stdout.lower()
    names = {p["name"] for p in json.loads(empty_clinic.ok(
        "practitioner", "list", "--json").stdout)["practitioners"]}
    assert {"Dr Old", "Dr Void", "Nurse Add"} <= names


def test_0013_makes_records_of_names_only_screenings_and_events_hold(empty_clinic):
    """Found by a hostile trial: a name written only on a screening entry or an adverse event
    (revision 0012) got no practitioner record."""
    from sqlalchemy import MetaData

    from tplog.db.chain import Actor, append_event

    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0012")
    engine = db.make_engine(db.locate(empty_clinic.url), foreign_keys=False)
    try:
        with engine.begin() as connection:
            tables = MetaData()
            tables.reflect(bind=connection)
            written = dict(created_at=dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC),
                           created_by="nurse")
            connection.execute(tables.tables["patient_screening"].insert().values(
                id=1, patient_id=1, kind="allergy", status="active", substance="lidocaine",
                practitioner="Nurse Screen", **written))
            append_event(connection, actor=Actor("nurse", "Nurse Screen"), action="screened",
                         target="patient P0001", patient_id=1,
                         record=("patient_screening", 1), tables=tables.tables)
            connection.execute(tables.tables["adverse_event"].insert().values(
                id=1, visit_id=1, kind="vasovagal", occurred_on=dt.date(2025, 1, 2),
                practitioner="Dr Event", **written))
            append_event(connection, actor=Actor("nurse", "Dr Event"), action="event",
                         target="visit 1", patient_id=1, record=("adverse_event", 1),
                         tables=tables.tables)
    finally:
        engine.dispose()
    empty_clinic.ok("db", "upgrade")
    names = {p["name"] for p in json.loads(empty_clinic.ok(
        "practitioner", "list", "--json").stdout)["practitioners"]}
    assert names == {"Dr Old", "Nurse Screen", "Dr Event"}
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
