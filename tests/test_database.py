"""Where the database is, how SQLite is set up, and what happens when it cannot be used."""

import os
import sqlite3
import stat
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import assert_refused
from tplog.cli import app


def run(*args, env=None):
    return CliRunner().invoke(app, list(args), env=env)


def test_default_database_is_created_in_the_data_folder_with_private_permissions(
        _isolated_home):
    result = run("patient", "add", "Ada Lovelace")
    assert result.exit_code == 0, result.stderr
    path = Path(run("db", "path").stdout.strip())
    assert path == _isolated_home / "data" / "tplog" / "tplog.db"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_environment_and_option_choose_the_database(tmp_path):
    from_env, from_option = tmp_path / "env.db", tmp_path / "option.db"
    assert run("patient", "add", "A", env={"TPLOG_DB": str(from_env)}).exit_code == 0
    assert run("--db", str(from_option), "patient", "add", "B",
               env={"TPLOG_DB": str(from_env)}).exit_code == 0
    assert sqlite3.connect(from_env).execute("SELECT name FROM patient").fetchall() == [("A",)]
    assert sqlite3.connect(from_option).execute("SELECT name FROM patient").fetchall() == \
        [("B",)]
    assert run("--db", f"sqlite:///{from_env}", "db", "path").stdout.strip() == str(from_env)


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    from tplog import db
    from tplog.db import schema

    where = db.locate(str(tmp_path / "t.db"))
    engine = schema.open_database(where)
    with engine.connect() as connection:
        def pragma(name):
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == db.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_tplog_connections_refuse_a_visit_for_a_missing_patient(clinic):
    """Foreign keys hold on both backends for every connection tplog opens."""
    import datetime as dt

    import pytest

    from tplog import db
    from tplog.db import schema
    from tplog.errors import DatabaseProblem
    from tplog.models import Visit

    where = db.locate(clinic.url)
    engine = schema.open_database(where)
    with (pytest.raises(DatabaseProblem, match="(?i)foreign key.*nothing was saved"),
          db.session_scope(engine, where, write=True) as session):
        session.add(Visit(patient_id=999, created_at=dt.datetime.now(dt.UTC), created_by="x"))
        session.flush()
    engine.dispose()
    assert clinic.count("visit") == 0


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("shopping list\n" * 200)
    before = path.read_bytes()
    result = run("--db", str(path), "patient", "list")
    assert_refused(result, 3, f"{path} is not a tplog database (not a SQLite file)")
    assert path.read_bytes() == before


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE patient (x)")
    connection.commit()
    connection.close()
    assert_refused(run("--db", str(path), "patient", "list"), 3, "not a tplog database")


def test_a_folder_where_the_database_should_be_is_refused(tmp_path):
    assert_refused(run("--db", str(tmp_path), "patient", "list"), 3, "is a folder")


def test_a_read_only_folder_gives_a_clear_message(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root ignores permissions
            return
        assert_refused(run("--db", str(folder / "t.db"), "patient", "list"), 3,
                       "cannot create the database")
    finally:
        folder.chmod(0o700)


def test_an_unreachable_server_gives_a_clear_message():
    result = run("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "patient", "list")
    assert_refused(result, 3, "database postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_a_password_in_the_url_is_never_shown():
    result = run("--db", "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none", "db", "path")
    assert "s3cret" not in result.stdout and "***" in result.stdout
    result = run("--db", "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none", "patient",
                 "list")
    assert result.exit_code == 3 and "s3cret" not in result.stderr


def test_an_unknown_driver_is_refused():
    assert_refused(run("--db", "nosuchdb://x/y", "patient", "list"), 3, "cannot use database URL")


def test_db_status_of_a_current_database(clinic):
    result = clinic.ok("db", "status")
    assert "status: current" in result.stdout


def test_several_tplogs_starting_on_a_new_database_at_once_all_succeed(tmp_path):
    """The first use migrates under a lock: the others wait, then find the schema there."""
    from tests.forking import piped

    path = tmp_path / "new.db"
    runs = [piped(["--db", str(path), "patient", "add", f"Patient {n}", "--mrn", f"M{n}"],
                  tmp_path) for n in range(4)]
    outcomes = [(run.communicate(timeout=120)[1], run.returncode) for run in runs]
    assert all(code == 0 for _, code in outcomes), outcomes
    connection = sqlite3.connect(path)
    assert sorted(connection.execute("SELECT mrn FROM patient").fetchall()) == \
        [("M0",), ("M1",), ("M2",), ("M3",)]
    connection.close()
