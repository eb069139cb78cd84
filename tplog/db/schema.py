"""Schema revisions through Alembic: open a database at the current schema, migrate a new
one, refuse an old or a newer one, and `tplog db upgrade` (a backup first, then the upgrade in
one transaction).

Alembic is slow to import: it is imported only inside the functions that run it, so opening a
database whose schema is current (every command) costs one small query and no Alembic; the
backups, needed only to upgrade, likewise.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from tplog import db
from tplog.db.chain import Actor, append_event
from tplog.errors import DatabaseProblem, TplogError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory


def migrations_folder() -> Path:
    """The Alembic scripts: tplog/migrations in an installed wheel (pyproject.toml maps
    alembic/ there), else alembic/ beside the package in a checkout (an editable install)."""
    shipped = Path(str(resources.files("tplog"))) / "migrations"
    if (shipped / "env.py").is_file():
        return shipped
    return Path(__file__).resolve().parent.parent.parent / "alembic"


def open_database(location: db.Location) -> Engine:
    """An engine on a database whose schema is current; a new database is migrated first."""
    engine = db.make_engine(location)
    try:
        with engine.connect() as connection:
            revision = db.current_revision(connection)
    except DBAPIError as error:
        engine.dispose()
        raise db.database_problem(location, error) from None
    if revision == db.SCHEMA_HEAD:
        return engine
    engine.dispose()
    prepare(location, revision)
    return db.make_engine(location)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def known_revisions() -> set[str]:
    return set(db.KNOWN_REVISIONS)


def upgrade_to_head(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def prepare(location: db.Location, revision: str | None) -> None:
    """Make a database usable at SCHEMA_HEAD, or refuse with what to do about it."""
    if revision is None:
        _migrate_new(location)
        return
    _refuse(location, revision)


def _refuse(location: db.Location, revision: str) -> None:
    if revision in known_revisions():
        raise DatabaseProblem(
            f"database {location.shown()} has an older schema (revision {revision}, this tplog "
            f"needs {db.SCHEMA_HEAD}); run `tplog db upgrade` (it takes a backup first)")
    raise DatabaseProblem(
        f"database {location.shown()} has schema revision {revision}, newer than this tplog "
        f"knows ({db.SCHEMA_HEAD}); upgrade tplog to use it")


def _locked_connection(location: db.Location, engine: Engine) -> Connection:
    connection = engine.connect().execution_options(tplog_begin="IMMEDIATE")
    connection.begin()
    if not location.is_sqlite:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": db.PG_MIGRATION_LOCK})
    return connection


def _migrate_new(location: db.Location) -> None:
    """Build the schema of a new database; under a lock, so a second tplog waits and sees it."""
    # Foreign keys off while Alembic batch operations rebuild SQLite tables (checked below).
    engine = db.make_engine(location, foreign_keys=False)
    try:
        with _locked_connection(location, engine) as connection:
            revision = db.current_revision(connection)
            if revision is None:
                from sqlalchemy import inspect

                others = set(inspect(connection).get_table_names()) - {"alembic_version"}
                if others:  # another program's tables (PostgreSQL: its schema): untouched
                    raise DatabaseProblem(
                        f"{location.shown()} is not a tplog database (it holds other tables: "
                        f"{', '.join(sorted(others)[:3])}); nothing was changed")
            if revision is None:
                upgrade_to_head(connection)
                _check_foreign_keys(location, connection)
                connection.commit()
            elif revision != db.SCHEMA_HEAD:
                _refuse(location, revision)
    except DatabaseProblem:
        raise
    except Exception as error:
        raise DatabaseProblem(f"cannot prepare database {location.shown()}: "
                              f"{str(error).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _check_foreign_keys(location: db.Location, connection: Connection) -> None:
    if location.is_sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
        raise DatabaseProblem("the migration would break references between records; "
                              "nothing was changed")


def status(location: db.Location) -> tuple[str | None, str]:
    """(revision in the database, revision this tplog needs)."""
    engine = db.make_engine(location)
    try:
        with engine.connect() as connection:
            return db.current_revision(connection), db.SCHEMA_HEAD
    except DBAPIError as error:  # a server that cannot be reached: one line, no traceback
        raise db.database_problem(location, error) from None
    finally:
        engine.dispose()


def upgrade(location: db.Location, actor: Actor) -> tuple[str | None, Path | None]:
    """Back up, then upgrade to head in one transaction. Returns (old revision, backup)."""
    engine = db.make_engine(location, foreign_keys=False)
    try:
        try:
            with engine.connect() as connection:
                revision = db.current_revision(connection)
        except DBAPIError as error:  # a server that cannot be reached: one line
            raise db.database_problem(location, error) from None
        if revision == db.SCHEMA_HEAD:
            return revision, None
        if revision is not None and revision not in known_revisions():
            _refuse(location, revision)
        backup = take_backup(location, engine, revision)
        try:
            with _locked_connection(location, engine) as connection:
                upgrade_to_head(connection)
                _check_foreign_keys(location, connection)
                append_event(connection, actor=actor, action="db.upgrade",
                             target=f"schema {revision or 'none'} to {db.SCHEMA_HEAD}, "
                                    f"backup at {backup}")
                connection.commit()
        except DatabaseProblem as error:
            raise DatabaseProblem(f"{error.message}; the backup is {backup}") from None
        except Exception as error:
            # The transaction rolled back; SQLite cannot roll back every DDL, so put the
            # backup back in place to leave the database exactly as it was.
            if location.path is not None and backup is not None:
                engine.dispose()
                _restore_file(backup, location.path)
            raise DatabaseProblem(f"the upgrade failed ({str(error).splitlines()[0]}); the "
                                  f"database is as it was, and the backup is {backup}") from None
        return revision, backup
    finally:
        engine.dispose()


def take_backup(location: db.Location, engine: Engine, revision: str | None) -> Path:
    """A consistent copy before the schema changes: beside a SQLite file, or a pg_dump of
    tplog's schema in the data folder's backups/."""
    from tplog.db import backup as backups

    stem = f"before-upgrade-{revision or 'empty'}"
    try:
        if location.path is not None:
            sqlite_path = location.path
            return backups.fresh_backup(
                location.path.parent, f"{location.path.name}.{stem}", ".bak",
                lambda target: backups.sqlite_copy(sqlite_path, target, single_file=True))
        return backups.fresh_backup(db.default_path().parent / "backups",
                                    f"postgresql.{stem}", ".dump",
                                    lambda target: backups.pg_dump(engine, target))
    except TplogError as error:
        raise DatabaseProblem(f"backup before upgrading failed ({error.message}); "
                              "nothing was changed") from None


def _restore_file(backup: Path, path: Path) -> None:
    from tplog.db import backup as backups

    for leftover in db.sqlite_files(path)[1:]:
        leftover.unlink(missing_ok=True)
    backups.sqlite_copy(backup, path)
