"""Restores that check before they replace anything (SQLite and PostgreSQL alike), backups
that are only ever read and written whole, and the database password, which no process list,
message or `config show` ever holds."""

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from tests.conftest import PG_URL, assert_refused, built_once, new_clinic
from tests.test_storage import fill, records
from tplog import db
from tplog.cli import app

SECRET = "Sekr3t-Pw-4711"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@built_once
def filled(clinic):
    return fill(clinic)


@pytest.fixture
def pg_filled(tmp_path):
    """For what only PostgreSQL has: schemas, pg_dump and pg_restore."""
    with new_clinic("postgresql", tmp_path, current=True) as clinic:
        yield fill(clinic)


def snapshot(clinic) -> dict:
    """Everything a restore could change: the records, every point's row, the trail, the
    schema revision."""
    return {"records": records(clinic),
            "points": clinic.sql("SELECT * FROM injected_point ORDER BY id"),
            "trail": clinic.sql("SELECT * FROM audit_event ORDER BY id"),
            "revision": clinic.sql("SELECT version_num FROM alembic_version")}


def leftovers(clinic, data_home: Path) -> dict:
    """What a restore may leave behind: copies kept aside (beside a SQLite file, or in the
    data folder's backups/ for PostgreSQL) and, on PostgreSQL, schemas set aside."""
    found: dict = {"kept": sorted(p.name for p in (data_home / "tplog" / "backups").glob("*"))
                   if (data_home / "tplog" / "backups").exists() else []}
    if clinic.backend == "sqlite":
        found["beside"] = sorted(p.name for p in Path(clinic.url).parent.iterdir()
                                 if ".replaced" in p.name)
        return found
    engine = create_engine(PG_URL)
    try:
        with engine.begin() as connection:
            # Under the migration lock: another test's restore, in flight, holds it.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": db.PG_MIGRATION_LOCK})
            found["schemas"] = connection.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tplog\\_replaced\\_%'"
            )).scalars().all()
    finally:
        engine.dispose()
    return found


def backup_of(clinic, path: Path) -> Path:
    clinic.ok("db", "backup", str(path))
    return path


def raw_backup(clinic, path: Path) -> Path:
    """A copy made without tplog (tplog refuses to open a database it cannot use)."""
    if clinic.backend == "sqlite":
        source, target = sqlite3.connect(clinic.url), sqlite3.connect(path)
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
        target.close()
        source.close()
        return path
    schema = clinic.sql("SELECT current_schema()")[0][0]
    url = make_url(clinic.url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", f"--file={path}",
                    f"--dbname={url}"], check=True)
    return path


def edit_a_pain_score(clinic) -> None:
    """What someone with the database's password could do behind tplog's back."""
    if clinic.backend == "sqlite":
        clinic.sql_script(["DROP TRIGGER tplog_no_update_injected_point",
                           "UPDATE injected_point SET pain_before = 0 WHERE id = 1"])
    else:
        clinic.sql_script(["ALTER TABLE injected_point DISABLE TRIGGER tplog_append_only",
                           "UPDATE injected_point SET pain_before = 0 WHERE id = 1",
                           "ALTER TABLE injected_point ENABLE TRIGGER tplog_append_only"])


# --- a backup that must not be restored -----------------------------------------------------

def test_a_backup_with_an_edited_pain_score_is_refused_and_changes_nothing(
        filled, tmp_path, _isolated_home):
    good = backup_of(filled, tmp_path / "good.tplog")
    edit_a_pain_score(filled)
    bad = backup_of(filled, tmp_path / "edited.tplog")
    filled.ok("db", "restore", str(good))  # the records as they were written
    filled.ok("audit", "verify")
    before, left = snapshot(filled), leftovers(filled, _isolated_home / "data")
    bad_digest = digest(bad)

    result = filled.run("db", "restore", str(bad))
    assert_refused(result, 3, "the backup's audit trail does not hold", "nothing was restored")
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(filled) == before
    assert leftovers(filled, _isolated_home / "data") == left
    assert digest(bad) == bad_digest
    filled.ok("audit", "verify")
    assert json.loads(filled.ok("history", "P0001", "--json").stdout)["visits"][0][
        "points"][0]["pain_before"] == 6


def test_a_backup_from_a_newer_tplog_is_refused_and_later_commands_still_work(
        filled, tmp_path, _isolated_home):
    filled.sql("UPDATE alembic_version SET version_num = '9999'")
    newer = raw_backup(filled, tmp_path / "newer.tplog")
    filled.sql(f"UPDATE alembic_version SET version_num = '{db.SCHEMA_HEAD}'")
    before, left = snapshot(filled), leftovers(filled, _isolated_home / "data")

    result = filled.run("db", "restore", str(newer))
    assert_refused(result, 3, "has schema revision 9999, newer than this tplog knows",
                   "nothing was restored")
    assert snapshot(filled) == before
    assert leftovers(filled, _isolated_home / "data") == left
    filled.ok("db", "status")
    filled.ok("log", "P0001", "--point", "rhomboids:L pre=3")
    filled.ok("audit", "verify")


def test_a_file_that_is_not_a_tplog_backup_is_refused(filled, tmp_path, _isolated_home):
    left = leftovers(filled, _isolated_home / "data")
    empty = tmp_path / "empty.tplog"
    empty.touch()
    assert_refused(filled.run("db", "restore", str(empty)), 3, str(empty))
    assert empty.stat().st_size == 0  # checking it did not make it a database
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("empty")] == ["empty.tplog"]
    assert leftovers(filled, _isolated_home / "data") == left


def test_a_backup_at_an_older_known_revision_restores_and_asks_for_an_upgrade(
        empty_clinic, tmp_path):
    from tests.test_migrations import seed_at

    seed_at(empty_clinic, "0002")
    old = raw_backup(empty_clinic, tmp_path / "old.tplog")
    empty_clinic.ok("db", "upgrade")
    assert empty_clinic.sql("SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    result = empty_clinic.ok("db", "restore", str(old))
    assert "older schema: run `tplog db upgrade`" in result.stderr
    assert empty_clinic.sql("SELECT version_num FROM alembic_version") == [("0002",)]
    empty_clinic.ok("db", "upgrade")
    assert [p["mrn"] for p in json.loads(empty_clinic.ok("patient", "list", "--json").stdout)] \
        == ["P0001"]
    empty_clinic.ok("audit", "verify")


# --- backups are only ever read -------------------------------------------------------------

def test_restoring_a_backup_leaves_it_byte_for_byte_as_it_was(filled, tmp_path):
    backup = backup_of(filled, tmp_path / "monday.tplog")
    before = records(filled)
    written = digest(backup)
    filled.ok("log", "P0001", "--point", "rhomboids:L pre=3")
    filled.ok("db", "restore", str(backup))
    assert digest(backup) == written
    assert records(filled) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("monday")) == \
        ["monday.tplog"]  # no -wal or -shm appeared beside it


def test_a_backup_readable_only_by_its_owner_restores(filled, tmp_path):
    backup = backup_of(filled, tmp_path / "b.tplog")
    before = records(filled)
    backup.chmod(0o400)
    filled.ok("log", "P0001", "--point", "rhomboids:L pre=3")
    filled.ok("db", "restore", str(backup))
    assert records(filled) == before
    assert mode(backup) == 0o400


@pytest.fixture
def read_only_copy_of(tmp_path):
    """A folder seen through a read-only bind mount (read-only media)."""
    mounted: list[Path] = []

    def mount(folder: Path) -> Path:
        view = tmp_path / f"read-only-{len(mounted)}"
        view.mkdir()
        done = subprocess.run(["mount", "--bind", str(folder), str(view)],
                              capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot bind-mount here ({done.stderr.decode().strip()})")
        mounted.append(view)
        done = subprocess.run(["mount", "-o", "remount,bind,ro", str(view)],
                              capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot make a bind mount read-only ({done.stderr.decode().strip()})")
        return view

    yield mount
    for view in mounted:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_a_backup_on_read_only_media_restores(filled, tmp_path, read_only_copy_of):
    media = tmp_path / "media"
    media.mkdir()
    backup_of(filled, media / "b.tplog")
    before = records(filled)
    view = read_only_copy_of(media)
    with pytest.raises(OSError):
        (view / "probe").touch()
    filled.ok("log", "P0001", "--point", "rhomboids:L pre=3")
    filled.ok("db", "restore", str(view / "b.tplog"))
    assert records(filled) == before
    assert sorted(p.name for p in media.iterdir()) == ["b.tplog"]


def test_a_refused_restore_on_read_only_media_is_one_line(filled, tmp_path, read_only_copy_of):
    media = tmp_path / "media"
    media.mkdir()
    (media / "junk.tplog").write_text("not a backup" * 100)
    view = read_only_copy_of(media)
    before = records(filled)
    assert_refused(filled.run("db", "restore", str(view / "junk.tplog")), 3)
    assert records(filled) == before


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_restore_that_fails_on_a_full_disk_leaves_nothing(small_disk, tmp_path):
    from tests.conftest import Clinic

    clinic = fill(Clinic(url=str(small_disk / "clinic.db"), backend="sqlite"))
    backup = backup_of(clinic, tmp_path / "b.tplog")
    before = records(clinic)
    filler = small_disk / "filler"
    descriptor = os.open(filler, os.O_CREAT | os.O_WRONLY)
    try:
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(descriptor)
    result = clinic.run("db", "restore", str(backup))
    assert_refused(result, 3, "copying", "failed")  # SQLite says "disk I/O error" on tmpfs
    assert [p.name for p in small_disk.iterdir() if ".replaced" in p.name or ".partial" in p.name
            ] == []
    filler.unlink()
    assert records(clinic) == before


# --- backups are written whole, privately, never over anything ------------------------------

def test_a_backup_is_one_private_file_and_nothing_else(filled, tmp_path):
    folder = tmp_path / "backups"
    backup = backup_of(filled, folder / "b.tplog")
    assert mode(backup) == 0o600 and mode(folder) == 0o700
    assert [p.name for p in folder.iterdir()] == ["b.tplog"]


def test_a_backup_never_goes_through_a_link(filled, tmp_path):
    elsewhere = tmp_path / "someone-elses"
    elsewhere.write_text("theirs")
    link = tmp_path / "b.tplog"
    link.symlink_to(elsewhere)
    assert_refused(filled.run("db", "backup", str(link)), 2, "is a symbolic link")
    assert elsewhere.read_text() == "theirs" and link.is_symlink()


def test_the_backup_before_an_upgrade_is_private(empty_clinic, tmp_path, _isolated_home):
    from tests.test_migrations import seed_at

    seed_at(empty_clinic, "0002")
    result = empty_clinic.ok("db", "upgrade")
    backup = Path(result.stderr.split("Backup: ")[1].splitlines()[0])
    assert backup.exists() and mode(backup) == 0o600
    assert [p for p in backup.parent.iterdir() if ".partial" in p.name] == []


# --- PostgreSQL: a dump of another schema ---------------------------------------------------

def test_a_dump_of_another_schema_restores_into_this_one(pg_filled, tmp_path):
    filled = pg_filled
    with new_clinic("postgresql", tmp_path, "other", current=True) as other:
        other.ok("patient", "add", "Grace Hopper", "--dob", "1930-01-05")
        theirs = records(other)
        dump = backup_of(other, tmp_path / "other.dump")
        other.sql_script(["DROP SCHEMA " + other.sql("SELECT current_schema()")[0][0]
                          + " CASCADE"])
        result = filled.run("db", "restore", str(dump))
        other.sql_script(["CREATE SCHEMA " + make_url(other.url).query["options"]
                          .split("=")[-1]])  # for the fixture to drop
    assert result.exit_code == 0, result.stderr
    assert records(filled) == theirs
    filled.ok("audit", "verify")


def test_a_dump_of_a_schema_this_database_also_has_is_refused(pg_filled, tmp_path,
                                                               _isolated_home):
    filled = pg_filled
    with new_clinic("postgresql", tmp_path, "other", current=True) as other:
        other.ok("patient", "add", "Grace Hopper", "--dob", "1930-01-05")
        dump = backup_of(other, tmp_path / "other.dump")
        theirs = snapshot(other)
        before, left = snapshot(filled), leftovers(filled, _isolated_home / "data")
        schema = other.sql("SELECT current_schema()")[0][0]
        assert_refused(filled.run("db", "restore", str(dump)), 3,
                       f"the backup holds schema {schema}, which this database also has",
                       "nothing was restored")
        assert snapshot(other) == theirs
    assert snapshot(filled) == before
    assert leftovers(filled, _isolated_home / "data") == left


# --- the password ---------------------------------------------------------------------------

@pytest.fixture
def tool_spy(tmp_path, monkeypatch):
    """pg_dump and pg_restore first on PATH: each records its arguments, the names of its
    environment variables and its passfile's mode, then runs the real one."""
    spies, log = tmp_path / "spies", tmp_path / "tools.log"
    spies.mkdir()
    for name in ("pg_dump", "pg_restore"):
        real = shutil.which(name)
        if real is None:
            pytest.skip(f"{name} is not installed")
        spy = spies / name
        spy.write_text(
            "#!/bin/sh\n"
            f"{{ echo 'tool: {name}'; for a in \"$@\"; do echo \"arg: $a\"; done\n"
            "  env | cut -d= -f1 | sed 's/^/env: /'\n"
            "  [ -n \"$PGPASSFILE\" ] && echo \"passfile: $PGPASSFILE $(stat -c %a "
            "\"$PGPASSFILE\")\"\n"
            f"}} >> {log}\n"
            f"exec {real} \"$@\"\n")
        spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{spies}{os.pathsep}{os.environ['PATH']}")
    return log


def test_pg_dump_and_pg_restore_never_get_the_password_on_their_command_line(
        pg_filled, tmp_path, tool_spy):
    filled = pg_filled
    # The test server trusts every local connection, so any password works.
    with_password = make_url(filled.url).set(password=SECRET).render_as_string(
        hide_password=False)

    def run(*args):
        return CliRunner().invoke(app, ["--db", with_password, *args])

    backup = tmp_path / "b.dump"
    done = run("db", "backup", str(backup))
    assert done.exit_code == 0, done.stderr
    done = run("db", "restore", str(backup))
    assert done.exit_code == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    log = tool_spy.read_text()
    assert {line for line in log.splitlines() if line.startswith("tool: ")} == \
        {"tool: pg_dump", "tool: pg_restore"}
    assert SECRET not in log  # not in any argument
    passfiles = [line.split()[1:] for line in log.splitlines() if line.startswith("passfile: ")]
    assert passfiles and all(mode == "600" for _, mode in passfiles)
    assert not any(Path(path).exists() for path, _ in passfiles)  # deleted after
    assert "env: PGPASSWORD" not in log


def test_config_keeps_the_password_private_and_never_shows_it(_isolated_home):
    runner = CliRunner()
    url = f"postgresql+psycopg://clinic:{SECRET}@db.example.org:5432/tplog"
    done = runner.invoke(app, ["config", "set", "database", url])
    assert done.exit_code == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "postgresql+psycopg://clinic:***@db.example.org:5432/tplog" in done.stderr
    config = _isolated_home / "config" / "tplog" / "config.toml"
    assert SECRET in config.read_text()  # kept where tplog reads it, and only there
    assert mode(config) == 0o600 and mode(config.parent) == 0o700
    assert [p.name for p in config.parent.iterdir()] == ["config.toml"]
    shown = runner.invoke(app, ["config", "show"])
    assert shown.exit_code == 0 and SECRET not in shown.stdout + shown.stderr
    assert "database = postgresql+psycopg://clinic:***@db.example.org:5432/tplog" in shown.stdout
    as_json = runner.invoke(app, ["config", "show", "--json"])
    assert SECRET not in as_json.stdout
    assert json.loads(as_json.stdout)["settings"]["database"] == \
        "postgresql+psycopg://clinic:***@db.example.org:5432/tplog"
    assert SECRET not in runner.invoke(app, ["db", "path"]).stdout


def test_a_config_folder_open_to_others_is_left_as_it_is_with_a_warning(tmp_path, monkeypatch):
    folder = tmp_path / "settings"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    config = folder / "config.toml"
    config.write_text('practitioner = "Dr Lee"\n')
    config.chmod(0o644)
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    done = CliRunner().invoke(app, ["config", "set", "default_ml", "2"])
    assert done.exit_code == 0, done.stderr
    assert f"Warning: {folder} is open to others (755)" in done.stderr
    assert mode(folder) == 0o755  # the user's folder, the user's choice
    assert mode(config) == 0o600
    assert 'practitioner = "Dr Lee"' in config.read_text()


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg://clinic:{SECRET}@127.0.0.1:notaport/tplog",     # malformed
    f"postgresql+psycopg://clinic:{SECRET}@127.0.0.1:1/tplog",            # unreachable
    f"postgresql+nodriver://clinic:{SECRET}@127.0.0.1/tplog",             # no such driver
    f"postgresql+psycopg://clinic:{SECRET}@127.0.0.1:1/tplog?sslmode=x",  # a bad option
])
def test_no_error_shows_the_password(url, monkeypatch):
    runner = CliRunner()
    for args in (["patient", "list"], ["db", "status"], ["db", "upgrade"],
                 ["db", "backup", "/nonexistent/b.dump"]):
        done = runner.invoke(app, ["--db", url, *args])
        assert_refused(done, 3)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert SECRET not in done.stdout + done.stderr
    checked = runner.invoke(app, ["--db", url, "db", "check"])
    assert checked.exit_code in (3, 4) and "Traceback" not in checked.stdout + checked.stderr
    assert SECRET not in checked.stdout + checked.stderr
    monkeypatch.setenv("TPLOG_DB", url)
    done = runner.invoke(app, ["patient", "list"])
    assert_refused(done, 3)
    assert SECRET not in done.stdout + done.stderr
