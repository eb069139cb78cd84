"""tplog db path | status | upgrade."""

from __future__ import annotations

import typer

from tplog.cli.app import location, note
from tplog.errors import ExitCode

db_app = typer.Typer(help="Where the database is, its schema revision, upgrades.",
                     no_args_is_help=True)


@db_app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the database is (a file, or a server URL without its password)."""
    typer.echo(location(ctx).shown())


@db_app.command("status")
def status(ctx: typer.Context) -> None:
    """Show the database's schema revision and whether this tplog can use it."""
    from tplog import migrate

    where = location(ctx)
    revision, head = migrate.status(where)
    typer.echo(f"database: {where.shown()}")
    typer.echo(f"schema revision: {revision or 'none (new database)'}; this tplog needs {head}")
    if revision == head:
        typer.echo("status: current")
    elif revision is None:
        typer.echo("status: empty; the first command will create the schema")
    elif revision in migrate.known_revisions():
        typer.echo("status: older; run `tplog db upgrade`")
        raise typer.Exit(int(ExitCode.DATABASE))
    else:
        typer.echo("status: newer than this tplog; upgrade tplog")
        raise typer.Exit(int(ExitCode.DATABASE))


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Back up the database, then upgrade its schema to this tplog's revision."""
    from tplog import db, migrate

    where = location(ctx)
    old, backup = migrate.upgrade(where)
    if backup is None:
        note(f"The schema is already current (revision {db.SCHEMA_HEAD}); nothing to do.")
        return
    note(f"Backup: {backup}")
    note(f"Upgraded {where.shown()} from revision {old or 'none'} to {db.SCHEMA_HEAD}.")
