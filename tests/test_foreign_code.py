"""Issue 13 (found by the hostile trial of the fixes): code tplog did not put in a database.

A backup holding an extra trigger (one that silently drops export events), a function that a
CHECK constraint runs while PostgreSQL restores it, or no append-only guards at all, restored
with exit 0, and `db check` passed. Now such a backup is refused before anything is replaced,
and `db check` names the foreign code.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, assert_refused, built_once

DROP_EXPORTS_SQLITE = ("CREATE TRIGGER evil BEFORE INSERT ON audit_event WHEN NEW.action LIKE "
                       "'export%' BEGIN SELECT RAISE(IGNORE); END")


@built_once
def filled(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--weight-kg", "60")
    clinic.ok("log", "P0001", "--point", "deltoid:L pre=6 post=2")
    return clinic


def state(clinic):
    return (clinic.counts(), clinic.count("audit_event"),
            clinic.sql("SELECT max(hash) FROM audit_event"))


def _schema(clinic) -> str:
    return clinic.sql("SELECT current_schema()")[0][0]


def _tamper_pg_dump(clinic, tmp_path: Path, statements: list[str]) -> Path:
    """A dump of a copy of the clinic's schema with `statements` run in the copy first."""
    live = _schema(clinic)
    copy = f"tplog_evil_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "copy.dump"
    url = make_url(PG_URL).set(drivername="postgresql")
    libpq = url.render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", f"--schema={live}", f"--file={dump}",
                    f"--dbname={libpq}"], check=True)
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'ALTER SCHEMA "{live}" RENAME TO "{copy}"'))
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={libpq}", str(dump)],
                       check=True)
        with admin.begin() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{live}"'))
            for statement in statements:
                connection.execute(text(statement.replace("SCHEMA", live)))
        evil = tmp_path / "evil.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--schema={live}", f"--file={evil}",
                        f"--dbname={libpq}"], check=True)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{live}" CASCADE'))
            connection.execute(text(f'ALTER SCHEMA "{copy}" RENAME TO "{live}"'))
        admin.dispose()
    return evil


def _sqlite_backup(clinic, tmp_path: Path, statements: list[str]) -> Path:
    import sqlite3

    backup = tmp_path / "tampered.db"
    clinic.ok("db", "backup", str(backup))
    connection = sqlite3.connect(backup)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return backup


def _all_sqlite_triggers_dropped(path: Path) -> list[str]:
    import sqlite3

    connection = sqlite3.connect(path)
    names = [n for (n,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    connection.close()
    return [f'DROP TRIGGER "{name}"' for name in names]


def test_a_backup_with_a_trigger_that_hides_exports_is_refused(filled, tmp_path):
    if filled.backend == "sqlite":
        backup = _sqlite_backup(filled, tmp_path, [DROP_EXPORTS_SQLITE])
    else:
        backup = _tamper_pg_dump(filled, tmp_path, [
            "CREATE FUNCTION SCHEMA.drop_export() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN IF NEW.action LIKE 'export%' THEN RETURN NULL; END IF; RETURN NEW; "
            "END $$",
            "CREATE TRIGGER evil BEFORE INSERT ON SCHEMA.audit_event FOR EACH ROW "
            "EXECUTE FUNCTION SCHEMA.drop_export()"])
    before = state(filled)
    digest = hashlib.sha256(backup.read_bytes()).hexdigest()
    result = filled.run("db", "restore", str(backup))
    assert_refused(result, 3, "nothing was restored")
    assert "trigger evil" in result.stderr or "drop_export" in result.stderr
    assert state(filled) == before
    assert hashlib.sha256(backup.read_bytes()).hexdigest() == digest
    assert "holds" in filled.ok("audit", "verify").stdout


def test_a_postgresql_dump_whose_function_would_run_while_restoring_is_refused(filled,
                                                                                 tmp_path):
    if filled.backend != "postgresql":
        pytest.skip("PostgreSQL runs a CHECK constraint's function while it restores")
    marker = f"tplog_marker_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{marker}"'))
        connection.execute(text(f'CREATE TABLE "{marker}".ran (t text)'))
    try:
        backup = _tamper_pg_dump(filled, tmp_path, [
            f"CREATE FUNCTION SCHEMA.evil_chk(t text) RETURNS boolean LANGUAGE plpgsql AS "
            f"$$ BEGIN INSERT INTO \"{marker}\".ran VALUES ('ran'); RETURN true; END $$",
            "ALTER TABLE SCHEMA.patient ADD CONSTRAINT evil_chk CHECK (SCHEMA.evil_chk(name))"])
        with admin.begin() as connection:
            connection.execute(text(f'DELETE FROM "{marker}".ran'))
        before = state(filled)
        result = filled.run("db", "restore", str(backup))
        assert_refused(result, 3, "holds what a tplog backup never does", "evil_chk",
                       "nothing was restored")
        with admin.begin() as connection:
            assert connection.execute(text(f'SELECT count(*) FROM "{marker}".ran')).scalar() == 0
        assert state(filled) == before
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{marker}" CASCADE'))
        admin.dispose()


def test_a_backup_without_the_append_only_guards_is_refused(filled, tmp_path):
    if filled.backend == "sqlite":
        backup = tmp_path / "unguarded.db"
        filled.ok("db", "backup", str(backup))
        _sqlite_backup_statements = _all_sqlite_triggers_dropped(backup)
        import sqlite3

        connection = sqlite3.connect(backup)
        for statement in _sqlite_backup_statements:
            connection.execute(statement)
        connection.commit()
        connection.close()
    else:
        tables = [t for (t,) in filled.sql(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND t.tgname = 'tplog_append_only'")]
        backup = _tamper_pg_dump(filled, tmp_path, [
            f"DROP TRIGGER tplog_append_only ON SCHEMA.{table}" for table in tables])
    before = state(filled)
    result = filled.run("db", "restore", str(backup))
    assert_refused(result, 3, "lacks tplog's append-only guards", "nothing was restored")
    assert state(filled) == before


def test_db_check_names_foreign_code_in_the_live_database(filled):
    assert "ok    no foreign code" in filled.ok("db", "check").stdout
    if filled.backend == "sqlite":
        filled.sql(DROP_EXPORTS_SQLITE)
    else:
        filled.sql_script([
            "CREATE FUNCTION drop_export() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NULL; END $$",
            "CREATE TRIGGER evil BEFORE INSERT ON audit_event FOR EACH ROW "
            "EXECUTE FUNCTION drop_export()"])
    result = filled.run("db", "check")
    assert result.exit_code == 4
    assert "FAIL  no foreign code: not tplog's: trigger evil" in result.stdout
