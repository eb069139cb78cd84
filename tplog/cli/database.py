"""tplog db path | status | upgrade | backup | restore | check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tplog.cli.app import actor, echo, echo_json, engine, finishing, location, note
from tplog.cli.options import JsonFlag
from tplog.errors import ExitCode

db_app = typer.Typer(
    help="Where the database is, its schema revision, upgrades.",
    no_args_is_help=True, rich_markup_mode=None)


@db_app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the database is (a file, or a server URL without its password)."""
    echo(location(ctx).shown())


@db_app.command("status")
def status(
    ctx: typer.Context,
    json: JsonFlag = False,
) -> None:
    """Show the database's schema revision and whether this tplog can use it."""
    from tplog.db import schema as migrate

    where = location(ctx)
    revision, head = migrate.status(where)
    if revision == head:
        state, usable = "current", True
    elif revision is None:
        state, usable = "empty", True
    elif revision in migrate.known_revisions():
        state, usable = "older", False
    else:
        state, usable = "newer", False
    if json:
        echo_json({"database": where.shown(), "revision": revision, "needed": head,
                   "status": state})
    else:
        echo(f"database: {where.shown()}")
        echo(f"schema revision: {revision or 'none (new database)'}; "
                   f"this tplog needs {head}")
        echo("status: " + {
            "current": "current", "empty": "empty; the first command will create the schema",
            "older": "older; run `tplog db upgrade`",
            "newer": "newer than this tplog; upgrade tplog"}[state])
    if not usable:
        raise typer.Exit(int(ExitCode.DATABASE))


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Back up the database, then upgrade its schema to this tplog's revision."""
    from tplog import db
    from tplog.db import schema as migrate

    where = location(ctx)
    old, backup = migrate.upgrade(where, actor())
    if backup is None:
        note(f"The schema is already current (revision {db.SCHEMA_HEAD}); nothing to do.")
        return
    note(f"Backup: {backup}")
    note(f"Upgraded {where.shown()} from revision {old or 'none'} to {db.SCHEMA_HEAD}.")


@db_app.command("backup")
def backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Where to write the backup (a new file).")],
) -> None:
    """Write a consistent copy of the database (safe while others write); never overwrites."""
    from tplog.db import backup as storage

    written = storage.backup(location(ctx), engine(ctx), path, actor(), finishing=lambda:
                             finishing(ctx, "Interrupted after the backup was written and "
                                       "recorded; it stays."))
    note(f"Backup written: {written}")


@db_app.command("restore")
def restore(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A backup made by `tplog db backup`.")],
) -> None:
    """Check a backup, keep the current database aside, then put the backup in its place."""
    from tplog import db
    from tplog.db import backup as storage

    restored = storage.restore(location(ctx), path, actor(), finishing=lambda: finishing(
        ctx, "Interrupted after the backup was put in place; the database it replaced is "
        "kept beside it, named *.replaced-<date and time>."))
    if restored.kept_aside is not None:
        note(f"The database it replaced is kept at {restored.kept_aside}")
    note(f"Restored from {path.expanduser().resolve()}.")
    if restored.revision != db.SCHEMA_HEAD:
        note("The backup has an older schema: run `tplog db upgrade` before using it.")


@db_app.command("check")
def check(
    ctx: typer.Context,
    json: JsonFlag = False,
) -> None:
    """Integrity, foreign keys, file permissions, schema revision and the audit trail."""
    from tplog.db import backup as storage

    checks = storage.check(location(ctx))
    if json:
        echo_json({"ok": all(item.ok for item in checks),
                   "checks": [{"name": item.name, "ok": item.ok, "detail": item.detail}
                              for item in checks]})
    else:
        for item in checks:
            echo(f"{'ok  ' if item.ok else 'FAIL'}  {item.name}: {item.detail}")
    if not all(item.ok for item in checks):
        raise typer.Exit(int(ExitCode.CHECK_FAILED))
