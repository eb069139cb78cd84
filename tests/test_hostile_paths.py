"""Issue 13: what a --db or --output target is gets checked before anything touches it.

Each test reproduces a finding of the security test: a folder, a text file, a device or
another program's SQLite database named as the database, an export aimed at a folder, a link
or a device, a full disk, read-only media, a malformed or unreachable URL. tplog refuses with
one line and the documented exit code, and the target is exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import assert_refused
from tplog.cli import app


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def fingerprint(path: Path) -> tuple:
    """Everything a user would notice changed: kind, mode, bytes, neighbours."""
    found = os.lstat(path)
    content = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(found.st_mode) \
        else None
    return (stat.S_IFMT(found.st_mode), stat.S_IMODE(found.st_mode), content,
            sorted(p.name for p in path.parent.iterdir()))


READ_AND_WRITE_COMMANDS = [
    ("patient", "list"),
    ("db", "status"),
    ("db", "check"),
    ("db", "upgrade"),
    ("history", "P0001"),
    ("patient", "add", "Ann Lee", "--dob", "1970-01-01"),
]


@pytest.fixture
def home_stand_in(tmp_path: Path) -> Path:
    """A folder standing in for the user's home: 0755, holding a file of theirs."""
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    (home / ".profile").write_text("export PATH\n")
    return home


@pytest.mark.parametrize("command", READ_AND_WRITE_COMMANDS, ids=" ".join)
def test_a_folder_as_the_database_is_refused_untouched(home_stand_in, command):
    before = fingerprint(home_stand_in)
    result = run("--db", str(home_stand_in), *command)
    assert_refused(result, 3, f"{home_stand_in} is a folder, not a database file")
    assert fingerprint(home_stand_in) == before
    assert len(result.stderr.strip().splitlines()) == 1


def test_tplog_db_naming_a_folder_is_refused_untouched(home_stand_in):
    before = fingerprint(home_stand_in)
    result = run("patient", "list", env={"TPLOG_DB": str(home_stand_in)})
    assert_refused(result, 3, "is a folder")
    assert fingerprint(home_stand_in) == before


@pytest.mark.parametrize("command", READ_AND_WRITE_COMMANDS, ids=" ".join)
def test_a_text_file_as_the_database_is_refused_untouched(tmp_path, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("my own notes\n")
    notes.chmod(0o644)
    before = fingerprint(notes)
    result = run("--db", str(notes), *command)
    assert_refused(result, 3, "notes.txt is not a tplog database (not a SQLite file)")
    assert fingerprint(notes) == before


def test_a_device_as_the_database_is_refused_untouched(tmp_path):
    """/dev/null, on a stand-in: a device node made with mknod (needs root, as CI runs)."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root (CI runs as root)")
    device.chmod(0o666)
    before = fingerprint(device)
    for command in READ_AND_WRITE_COMMANDS:
        result = run("--db", str(device), *command)
        assert_refused(result, 3, "is a device, not a database file")
    assert fingerprint(device) == before


@pytest.fixture
def other_apps_database(tmp_path: Path) -> Path:
    """A SQLite file of another program: an invoices table, rollback journal, 0644."""
    path = tmp_path / "other_app.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    connection.execute("INSERT INTO invoices (total) VALUES (12.5)")
    connection.commit()
    connection.close()
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("command", READ_AND_WRITE_COMMANDS, ids=" ".join)
def test_another_programs_sqlite_database_is_refused_untouched(other_apps_database, command):
    before = fingerprint(other_apps_database)
    result = run("--db", str(other_apps_database), *command)
    assert_refused(result, 3, "is not a tplog database (it holds other tables: invoices)")
    assert fingerprint(other_apps_database) == before  # no tables, no WAL files, no chmod
    connection = sqlite3.connect(other_apps_database)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]
    finally:
        connection.close()


def test_an_empty_file_becomes_a_private_tplog_database(tmp_path):
    """An empty file made for tplog (`touch clinic.db`) holds nothing to protect: it is used."""
    path = tmp_path / "clinic.db"
    path.touch()
    path.chmod(0o644)
    assert run("--db", str(path), "patient", "add", "Ann Lee", "--dob", "1970-01-01") \
        .exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_malformed_database_url_is_one_line(tmp_path):
    for command in (("db", "status"), ("db", "upgrade"), ("patient", "list")):
        result = run(*command, env={"TPLOG_DB": "://"})
        assert_refused(result, 3, "cannot use database URL '://'")


def test_an_unreachable_server_is_one_line_without_the_password():
    url = "postgresql+psycopg://clinic:s3cret-pw@127.0.0.1:1/tplog"
    for command in (("db", "status"), ("db", "upgrade"), ("db", "check"), ("patient", "list")):
        result = run("--db", url, *command)
        assert result.exit_code == (4 if command == ("db", "check") else 3), result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert "s3cret-pw" not in result.stderr + result.stdout
        assert "Connection refused" in result.stderr + result.stdout


# --- export targets ------------------------------------------------------------------------

@pytest.fixture
def one_visit(sqlite_clinic):
    sqlite_clinic.ok("patient", "add", "Ann Lee", "--dob", "1970-01-01", "--weight-kg", "60")
    sqlite_clinic.ok("log", "P0001", "--point", "deltoid:L pre=6 post=2", "--drug",
                     "lidocaine-1", "--ml", "1")
    return sqlite_clinic


def test_export_to_a_folder_is_refused_before_anything_is_recorded(one_visit, tmp_path):
    events = one_visit.count("audit_event")
    folder = tmp_path / "reports"
    folder.mkdir()
    result = one_visit.run("export", "P0001", "-o", str(folder))
    assert_refused(result, 2, f"--output {folder} is a folder")
    assert list(folder.iterdir()) == []
    assert one_visit.count("audit_event") == events


def test_export_onto_a_database_is_refused_and_every_record_stays(one_visit, tmp_path):
    """`-o` given the database's own name (or its -wal, or another clinic's database) would
    have replaced the records with the export: refused, the file as it was."""
    database = Path(one_visit.url)
    other = tmp_path / "other.db"
    shutil.copy2(database, other)
    events = one_visit.count("audit_event")
    for target, said in ((database, "is a database;"), (other, "is a database;"),
                         (Path(f"{database}-wal"), f"is a database's file ({database})")):
        before = fingerprint(target) if target.exists() else None
        result = one_visit.run("export", "P0001", "-o", str(target))
        assert_refused(result, 2, f"--output {target} {said}", "choose another name")
        assert (fingerprint(target) if target.exists() else None) == before
    assert one_visit.count("audit_event") == events
    assert "P0001 Ann Lee: 1 visit(s)" in one_visit.ok("history", "P0001").stdout
    assert "holds" in one_visit.ok("audit", "verify").stdout


def test_export_to_a_name_ending_in_a_slash_is_a_folder_and_refused(one_visit, tmp_path):
    missing = f"{tmp_path / 'reports'}/"
    assert_refused(one_visit.run("export", "P0001", "-o", missing), 2,
                   f"--output {missing} names a folder")
    assert not (tmp_path / "reports").exists()


def test_export_to_a_device_is_refused_and_the_device_stays(one_visit, tmp_path):
    device = tmp_path / "tty"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root (CI runs as root)")
    before = fingerprint(device)
    result = one_visit.run("export", "P0001", "-o", str(device))
    assert_refused(result, 2, "is a device")
    assert fingerprint(device) == before


def test_export_to_a_symbolic_link_is_refused_and_its_target_gets_nothing(one_visit, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("not for patient data\n")
    link = tmp_path / "report.csv"
    link.symlink_to(victim)
    result = one_visit.run("export", "P0001", "-o", str(link))
    assert_refused(result, 2, "is a symbolic link")
    assert victim.read_text() == "not for patient data\n"
    assert link.is_symlink()


def test_a_link_planted_at_a_predictable_temporary_name_gets_nothing(one_visit, tmp_path):
    """Another local user plants links where an export's temporary file used to go."""
    victim = tmp_path / "victim.txt"
    victim.write_text("theirs\n")
    target = tmp_path / "report.csv"
    for name in ("report.csv.partial", ".report.csv.partial", "report.csv.tmp"):
        (tmp_path / name).symlink_to(victim)
    one_visit.ok("export", "P0001", "-o", str(target))
    assert victim.read_text() == "theirs\n"
    assert "Ann Lee" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_an_export_replaces_the_users_own_file_whole_and_private(one_visit, tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old\n")
    target.chmod(0o644)
    one_visit.ok("export", "P0001", "-f", "json", "-o", str(target))
    assert json.loads(target.read_text())
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


def test_an_export_onto_a_full_disk_is_one_line_and_leaves_nothing(one_visit, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)):
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    try:
        for _ in range(30):
            one_visit.ok("log", "P0001", "--point", "deltoid:R pre=5 post=1", "--note",
                         "n" * 2000, "--yes")
        filler = disk / "filler"
        descriptor = os.open(filler, os.O_CREAT | os.O_WRONLY)
        try:
            while os.write(descriptor, b"\0" * 4096):
                pass
        except OSError:
            pass  # the disk is full
        finally:
            os.close(descriptor)
        os.truncate(filler, filler.stat().st_size - 8192)  # 8 KiB free: less than needed
        result = one_visit.run("export", "P0001", "-f", "json", "-o", str(disk / "out.json"))
        assert_refused(result, 3, "the disk is full; nothing was written")
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


# --- read-only media -----------------------------------------------------------------------

@pytest.fixture
def read_only_copy(one_visit, tmp_path):
    """The database's folder mounted again read-only (a CD, a locked share)."""
    view = tmp_path / "read-only"
    view.mkdir()
    source = Path(one_visit.url).parent
    if os.geteuid() != 0 or not _mount("--bind", str(source), str(view)):
        pytest.skip("needs root to bind-mount a folder read-only (CI runs as root)")
    try:
        if not _mount("-o", "remount,bind,ro", str(view)):
            pytest.skip("this kernel refused a read-only bind mount")
        yield view / Path(one_visit.url).name
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_a_database_on_read_only_media_can_be_read(read_only_copy):
    database = str(read_only_copy)
    before = fingerprint(read_only_copy)
    listed = run("--db", database, "patient", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [p["name"] for p in json.loads(listed.stdout)] == ["Ann Lee"]
    history = run("--db", database, "history", "P0001", "--json")
    assert history.exit_code == 0, history.stderr
    assert len(json.loads(history.stdout)["visits"]) == 1
    assert run("--db", database, "audit", "verify").exit_code == 0
    assert run("--db", database, "db", "check").exit_code == 0
    assert fingerprint(read_only_copy) == before


@pytest.mark.parametrize("command", [
    ("patient", "add", "Bo Park", "--dob", "1980-02-02"),
    ("log", "P0001", "--point", "deltoid:R pre=4 post=1"),
    ("export", "P0001"),  # an export is a disclosure: it must be recorded, so it cannot be
])
def test_writes_to_read_only_media_say_why_and_change_nothing(read_only_copy, command):
    result = run("--db", str(read_only_copy), *command)
    assert_refused(result, 3, "is read-only here")
    assert result.stdout == ""


def test_a_restore_onto_a_folder_or_a_foreign_file_is_refused_untouched(one_visit, tmp_path,
                                                                         home_stand_in,
                                                                         other_apps_database):
    backup = tmp_path / "backup.db"
    one_visit.ok("db", "backup", str(backup))
    for target, message in ((home_stand_in, "is a folder, not a database file"),
                            (other_apps_database, "is not a tplog database")):
        before = fingerprint(target)
        result = run("--db", str(target), "db", "restore", str(backup))
        assert_refused(result, 3, message)
        assert fingerprint(target) == before
