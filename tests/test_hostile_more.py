"""Issue 13: what the hostile trial of the first fixes still broke, each reproduced.

A config file that is a device or a pipe (memory exhausted, or a hang), `config set` writing
values that lock every later command out, arguments that are not UTF-8, huge ids, long
values echoed whole, invisible characters that make one name look like another, URLs that
GitHub's Markdown links by itself, an import or restore of a pipe, other programs' SQLite
files and PostgreSQL schemas taken over, part of a password shown, and a backup of a
database on read-only media.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.conftest import PG_URL, assert_refused, pg_schema_url
from tplog.cli import app


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def patient(sqlite_clinic):
    sqlite_clinic.ok("patient", "add", "Ann Lee", "--dob", "1970-01-01", "--weight-kg", "60")
    return sqlite_clinic


# --- the config file -----------------------------------------------------------------------

def test_a_config_file_that_is_a_pipe_or_a_device_is_refused(patient, tmp_path):
    pipe = tmp_path / "config.toml"
    os.mkfifo(pipe)  # reading it would wait for a writer forever
    result = patient.run("config", "show", env={"TPLOG_CONFIG": str(pipe)})
    assert_refused(result, 2, f"config file {pipe} is not a regular file")
    device = tmp_path / "zero.toml"
    try:
        os.mknod(device, 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # a /dev/zero stand-in
    except PermissionError:
        pytest.skip("mknod needs root (CI runs as root)")
    result = patient.run("config", "show", env={"TPLOG_CONFIG": str(device)})
    assert_refused(result, 2, "is not a regular file")


def test_a_huge_or_deeply_nested_config_file_is_refused(patient, tmp_path):
    nested = tmp_path / "nested.toml"
    nested.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert_refused(patient.run("config", "show", env={"TPLOG_CONFIG": str(nested)}), 2,
                   "nested too deeply")
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * (2 << 20) + "\n")
    assert_refused(patient.run("config", "show", env={"TPLOG_CONFIG": str(huge)}), 2,
                   "a settings file is at most")


@pytest.mark.parametrize("key, value, fragment", [
    ("database", "mysql://u:pw@host/db", "database = 'mysql://u:***@host/db' is not allowed"),
    ("database", "://", "is not allowed"),
    ("practitioner", "x" * 100_000, "give a name of 1-200 characters"),
    ("practitioner", "Dr\u202eEvil", "invisible character"),
])
def test_config_set_refuses_what_would_lock_every_command_out(patient, tmp_path, key, value,
                                                              fragment):
    config = tmp_path / "settings.toml"
    config.write_text('practitioner = "Dr Lee"\n')
    before = config.read_bytes()
    result = patient.run("config", "set", key, value, env={"TPLOG_CONFIG": str(config)})
    assert_refused(result, 2, fragment)
    assert len(result.stderr) < 600
    assert config.read_bytes() == before
    assert patient.run("patient", "list", env={"TPLOG_CONFIG": str(config)}).exit_code == 0


def test_config_set_refuses_a_folder_as_the_database(patient, tmp_path):
    config = tmp_path / "settings.toml"
    result = patient.run("config", "set", "database", str(tmp_path),
                         env={"TPLOG_CONFIG": str(config)})
    assert_refused(result, 2, "is not allowed")
    assert not config.exists()


# --- arguments and values --------------------------------------------------------------------

@pytest.mark.parametrize("command", [["patient", "show"], ["history"], ["export"],
                                     ["patient", "add"]])
def test_arguments_that_are_not_utf8_are_one_line(patient, command):
    """Real argv bytes, as a shell passes $'\\xff\\xfe' (Python reads them as surrogates)."""
    done = subprocess.run([sys.executable, "-m", "tplog", "--db", patient.url, *command,
                           b"\xff\xfe"], capture_output=True, check=False)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 2, stderr
    assert "is not valid UTF-8 text" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("visit_id", ["99999999999999999999999", "9223372036854775808",
                                      "2147483648"])
def test_a_huge_visit_id_is_refused(patient, visit_id):
    for command in (("visit", "show", visit_id), ("export", "--visit", visit_id),
                    ("followup", visit_id, "--yes", "--pain", "3")):
        assert_refused(patient.run(*command), 2, "from 1 to 2147483647")


def test_long_values_in_paths_are_cut_in_errors(patient, tmp_path):
    long = "x" * 100_000
    for args in (("export", "P0001", "-o", long), ("db", "restore", long),
                 ("import", long), ("--db", str(tmp_path / long), "patient", "list")):
        result = patient.run(*args) if args[0] != "--db" else run(*args)
        assert result.exit_code in (1, 2, 3), (args[:2], result.exit_code)
        assert "Traceback" not in result.stderr
        assert len(result.stderr) < 600, (args[:2], len(result.stderr))


@pytest.mark.parametrize("name", ["Ann \u202eeuqaJ\u202c Smith", "Zero\u200bWidth",
                                  "Line\u2028Sep", "Bom\ufeff"])
def test_invisible_characters_are_refused_in_names(patient, name):
    before = patient.count("patient")
    assert_refused(patient.run("patient", "add", name), 2, "invisible character")
    assert patient.count("patient") == before


def test_stored_invisible_characters_are_not_printed_raw(patient):
    patient.sql("UPDATE patient SET name = 'Ann \u202eeuqaJ\u202c' WHERE mrn = 'P0001'")
    listed = patient.ok("patient", "list").stdout
    assert "\u202e" not in listed and "Ann" in listed


def test_markdown_links_no_bare_url(patient, tmp_path):
    patient.ok("log", "P0001", "--point", "deltoid:L pre=5 post=2",
               "--note", "see https://evil.example/auto or www.evil.com or a@b.example")
    out = tmp_path / "summary.md"
    patient.ok("export", "P0001", "--format", "md", "-o", str(out))
    text_ = out.read_text()
    assert "https://" not in text_ and "www.evil" not in text_ and "a@b" not in text_
    assert "evil.example/auto" in text_


# --- files that are not what they claim ------------------------------------------------------

def test_an_import_or_restore_of_a_pipe_or_folder_is_refused(patient, tmp_path):
    pipe = tmp_path / "visits.csv"
    os.mkfifo(pipe)
    assert_refused(patient.run("import", str(pipe)), 2, "is a pipe; give a regular file")
    assert_refused(patient.run("db", "restore", str(pipe)), 2, "backup", "is a pipe")
    assert_refused(patient.run("db", "restore", str(tmp_path)), 2, "is a folder")


def _sqlite(path: Path, *statements: str) -> Path:
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("statements, named", [
    (["CREATE VIEW v AS SELECT 1"], "view v"),
    (["PRAGMA application_id = 1234567"], "application_id set"),
    (["PRAGMA user_version = 42"], "user_version set"),
    (["CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
      "INSERT INTO alembic_version VALUES ('ae1027a6acf')"], "another program's"),
])
def test_other_programs_sqlite_files_are_refused_untouched(tmp_path, statements, named):
    path = _sqlite(tmp_path / "other.db", *statements)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode),
              sorted(os.listdir(tmp_path)))
    assert_refused(run("--db", str(path), "patient", "list"), 3, "is not a tplog database",
                   named)
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode),
            sorted(os.listdir(tmp_path))) == before


def test_a_postgresql_schema_of_another_program_is_refused_untouched():
    if not PG_URL:
        pytest.skip("TPLOG_TEST_DATABASE_URL is not set, so the PostgreSQL run is skipped")
    schema = f"tplog_other_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text(f'CREATE TABLE "{schema}".invoices (id int)'))
    try:
        result = run("--db", pg_schema_url(schema), "patient", "list")
        assert_refused(result, 3, "is not a tplog database (it holds other tables: invoices)")
        with admin.begin() as connection:
            tables = connection.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema}).scalars().all()
        assert tables == ["invoices"]
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_an_unencoded_at_sign_in_a_password_is_not_shown():
    result = run("--db", "postgresql+psycopg://u:Bad@Secret@127.0.0.1:1/db", "patient",
                 "list")
    assert result.exit_code == 3
    assert "Secret" not in result.stderr and "Bad" not in result.stderr


def test_a_url_of_another_database_is_named():
    assert_refused(run("--db", "mysql://u:pw@host/db", "patient", "list"), 3,
                   "tplog keeps its records in a SQLite file or in PostgreSQL")


def test_a_database_on_read_only_media_can_be_backed_up(patient, tmp_path):
    view = tmp_path / "ro"
    view.mkdir()
    source = Path(patient.url).parent
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "--bind", str(source), str(view)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("needs root to bind-mount a folder read-only (CI runs as root)")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)],
                          capture_output=True).returncode != 0:
            pytest.skip("this kernel refused a read-only bind mount")
        backup = tmp_path / "copy.db"
        result = run("--db", str(view / Path(patient.url).name), "db", "backup", str(backup))
        # A backup is recorded in the trail: on read-only media it cannot be, and says so.
        assert result.exit_code in (0, 3), result.stderr
        assert "Traceback" not in result.stderr
        if result.exit_code == 3:
            assert "read-only" in result.stderr
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)
