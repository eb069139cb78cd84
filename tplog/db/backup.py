"""Backups, restores and the database check: the storage side of record integrity.

SQLite copies go through SQLite's online backup API (a consistent snapshot while others
write; never a file copy). PostgreSQL uses pg_dump and pg_restore on tplog's schema.
Every backup and restore is in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from tplog import db
from tplog.db import chain, guards
from tplog.errors import Conflict, DatabaseProblem, NotFound


def claim_fresh(folder: Path, stem: str, suffix: str) -> Path:
    """A new private file named `stem-<time><suffix>` in `folder` (a counter if taken)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 100):
        target = folder / f"{stem}-{stamp}{'' if attempt == 1 else f'-{attempt}'}{suffix}"
        try:
            claim(target)
            return target
        except Conflict:
            continue
    raise Conflict(f"cannot find a free name for {stem} in {folder}")


def claim(target: Path) -> None:
    """Create the target file, private, refusing to overwrite anything."""
    try:
        target.parent.mkdir(mode=db.PRIVATE_FOLDER, parents=True, exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, db.PRIVATE_FILE))
    except FileExistsError:
        raise Conflict(f"{target} already exists; tplog never overwrites a file, "
                       "choose a new name") from None
    except OSError as error:
        raise DatabaseProblem(f"cannot write {target}: {error.strerror}") from None


def sqlite_copy(source: Path, target: Path, *, single_file: bool = False) -> None:
    """SQLite's online backup API: a consistent copy even while others write.

    single_file: leave the copy in rollback-journal mode, one self-contained file (a backup),
    rather than in the WAL mode the pages carry (a live database).
    """
    reader = sqlite3.connect(source, timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000)
    writer = sqlite3.connect(target, timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        reader.backup(writer)
        if single_file:
            writer.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.Error as error:
        raise DatabaseProblem(f"copying {source} to {target} failed: {error}") from None
    finally:
        writer.close()
        reader.close()


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise DatabaseProblem(f"{name} is not installed; tplog needs it to back up or restore "
                              "a PostgreSQL database")
    return tool


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first_line = (done.stderr.strip().splitlines() or [f"{command[0]} failed"])[0]
        raise DatabaseProblem(f"{what} failed: {first_line}")


def pg_dump(engine: Engine, target: Path) -> None:
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    _run([_pg_tool("pg_dump"), "--format=custom", f"--schema={schema}", f"--file={target}",
          f"--dbname={_libpq_url(engine)}"], "pg_dump")


def backup(location: db.Location, engine: Engine, target: Path, actor: chain.Actor) -> Path:
    """A consistent copy of the whole database at `target` (0600), never over a file."""
    target = target.expanduser().resolve()
    if location.path is not None and target == location.path:
        raise Conflict("a backup cannot replace the database it copies")
    claim(target)
    try:
        if location.path is not None:
            sqlite_copy(location.path, target, single_file=True)
            _check_sqlite_file(target)
        else:
            pg_dump(engine, target)
        target.chmod(db.PRIVATE_FILE)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    with db.session_scope(engine, location, write=True) as session:
        chain.append_event(session.connection(), actor=actor, action="db.backup",
                           target=f"backup written to {target}")
    return target


def _check_sqlite_file(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise DatabaseProblem(f"{path} is not a usable SQLite database: {error}") from None
    if result != ("ok",):
        raise DatabaseProblem(f"{path} is damaged: {result[0]}")


@dataclass(frozen=True)
class Restored:
    kept_aside: Path | None
    revision: str | None


def restore(location: db.Location, source: Path, actor: chain.Actor) -> Restored:
    """Check a backup, keep the current database aside, then put the backup in its place."""
    source = source.expanduser().resolve()
    if not source.is_file():
        raise NotFound(f"no backup at {source}")
    if location.path is None:
        return _restore_pg(location, source, actor)
    _check_sqlite_file(source)
    revision = _check_backup(db.locate(str(source)))
    aside = None
    if location.path.exists() and location.path.stat().st_size > 0:
        aside = claim_fresh(location.path.parent, f"{location.path.name}.replaced", "")
        sqlite_copy(location.path, aside, single_file=True)
    sqlite_copy(source, location.path)
    db.tighten_permissions(location.path)
    _record_restore(location, source, actor, revision)
    return Restored(kept_aside=aside, revision=revision)


def _check_backup(where: db.Location) -> str | None:
    """A backup is restored only if it is a tplog database whose audit trail holds."""
    engine = db.make_engine(where)
    try:
        with engine.connect() as connection:
            revision = db.current_revision(connection)
            if revision is None or not db.has_tplog_tables(connection):
                raise DatabaseProblem(f"{where.shown()} is not a tplog backup; nothing was "
                                      "restored")
            if revision not in db.KNOWN_REVISIONS:
                raise DatabaseProblem(f"{where.shown()} has schema revision {revision}, newer "
                                      "than this tplog knows; nothing was restored")
            if revision == db.SCHEMA_HEAD:
                problems = chain.verify(connection)
                if problems:
                    raise DatabaseProblem(f"the backup's audit trail does not hold "
                                          f"({problems[0].message}); nothing was restored")
            return revision
    finally:
        engine.dispose()


def _record_restore(location: db.Location, source: Path, actor: chain.Actor,
                    revision: str | None) -> None:
    if revision != db.SCHEMA_HEAD:
        return  # an older schema has no trail to append to until `tplog db upgrade`
    engine = db.make_engine(location)
    try:
        with db.session_scope(engine, location, write=True) as session:
            chain.append_event(session.connection(), actor=actor, action="db.restore",
                               target=f"restored from {source}")
    finally:
        engine.dispose()


def _restore_pg(location: db.Location, source: Path, actor: chain.Actor) -> Restored:
    engine = db.make_engine(location)
    try:
        _run([_pg_tool("pg_restore"), "--list", str(source)], "reading the backup")
        aside = claim_fresh(db.default_path().parent / "backups", "postgresql.replaced", ".dump")
        pg_dump(engine, aside)
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--single-transaction",
              "--no-owner", f"--dbname={_libpq_url(engine)}", str(source)], "pg_restore")
        with engine.connect() as connection:
            revision = db.current_revision(connection)
    finally:
        engine.dispose()
    _record_restore(location, source, actor, revision)
    return Restored(kept_aside=aside, revision=revision)


# --- tplog db check -------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check(location: db.Location) -> list[Check]:
    """Every check, whether or not an earlier one failed."""
    checks: list[Check] = []
    engine = db.make_engine(location, read_only=True)  # a check only reads
    try:
        with engine.connect() as connection:
            if location.path is not None:
                checks += _sqlite_checks(connection, location.path)
            else:
                checks.append(Check("integrity", True, "kept by the PostgreSQL server"))
            revision = db.current_revision(connection)
            current = revision == db.SCHEMA_HEAD
            checks.append(Check("schema revision", current,
                                f"{revision or 'none'}; this tplog needs {db.SCHEMA_HEAD}"
                                + ("" if current else " (run `tplog db upgrade`)")))
            if current:
                lacking = guards.missing(connection)
                checks.append(Check("append-only guards", not lacking,
                                    f"missing: {', '.join(lacking[:3])}"
                                    + (f" (and {len(lacking) - 3} more)"
                                       if len(lacking) > 3 else "")
                                    if lacking else "every clinical table refuses edits"))
                problems = chain.verify(connection)
                checks.append(Check("audit trail", not problems, problems[0].message
                                    + (f" (and {len(problems) - 1} more)"
                                       if len(problems) > 1 else "")
                                    if problems else "every event and record holds"))
    except Exception as error:  # a file too damaged to read at all
        detail = str(error).strip().splitlines()[0]
        checks.append(Check("readable", False, detail))
    finally:
        engine.dispose()
    return checks


def _sqlite_checks(connection: Connection, path: Path) -> list[Check]:
    integrity = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
    keys = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    loose = [f"{p.name} {p.stat().st_mode & 0o777:o}" for p in db.sqlite_files(path)
             if p.exists() and p.stat().st_mode & 0o077]
    return [
        Check("integrity", integrity == ["ok"], "; ".join(integrity[:3])),
        Check("foreign keys", not keys, f"{len(keys)} broken reference(s)" if keys
              else "every reference resolves"),
        Check("file permissions", not loose, ", ".join(loose) if loose
              else "readable by you alone"),
    ]
