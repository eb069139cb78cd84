"""Where the database is, how to connect to it, and the check that its schema is current.

The package: this module (where and how to connect, which revision a database is at),
schema.py (migrations and the check that the schema is current), backup.py (backups,
restores, the database check), chain.py (the audit chain), guards.py (append-only triggers,
for migrations). Data flows one way: schema and backup use this module and the chain; none
of them imports a service. Alembic is imported only when the schema is not current, so the
common case, a current database, costs one small query on start-up.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tplog.errors import DatabaseProblem
from tplog.files import SQLITE_HEADER

# The Alembic revisions this tplog knows, oldest first; the last is the schema it needs.
# tests/test_migrations.py checks them against the scripts in alembic/versions, so that
# telling a current, an older and a newer database apart needs no Alembic import.
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009",
                   "0010", "0011", "0012", "0013")
SCHEMA_HEAD = KNOWN_REVISIONS[-1]

# How long a SQLite writer waits for another one before giving up (milliseconds);
# TPLOG_BUSY_TIMEOUT_MS overrides it (tests use a short one to see a lock fail).
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Writers on PostgreSQL take a transaction-scoped advisory lock first, so audit events are
# appended one writer at a time and the chain has no forks. The chain is the schema's own, so
# the lock is too: its key is this seed hashed with the schema's name, and clinics kept in two
# schemas of one database do not wait for each other (a hash shared by two names only makes
# them queue, never fork a chain).
PG_WRITE_LOCK = 0x74706C6F6700
PG_WRITE_LOCK_KEY = "hashtextextended(coalesce(current_schema(), ''), :key)"
PG_WRITE_LOCK_SQL = f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK_KEY})"  # a writer's

# Schema changes on PostgreSQL take this one: a new database's first migration and `tplog db
# upgrade` (transaction-scoped), a restore while it swaps schemas (session-scoped). Any
# constant will do; a tplog that finds no schema waits on it, then looks again.
PG_MIGRATION_LOCK = 0x74706C6F67

PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700


@dataclass(frozen=True)
class Location:
    """A database the user named (or the default one)."""

    url: str  # a SQLAlchemy URL
    path: Path | None  # the SQLite file, None for a server

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    def shown(self) -> str:
        """For messages: the file, or the server URL without its password."""
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        try:
            shown = hide_password(make_url(self.url).render_as_string(hide_password=True))
        except Exception:  # a malformed URL (a port that is not a number): shown as typed
            shown = hide_password(self.url)
        return shown if len(shown) <= 80 else shown[:79] + "…"

    def scrub(self, message: str) -> str:
        """A message from a driver or a tool with the URL's password, if it holds one, as ***."""
        found = _URL_PASSWORD.match(self.url) if self.path is None else None
        secret = found.group(2) if found else ""
        if not secret:
            return message
        from urllib.parse import unquote

        # An unencoded @ in a password splits it where a driver reads it: hide the pieces too.
        pieces = {piece for piece in secret.split("@") if len(piece) >= 4}
        for form in sorted({secret, unquote(secret), *pieces}, key=len, reverse=True):
            message = message.replace(form, "***")
        return message


# user:password@ after the scheme, as SQLAlchemy and libpq read it (the password ends at the
# first @), and a password= parameter in the query.
_URL_PASSWORD = re.compile(r"^([\w+.-]+://[^:/@]*:)([^/]*)(@)(?=[^@/]*(?:[/?]|$))")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def hide_password(url: str) -> str:
    """A database URL as it may be shown: any password as ***. A file path stays as it is."""
    if "://" not in url:
        return url
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***\3", url))


def default_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("tplog", appauthor=False)) / "tplog.db"


def locate(target: str | None) -> Location:
    """`--db`/TPLOG_DB: a SQLAlchemy URL (postgresql+psycopg://...) or a file path."""
    if not target:
        path = default_path()
    elif "://" in target:
        if target.startswith("sqlite"):
            from sqlalchemy.engine import make_url

            database = make_url(target).database
            if not database or database == ":memory:":
                raise DatabaseProblem("an in-memory SQLite database keeps nothing; give a file")
            path = Path(database)
        elif target.startswith("postgresql"):
            return Location(url=target, path=None)
        else:
            raise DatabaseProblem(f"cannot use database URL {hide_password(target)[:80]!r}; "
                                  "tplog keeps its records in a SQLite file or in PostgreSQL "
                                  "(postgresql+psycopg://user@host/database)")
    else:
        path = Path(target)
    path = path.expanduser().resolve()
    return Location(url=f"sqlite:///{path}", path=path)


def claim_sqlite_file(path: Path, *, create: bool = True, damaged_ok: bool = False) -> None:
    """Make sure a SQLite target is tplog's before anything touches it: a new file (created
    0600 in a folder created 0700: records are health information), an empty one, or a tplog
    database. A folder, a device, a file that is not SQLite, or a SQLite database of another
    program is refused as it is: never chmodded, created into, or switched to WAL.

    create=False: a missing file is refused, not made. damaged_ok: a SQLite file whose tables
    cannot be listed passes (`tplog db check` reports the damage; it only reads)."""
    from tplog.files import kind_of

    try:
        found = os.stat(path)
    except FileNotFoundError:
        if not create:
            raise DatabaseProblem(f"there is no database at {path}") from None
        _create_sqlite_file(path)
        return
    except OSError as error:
        raise DatabaseProblem(f"cannot use {path} as a database: {error.strerror}") from None
    kind = kind_of(found.st_mode)
    if kind is not None:
        raise DatabaseProblem(f"{path} is {kind}, not a database file; nothing was changed")
    if found.st_size == 0:
        return  # an empty file someone made for tplog: it becomes a new database
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            raise DatabaseProblem(f"{path} is not a tplog database (not a SQLite file); "
                                  "nothing was changed")
        tables = _table_names(path)
    except sqlite3.OperationalError:
        return  # SQLite, but unreadable now (I/O, a full disk, a lock): the command says why
    except sqlite3.DatabaseError as error:
        if damaged_ok:
            return
        raise DatabaseProblem(f"{path} is damaged ({error}); `tplog db check` says more, "
                              "`tplog db restore` puts a backup back") from None
    except (OSError, sqlite3.Error) as error:
        raise DatabaseProblem(f"{path} cannot be read as a database ("
                              f"{getattr(error, 'strerror', None) or error})") from None
    own = {"alembic_version", "patient"} <= tables and not any(
        " " in name for name in tables)
    if tables - {"alembic_version"} and not own:
        raise DatabaseProblem(f"{path} is not a tplog database (it holds other tables: "
                              f"{', '.join(sorted(tables)[:3])}); nothing was changed")


def _table_names(path: Path) -> set[str]:
    """The file's tables, read without writing anything (mode=ro). A file that marks itself as
    another program's (application_id, user_version: tplog sets neither), or holds views, or an
    alembic_version that is not tplog's, counts as holding a table of its own (refused)."""
    connection = sqlite3.connect(read_only_uri(path), uri=True)
    try:
        objects = connection.execute("SELECT type, name FROM sqlite_master").fetchall()
        tables = {name for kind, name in objects if kind == "table"}
        tables |= {f"{kind} {name}" for kind, name in objects if kind == "view"}
        for pragma in ("application_id", "user_version"):
            if connection.execute(f"PRAGMA {pragma}").fetchone()[0]:
                tables.add(f"{pragma} set")
        if "alembic_version" in tables and any(
                not re.fullmatch(r"[0-9]{4}", str(version)) for (version,) in
                connection.execute("SELECT version_num FROM alembic_version")):
            tables.add("another program's alembic_version")
        return tables
    finally:
        connection.close()


def read_only_uri(path: Path) -> str:
    """A SQLite URI that opens the file without writing to it or beside it."""
    from urllib.parse import quote

    # Read-only media hold no -shm for a WAL database and none can be made there:
    # immutable tells SQLite that nothing else can change the file either.
    still = ("&immutable=1" if not os.access(path.parent, os.W_OK)
             and not sqlite_files(path)[2].exists() else "")
    return f"file:{quote(str(path))}?mode=ro{still}"


def _create_sqlite_file(path: Path) -> None:
    try:
        path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        # O_EXCL: a file that appeared meanwhile is someone's; it is checked next time.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW,
                         PRIVATE_FILE))
    except FileExistsError:
        claim_sqlite_file(path)
    except OSError as error:
        raise DatabaseProblem(f"cannot create the database {path}: {error.strerror}") from None


def cannot_write(path: Path) -> bool:
    """An existing database that cannot be written here (read-only media, or no permission
    on the file or its folder): it is opened read-only, and writes say why they cannot be."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def sqlite_files(path: Path) -> list[Path]:
    """The database file and the -wal and -shm files SQLite keeps beside it."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def tighten_permissions(path: Path) -> list[str]:
    """Make the database files 0600, and tplog's own data folder 0700; say what was looser.

    A folder the user chose (--db /some/where/x.db) is theirs: it is left as it is.
    """
    if cannot_write(path):
        return []  # read-only media: nothing can change, nothing is tried
    warnings = []
    targets = [(p, PRIVATE_FILE) for p in sqlite_files(path)]
    if path.parent == default_path().parent:
        targets.append((path.parent, PRIVATE_FOLDER))
    for target, mode in targets:
        try:
            current = target.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if current & ~mode:
            try:
                target.chmod(mode)
            except OSError as error:
                warnings.append(f"{target} is readable by others ({current:o}) and could not "
                                f"be tightened: {error.strerror}")
                continue
            warnings.append(f"{target} was readable by others ({current:o}); "
                            f"tightened to {mode:o}")
    return warnings


def _busy_timeout_ms() -> int:
    value = os.environ.get("TPLOG_BUSY_TIMEOUT_MS", "")
    return int(value) if value.isdigit() else SQLITE_BUSY_TIMEOUT_MS


# The engines this process made, newest last, a few kept. SQLAlchemy caches each statement's
# compiled SQL in its engine; a process that runs several commands on one database (guided
# entry's loop, the test suite's in-process CLI) then compiles each statement once instead of
# once per command. A command still closes its connections when it ends (engine.dispose()
# empties the pool; the engine, its listeners and its cache stay usable), so the one-command
# CLI process behaves as before.
_ENGINES: dict[tuple[str, bool, bool], Engine] = {}
_ENGINES_KEPT = 4


def make_engine(location: Location, *, foreign_keys: bool = True,
                read_only: bool = False) -> Engine:
    """An engine on the database. SQLite: the target is checked first (claim_sqlite_file).
    read_only, or a file that cannot be written here: opened as it is (mode=ro), never
    created, switched to WAL or written (a backup being checked, read-only media)."""
    if location.path is not None:
        claim_sqlite_file(location.path, create=not read_only, damaged_ok=read_only)
        read_only = read_only or cannot_write(location.path)
    key = (location.url, foreign_keys, read_only)
    engine = _ENGINES.pop(key, None) or _new_engine(location, foreign_keys=foreign_keys,
                                                     read_only=read_only)
    _ENGINES[key] = engine
    while len(_ENGINES) > _ENGINES_KEPT:
        _ENGINES.pop(next(iter(_ENGINES))).dispose()
    return engine


def _new_engine(location: Location, *, foreign_keys: bool, read_only: bool) -> Engine:
    if location.path is None:
        try:
            # hide_parameters: SQL errors must never echo patient data.
            return create_engine(location.url, hide_parameters=True)
        except ImportError as error:
            raise DatabaseProblem(
                f"the driver for {location.shown()} is not installed ({error.name}); "
                "install tplog[postgres]") from None
        except Exception as error:  # ArgumentError, NoSuchModuleError: a malformed URL
            raise DatabaseProblem(f"cannot use database URL {location.shown()!r}: "
                                  f"{location.scrub(str(error))}") from None
    path = location.path
    if read_only:
        engine = create_engine(f"sqlite:///{read_only_uri(path)}&uri=true",
                               hide_parameters=True)
    else:
        engine = create_engine(location.url, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, say when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms()}")
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock at the start, so two writers queue on the busy
        # timeout instead of one failing when it upgrades a read lock ("database is locked").
        mode = connection.get_execution_options().get("tplog_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def current_revision(connection: Connection) -> str | None:
    # Asked in plain SQL, not through SQLAlchemy's inspector: every command starts here, and
    # on PostgreSQL the inspector's catalog query is compiled afresh in each process.
    # to_regclass resolves the name through search_path, as the inspector's visibility
    # check does.
    if connection.dialect.name == "postgresql":
        exists = text("SELECT to_regclass('alembic_version') IS NOT NULL")
    else:
        exists = text("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' "
                      "AND name = 'alembic_version'")
    if not connection.execute(exists).scalar():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def has_tplog_tables(connection: Connection) -> bool:
    from sqlalchemy import inspect

    return inspect(connection).has_table("patient")


def database_problem(location: Location, error: DBAPIError) -> DatabaseProblem:
    """One line for what went wrong at the database, without SQL or parameters."""
    detail = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    detail = location.scrub(detail)
    lowered = detail.lower()
    if "locked" in lowered:
        hint = "another tplog is writing; try again"
    elif "disk" in lowered and "full" in lowered:
        hint = "the disk is full; nothing was saved"
    elif ("readonly" in lowered or "read-only" in lowered
          or (location.path is not None and not os.access(location.path.parent, os.W_OK))):
        hint = "the database or its folder is read-only; nothing was saved"
    elif "not a database" in lowered:
        hint = "the file is not a tplog database"
    else:
        hint = "nothing was saved"
    return DatabaseProblem(f"database {location.shown()}: {detail} ({hint})")


@contextmanager
def session_scope(engine: Engine, location: Location, *, write: bool) -> Iterator[Session]:
    """One transaction for the whole command: committed at the end, rolled back on error."""
    if write and location.path is not None and cannot_write(location.path):
        raise DatabaseProblem(f"database {location.shown()} is read-only here (read-only "
                              "media, or no write permission on the file or its folder); "
                              "nothing was saved")
    options = {"tplog_begin": "IMMEDIATE"} if write and location.is_sqlite else {}
    try:
        with (engine.connect().execution_options(**options) as connection,
              Session(bind=connection, expire_on_commit=False) as session,
              session.begin()):
            if write and not location.is_sqlite:
                # Through the session, so that it opens the transaction the session commits.
                session.execute(text(PG_WRITE_LOCK_SQL), {"key": PG_WRITE_LOCK})
            try:
                yield session
            except BaseException:
                _drop_if_mid_command(connection)
                raise
    except DBAPIError as error:
        raise database_problem(location, error) from None


def _drop_if_mid_command(connection: Connection) -> None:
    """A PostgreSQL connection an error (a Ctrl-C) left in the middle of a command (a COPY
    begun or ending: the import's bulk writes) can take no ROLLBACK: it is closed instead,
    and the server rolls the transaction back. Rolling back on it would fail with "another
    command is already in progress", logged with tracebacks, in place of the error itself."""
    if connection.dialect.name != "postgresql" or connection.invalidated:
        return
    driver = connection.connection.driver_connection
    from psycopg.pq import TransactionStatus

    if driver is not None and driver.pgconn.transaction_status == TransactionStatus.ACTIVE:
        connection.invalidate()
