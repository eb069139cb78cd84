"""Backups, restores and the database check: the storage side of record integrity.

SQLite copies go through SQLite's online backup API (a consistent snapshot while others
write; never a file copy). PostgreSQL uses pg_dump and pg_restore on tplog's schema, with the
password in a passfile, never on their command line. Every backup is written through
tplog.files (a private temporary file beside it, published without overwriting anything); a
backup being restored is only ever read, and checked before it replaces anything. Every
backup and restore is in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from tplog import db, files
from tplog.db import chain, guards
from tplog.errors import Conflict, DatabaseProblem, StorageProblem


def _make_folder(folder: Path) -> None:
    """The folder a backup goes into; a new one is private (0700)."""
    try:
        folder.mkdir(mode=db.PRIVATE_FOLDER, parents=True, exist_ok=True)
    except OSError as error:
        raise StorageProblem(f"cannot create the folder {folder}: {error.strerror}; nothing "
                             "was written") from None


def fresh_backup(folder: Path, stem: str, suffix: str, write: Callable[[Path], None]) -> Path:
    """A new private file named `stem-<time><suffix>` in `folder` (a counter if the name is
    taken): written by a tool that writes by name (SQLite's backup, pg_dump) into a private
    temporary file beside it, then put there in one step, never over a file; a failure
    leaves nothing behind."""
    _make_folder(folder)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    with files.temporary_beside(folder / f"{stem}{suffix}") as temporary:
        write(temporary)
        for attempt in range(1, 100):
            target = folder / f"{stem}-{stamp}{'' if attempt == 1 else f'-{attempt}'}{suffix}"
            try:
                files.publish(temporary, target, overwrite=False)
                return target
            except Conflict:
                continue
    raise Conflict(f"cannot find a free name for {stem} in {folder}")


def _sqlite_sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + end) for end in ("-journal", "-wal", "-shm")]


def sqlite_copy(source: Path, target: Path, *, single_file: bool = False,
                source_read_only: bool = False) -> None:
    """SQLite's online backup API: a consistent copy even while others write.

    single_file: leave the copy in rollback-journal mode, one self-contained file (a backup),
    rather than in the WAL mode the pages carry (a live database).
    source_read_only: open the source with mode=ro (a backup being restored: never written,
    and readable on read-only media or as a 0400 file).
    """
    try:
        if source_read_only or db.cannot_write(source):
            # Read-only media too: a backup of a database there is a read.
            reader = sqlite3.connect(db.read_only_uri(source), uri=True,
                                     timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000)
        else:
            reader = sqlite3.connect(source, timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise DatabaseProblem(f"cannot read {source}: {error}") from None
    try:
        writer = sqlite3.connect(target, timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        reader.close()
        raise DatabaseProblem(f"cannot write {target}: {error}") from None
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


@contextmanager
def _pg_connection(engine: Engine) -> Iterator[tuple[str, dict[str, str]]]:
    """(libpq URL, environment) for pg_dump and pg_restore: the URL without its password,
    which goes in a passfile instead.

    Never on the command line, where every local user can read it (ps, /proc/*/cmdline). A
    passfile (PGPASSFILE), as the PostgreSQL manual advises over PGPASSWORD: created 0600 by
    mkstemp, for this one run of the tool, and deleted after it.
    """
    # set(password=None) would keep it: None there means "unchanged".
    url = engine.url._replace(password=None).set(drivername="postgresql")
    password = engine.url.password
    if "password" in url.query:  # libpq also reads ?password=
        query_password = url.query["password"]
        password = password or (query_password if isinstance(query_password, str)
                                else query_password[0])
        url = url.difference_update_query(["password"])
    environment = dict(os.environ)
    if not password:
        yield url.render_as_string(hide_password=False), environment
        return
    environment.pop("PGPASSWORD", None)  # it would win over the passfile
    escaped = str(password).replace("\\", "\\\\").replace(":", "\\:")
    descriptor, name = tempfile.mkstemp(prefix="tplog-", suffix=".pgpass")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as passfile:
            passfile.write(f"*:*:*:*:{escaped}\n")
        environment["PGPASSFILE"] = name
        yield url.render_as_string(hide_password=False), environment
    finally:
        Path(name).unlink(missing_ok=True)


def _run(command: list[str], what: str, environment: dict[str, str] | None = None,
         location: db.Location | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env=environment)
    if done.returncode != 0:
        first_line = (done.stderr.strip().splitlines() or [f"{command[0]} failed"])[0]
        if location is not None:
            first_line = location.scrub(first_line)
        raise DatabaseProblem(f"{what} failed: {first_line}")
    return done.stdout


def _current_schema(engine: Engine) -> str:
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    if schema is None:
        raise DatabaseProblem("the database's search_path names no schema that exists; "
                              "nothing was done")
    return str(schema)


def pg_dump(engine: Engine, target: Path, schema: str | None = None) -> None:
    schema = schema or _current_schema(engine)
    location = db.Location(url=engine.url.render_as_string(hide_password=False), path=None)
    with _pg_connection(engine) as (url, environment):
        _run([_pg_tool("pg_dump"), "--format=custom", f"--schema={_quoted(schema)}",
              f"--file={target}", f"--dbname={url}"], "pg_dump", environment, location)


def _quoted(name: str) -> str:
    """An identifier as SQL (and pg_dump --schema) spell it: in double quotes, exactly."""
    return '"' + name.replace('"', '""') + '"'


def _ddl(connection: Connection, statement: str) -> None:
    """A statement with names in it (no parameters): sent as it is, % escaped for the driver
    (text() would read :34 in a time as a parameter)."""
    connection.exec_driver_sql(statement.replace("%", "%%"))


def _literal(value: str) -> str:
    """A string as an SQL literal, for the one statement that takes no parameters (COMMENT)."""
    return "'" + value.replace("'", "''") + "'"


# The part of a backup or restore that, once begun, is carried through: the CLI passes what
# holds Ctrl-C back for it (the file put in place and its audit event, together).
Finishing = Callable[[], AbstractContextManager[object]]


def backup(location: db.Location, engine: Engine, target: Path, actor: chain.Actor, *,
           finishing: Finishing = nullcontext) -> Path:
    """A consistent copy of the whole database at `target` (0600), never over a file:
    written beside it (a failure leaves nothing), then put there and recorded in the trail
    inside `finishing`."""
    target = Path(os.path.abspath(target.expanduser()))
    if location.path is not None and target.resolve() == location.path:
        raise Conflict("a backup cannot replace the database it copies")
    _make_folder(target.parent)
    target = files.check_target(target, "backup", overwrite=False)
    if os.path.lexists(target):
        raise Conflict(f"{target} already exists; tplog never overwrites a file, "
                       "choose a new name")
    with files.temporary_beside(target) as temporary:
        if location.path is not None:
            _sqlite_backup(location.path, temporary)
        else:
            pg_dump(engine, temporary)
        with finishing():
            files.publish(temporary, target, overwrite=False)
            with db.session_scope(engine, location, write=True) as session:
                chain.append_event(session.connection(), actor=actor, action="db.backup",
                                   target=f"backup written to {target}")
    return target


def _sqlite_backup(live: Path, temporary: Path) -> None:
    try:
        sqlite_copy(live, temporary, single_file=True)
        _check_sqlite_file(temporary)
    finally:
        for sidecar in _sqlite_sidecars(temporary):
            sidecar.unlink(missing_ok=True)


def _check_sqlite_file(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
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


def restore(location: db.Location, source: Path, actor: chain.Actor, *,
            finishing: Finishing = nullcontext) -> Restored:
    """Check a backup, keep the current database aside, then put the backup in its place
    (SQLite: its copy over the database and its audit event inside `finishing`).

    A backup that is not a tplog database, has a schema revision newer than this tplog
    knows, or whose audit trail does not hold, is refused and the database is left exactly
    as it was. The backup is only ever read.
    """
    source = files.check_source(source, "backup").resolve()
    if location.path is None:
        return _restore_pg(location, source, actor)
    live = location.path
    db.claim_sqlite_file(live)  # a folder or another program's file is never replaced
    _check_sqlite_file(source)
    revision = _check_sqlite_backup(source)
    aside = None
    if live.exists() and live.stat().st_size > 0:
        aside = fresh_backup(live.parent, f"{live.name}.replaced", "",
                             lambda temporary: _sqlite_backup(live, temporary))
    with finishing():
        try:
            # The backup API writes the database in one transaction: a failure leaves it as
            # it was.
            sqlite_copy(source, live, source_read_only=True)
        except BaseException:
            if aside is not None:
                aside.unlink(missing_ok=True)  # nothing was replaced: nothing to keep
            raise
        db.tighten_permissions(live)
        _record_restore(location, source, actor, revision)
    return Restored(kept_aside=aside, revision=revision)


def _check_sqlite_backup(source: Path) -> str | None:
    """Opened read-only (mode=ro): checking a backup never changes it (no WAL switch, no
    new file), and works on read-only media."""
    engine = db.make_engine(db.locate(str(source)), read_only=True)
    try:
        with engine.connect() as connection:
            return _check_backup(connection, str(source))
    except DBAPIError as error:
        detail = str(error.orig).strip().splitlines()[0] if error.orig is not None else ""
        raise DatabaseProblem(f"{source} cannot be read as a tplog backup ({detail}); nothing "
                              "was restored") from None
    finally:
        engine.dispose()


def _check_backup(connection: Connection, shown: str) -> str | None:
    """A backup is restored only if it is a tplog database whose audit trail holds.

    At an older revision the trail cannot be checked with this tplog's code (its tables were
    different): what can be checked is that it is a tplog database at a revision tplog knows;
    `tplog db upgrade` then brings it to the current schema.
    """
    revision = db.current_revision(connection)
    if revision is None or not db.has_tplog_tables(connection):
        raise DatabaseProblem(f"{shown} is not a tplog backup; nothing was restored")
    if revision not in db.KNOWN_REVISIONS:
        raise DatabaseProblem(f"{shown} has schema revision {revision}, newer than this "
                              "tplog knows; nothing was restored")
    foreign = guards.foreign_objects(connection)
    if foreign:
        raise DatabaseProblem(f"{shown} holds code tplog did not put there "
                              f"({', '.join(foreign[:3])}); nothing was restored")
    if revision == db.SCHEMA_HEAD:
        problems = chain.verify(connection)
        if problems:
            raise DatabaseProblem(f"the backup's audit trail does not hold "
                                  f"({problems[0].message}); nothing was restored")
        lacking = guards.missing(connection)
        if lacking:
            raise DatabaseProblem(f"{shown} lacks tplog's append-only guards "
                                  f"({', '.join(lacking[:3])}); nothing was restored")
    return revision


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


# --- PostgreSQL restore ---------------------------------------------------------------------
#
# A dump from `tplog db backup` holds one schema, by name: `pg_restore --list` shows its
# "SCHEMA - <name>" entry, and pg_restore creates that schema and every object in it under
# that name (pg_restore cannot restore into another name). So the dump is restored into a
# schema of its own, checked there, and only then swapped in:
#
# - a dump of schema D restored into a database whose schema is L, D != L (and no schema D
#   exists): pg_restore creates D, tplog checks it, then in ONE transaction renames L aside, D
#   to L, records the restore and drops the old L. A crash at any moment leaves L as it was
#   (plus, at worst, a scratch schema D).
# - D == L (the usual case, a backup of this very schema): L is renamed aside first (one
#   committed rename, commented with what it is), pg_restore creates L, tplog checks it; a bad
#   dump is dropped and the aside schema renamed back, a good one is recorded and the aside
#   schema dropped.
# - D != L and a schema D exists: refused; tplog never touches a schema it does not use.
#
# All of it holds tplog's migration lock (a tplog that finds its schema missing waits on it,
# then looks again) and the write lock (no writer slips in between the copy kept aside and the
# swap), session-scoped on one connection. Restoring into a scratch database instead would
# need CREATEDB, which a clinic's role seldom has; this needs only what pg_restore --clean
# needed before (to own the schema and create schemas).

_SCHEMA_ENTRY = re.compile(r"^\d+; 2615 \d+ SCHEMA - (.+) \S+$")  # 2615: pg_namespace


# What `pg_dump --schema` of a tplog schema lists, and nothing else: code (functions,
# triggers) only as tplog's guards. A dump with another function could run it while it is
# restored (a CHECK that calls it), so it is refused before pg_restore runs; the guards'
# definitions are checked once restored, before the swap (guards.foreign_objects).
_DUMP_KINDS = ("FK CONSTRAINT", "SEQUENCE OWNED BY", "SEQUENCE SET", "TABLE DATA", "SEQUENCE",
               "CONSTRAINT", "DEFAULT", "COMMENT", "SCHEMA", "TABLE", "INDEX", "ACL",
               "FUNCTION", "TRIGGER")
_DUMP_ENTRY = re.compile(r"^\d+; \d+ \d+ (?P<rest>.+)$")


def _unexpected_entry(line: str) -> str | None:
    """A `pg_restore --list` line that a tplog backup does not hold, in words; else None."""
    found = _DUMP_ENTRY.match(line)
    if line.startswith(";") or not line or found is None:
        return None
    rest = found.group("rest")
    kind = next((k for k in _DUMP_KINDS if rest.startswith(k + " ")), None)
    if kind is None:
        return rest.rsplit(" ", 1)[0][:60]
    words = rest[len(kind) + 1:].split()
    if kind == "FUNCTION" and not (len(words) >= 2 and words[1] == "tplog_append_only()"):
        return f"function {' '.join(words[1:-1])[:40]}"
    if kind == "TRIGGER" and not any(w in ("tplog_append_only", "tplog_no_truncate")
                                     for w in words[2:3]):
        return f"trigger {' '.join(words[1:-1])[:40]}"
    return None


def _dumped_schema(source: Path) -> str:
    try:
        listing = _run([_pg_tool("pg_restore"), "--list", str(source)], "reading the backup")
    except DatabaseProblem as error:
        raise DatabaseProblem(f"{error.message}; {source} is not a tplog backup, nothing was "
                              "restored") from None
    unexpected = [entry for line in listing.splitlines()
                  if (entry := _unexpected_entry(line.strip())) is not None]
    if unexpected:
        raise DatabaseProblem(f"{source} holds what a tplog backup never does "
                              f"({', '.join(unexpected[:3])}); nothing was restored")
    schemas = [found.group(1) for line in listing.splitlines()
               if (found := _SCHEMA_ENTRY.match(line.strip()))]
    if len(schemas) != 1:
        raise DatabaseProblem(f"{source} is not a tplog backup (a dump of one schema, made by "
                              f"`tplog db backup`; it holds {len(schemas)}); nothing was "
                              "restored")
    return schemas[0]


def _restore_pg(location: db.Location, source: Path, actor: chain.Actor) -> Restored:
    dumped = _dumped_schema(source)
    engine = db.make_engine(location)
    try:
        with engine.connect() as connection:
            with connection.begin():
                # Session-scoped, held while the schemas are swapped: the migration lock,
                # and the live schema's write lock (writers take its transaction form).
                connection.execute(text("SELECT pg_advisory_lock(:key)"),
                                   {"key": db.PG_MIGRATION_LOCK})
                connection.execute(text(f"SELECT pg_advisory_lock({db.PG_WRITE_LOCK_KEY})"),
                                   {"key": db.PG_WRITE_LOCK})
                live = connection.execute(text("SELECT current_schema()")).scalar()
                taken = connection.execute(
                    text("SELECT 1 FROM pg_namespace WHERE nspname = :name"),
                    {"name": dumped}).first() is not None
            if live is None:
                raise DatabaseProblem(f"database {location.shown()}: its search_path names no "
                                      "schema that exists; nothing was restored")
            if dumped != live and taken:
                raise DatabaseProblem(
                    f"the backup holds schema {dumped}, which this database also has beside "
                    f"tplog's schema {live}; tplog will not touch it, so nothing was restored")
            kept = fresh_backup(db.default_path().parent / "backups", "postgresql.replaced",
                                ".dump", lambda temporary: pg_dump(engine, temporary, live))
            try:
                revision = _swap_in(connection, engine, location, source, dumped, live, actor)
            except BaseException:
                kept.unlink(missing_ok=True)  # the database is as it was: nothing to keep
                raise
            return Restored(kept_aside=kept, revision=revision)
    except DBAPIError as error:
        raise db.database_problem(location, error) from None
    finally:
        engine.dispose()


def _swap_in(connection: Connection, engine: Engine, location: db.Location, source: Path,
             dumped: str, live: str, actor: chain.Actor) -> str | None:
    aside = f"tplog_replaced_{uuid.uuid4().hex[:12]}"
    if dumped == live:
        began = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        with connection.begin():
            _ddl(connection, f"ALTER SCHEMA {_quoted(live)} RENAME TO {_quoted(aside)}")
            _ddl(connection, f"COMMENT ON SCHEMA {_quoted(aside)} IS " + _literal(
                    f"tplog: schema {live} as it was when a restore began at {began}; if it "
                    "is still here, that restore did not finish: rename it back"))
    restored = False
    try:
        with _pg_connection(engine) as (url, environment):
            _run([_pg_tool("pg_restore"), "--single-transaction", "--exit-on-error",
                  "--no-owner", f"--dbname={url}", str(source)], "pg_restore", environment,
                 location)
        restored = True  # schema `dumped` is the one pg_restore just created
        with connection.begin():
            _ddl(connection, f"SET LOCAL search_path TO {_quoted(dumped)}")
            revision = _check_backup(connection, str(source))
        # One transaction: if it fails, the renames roll back with it and the restored schema
        # is dropped below, as for a refused dump.
        with connection.begin():
            if dumped != live:
                _ddl(connection, f"ALTER SCHEMA {_quoted(live)} RENAME TO {_quoted(aside)}")
                _ddl(connection, f"ALTER SCHEMA {_quoted(dumped)} RENAME TO {_quoted(live)}")
            if revision == db.SCHEMA_HEAD:
                chain.append_event(connection, actor=actor, action="db.restore",
                                   target=f"restored from {source}")
            _ddl(connection, f"DROP SCHEMA {_quoted(aside)} CASCADE")
    except BaseException:
        _put_back(connection, dumped if restored else None,
                  aside if dumped == live else None, live)
        raise
    return revision


def _put_back(connection: Connection, restored: str | None, aside: str | None,
              live: str) -> None:
    """After a refused or failed restore: drop what was restored (pg_restore's one transaction
    leaves nothing when it fails), rename the old schema back."""
    try:
        if connection.in_transaction():
            connection.rollback()
        with connection.begin():
            if restored is not None:
                _ddl(connection, f"DROP SCHEMA {_quoted(restored)} CASCADE")
            if aside is not None:
                _ddl(connection, f"ALTER SCHEMA {_quoted(aside)} RENAME TO {_quoted(live)}")
    except DBAPIError as error:
        where = f"; its records are in schema {aside}" if aside is not None else ""
        raise DatabaseProblem(f"the restore failed and putting the database back failed too "
                              f"({str(error.orig).strip().splitlines()[0]}){where}") from None


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
                foreign = guards.foreign_objects(connection)
                checks.append(Check("no foreign code", not foreign,
                                    f"not tplog's: {', '.join(foreign[:3])}"
                                    + (f" (and {len(foreign) - 3} more)"
                                       if len(foreign) > 3 else "")
                                    if foreign else "every trigger and function is tplog's"))
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
        detail = location.scrub(str(error).strip().splitlines()[0])
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
