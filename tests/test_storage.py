"""Storage safety: private files, backups and restores, the database check, and faults
(a locked database, a full disk, a read-only folder, a failed upgrade) that leave earlier data
untouched and say what happened."""

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_refused, built_once


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fill(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-12-10")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--condition", "fibromyalgia",
              "--point", "deltoid:L pre=6 post=2 twitch=yes", "--point", "masseter:R pre=5")
    clinic.ok("visit", "addendum", "1", "called back: fine")
    return clinic


@built_once
def filled(clinic):
    return fill(clinic)


@pytest.fixture
def filled_sqlite(sqlite_clinic):
    return fill(sqlite_clinic)


def records(clinic) -> dict:
    """What a clinician sees: every patient's history, with voided visits, as JSON."""
    patients = json.loads(clinic.ok("patient", "list", "--json").stdout)
    return {p["mrn"]: json.loads(clinic.ok("history", p["mrn"], "--include-void",
                                           "--json").stdout) for p in patients}


def test_database_wal_and_shm_are_private(filled_sqlite):
    path = Path(filled_sqlite.url)
    reader = sqlite3.connect(path)  # keeps -wal and -shm in place while we look
    reader.execute("SELECT count(*) FROM patient").fetchone()
    try:
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            assert file.exists() and mode(file) == 0o600, file
    finally:
        reader.close()


def test_loose_permissions_are_tightened_with_a_warning(filled_sqlite):
    path = Path(filled_sqlite.url)
    path.chmod(0o644)
    path.parent.chmod(0o755)
    result = filled_sqlite.ok("patient", "list")
    assert f"Warning: {path} was readable by others (644); tightened to 600" in result.stderr
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o755  # a folder the user chose is theirs to set


def test_tplogs_own_data_folder_is_tightened(_isolated_home):
    from typer.testing import CliRunner

    from tplog.cli import app

    assert CliRunner().invoke(app, ["patient", "list"]).exit_code == 0
    folder = _isolated_home / "data" / "tplog"
    folder.chmod(0o755)
    result = CliRunner().invoke(app, ["patient", "list"])
    assert f"{folder} was readable by others (755); tightened to 700" in result.stderr
    assert mode(folder) == 0o700


def test_backup_restore_round_trips_to_identical_records(filled, tmp_path):
    before = records(filled)
    backup = tmp_path / "backups" / "monday.tplog"
    result = filled.ok("db", "backup", str(backup))
    assert f"Backup written: {backup}" in result.stderr
    assert mode(backup) == 0o600
    if filled.backend == "sqlite":
        assert not Path(str(backup) + "-wal").exists()  # one self-contained file
    # Later work, then a restore: the records are exactly as they were at the backup.
    filled.ok("log", "P0001", "--point", "rhomboids:L pre=3")
    filled.ok("visit", "void", "1", "--yes", "--reason", "wrong patient")
    assert records(filled) != before
    restored = filled.ok("db", "restore", str(backup))
    assert "kept at" in restored.stderr
    aside = Path(restored.stderr.split("kept at ")[1].splitlines()[0])
    assert aside.exists() and mode(aside) == 0o600
    assert records(filled) == before
    assert filled.ok("audit", "verify")
    actions = [e["action"] for e in json.loads(filled.ok("audit", "log", "--json").stdout)]
    assert actions[-1] == "db.restore" and "visit.void" not in actions


def test_backup_never_overwrites(filled, tmp_path):
    backup = tmp_path / "b.tplog"
    backup.write_text("precious")
    assert_refused(filled.run("db", "backup", str(backup)), 1, "already exists")
    assert backup.read_text() == "precious"


def test_backup_is_in_the_audit_trail(filled, tmp_path):
    filled.ok("db", "backup", str(tmp_path / "b.tplog"))
    last = json.loads(filled.ok("audit", "log", "--json").stdout)[-1]
    assert last["action"] == "db.backup" and str(tmp_path / "b.tplog") in last["target"]


def test_restore_refuses_a_file_that_is_not_a_backup(filled, tmp_path):
    before = records(filled)
    bad = tmp_path / "bad.tplog"
    bad.write_text("not a database" * 100)
    expected = ("is not a usable SQLite database" if filled.backend == "sqlite"
                else "reading the backup failed")
    assert_refused(filled.run("db", "restore", str(bad)), 3, expected)
    assert records(filled) == before
    assert_refused(filled.run("db", "restore", str(tmp_path / "missing")), 1, "no backup at")


def test_restore_refuses_a_backup_whose_trail_does_not_hold(filled_sqlite, tmp_path):
    filled = filled_sqlite
    before = records(filled)
    bad = tmp_path / "bad.tplog"
    filled.ok("db", "backup", str(bad))  # a real backup, whose records are then altered
    connection = sqlite3.connect(bad)
    connection.execute("DROP TRIGGER tplog_no_update_injected_point")
    connection.execute("UPDATE injected_point SET pain_after = 0")
    connection.commit()
    connection.close()
    assert_refused(filled.run("db", "restore", str(bad)), 3,
                   "the backup's audit trail does not hold")
    assert records(filled) == before


def test_db_check_reports_a_damaged_file(filled_sqlite):
    path = Path(filled_sqlite.url)
    data = bytearray(path.read_bytes())
    for page in range(4096, len(data), 4096):  # scribble over every page's b-tree header
        data[page:page + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    result = filled_sqlite.run("db", "check")
    assert result.exit_code == 4 and "FAIL" in result.stdout, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_locked_database_says_so_and_writes_nothing(filled_sqlite, monkeypatch):
    monkeypatch.setenv("TPLOG_BUSY_TIMEOUT_MS", "200")
    holder = sqlite3.connect(filled_sqlite.url, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = filled_sqlite.run("log", "P0001", "--point", "deltoid:L pre=3")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_refused(result, 3, "database is locked", "another tplog is writing")
    assert filled_sqlite.count("visit") == 1


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(folder, "512k"):
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_says_so_and_keeps_earlier_data(small_disk):
    from typer.testing import CliRunner

    from tplog.cli import app

    database = str(small_disk / "clinic.db")

    def run(*args):
        return CliRunner().invoke(app, ["--db", database, *args])

    assert run("patient", "add", "Ada Lovelace", "--dob", "1970-01-01").exit_code == 0
    filler = small_disk / "filler"
    descriptor = os.open(filler, os.O_CREAT | os.O_WRONLY)
    try:
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(descriptor)
    result = run("log", "P0001", "--note", "x" * 9000, "--point", "deltoid:L pre=3")
    assert_refused(result, 3, "full")
    filler.unlink()
    listed = run("patient", "list", "--json")
    assert [p["name"] for p in json.loads(listed.stdout)] == ["Ada Lovelace"]
    assert json.loads(run("history", "P0001", "--json").stdout)["visits"] == []


def test_a_read_only_folder_says_so_and_keeps_earlier_data(small_disk):
    from typer.testing import CliRunner

    from tplog.cli import app

    database = str(small_disk / "clinic.db")

    def run(*args):
        return CliRunner().invoke(app, ["--db", database, *args])

    assert run("patient", "add", "Ada Lovelace", "--dob", "1970-01-01").exit_code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        result = run("patient", "add", "Grace Hopper", "--dob", "1970-01-01")
        assert_refused(result, 3, "read-only")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert [p["name"] for p in json.loads(run("patient", "list", "--json").stdout)] == \
        ["Ada Lovelace"]


def test_a_failed_upgrade_leaves_the_database_as_it_was(empty_clinic, monkeypatch):
    import alembic.command

    from tests.test_migrations import seed_at

    seed_at(empty_clinic, "0002")
    real_upgrade = alembic.command.upgrade

    def upgrade_then_fail(config, revision):
        real_upgrade(config, revision)
        raise RuntimeError("simulated failure in the last migration")

    monkeypatch.setattr(alembic.command, "upgrade", upgrade_then_fail)
    result = empty_clinic.run("db", "upgrade")
    assert_refused(result, 3, "the upgrade failed (simulated failure in the last migration)",
                   "the database is as it was", "the backup is ")
    assert empty_clinic.sql("SELECT version_num FROM alembic_version") == [("0002",)]
    assert empty_clinic.sql("SELECT practitioner FROM visit") == [("Dr Old",)]
    monkeypatch.undo()
    empty_clinic.ok("db", "upgrade")
    assert "Dr Old" in empty_clinic.ok("history", "P0001", "--json").stdout
