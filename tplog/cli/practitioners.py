"""tplog practitioner add | edit | list."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tplog.cli.app import actor, echo, echo_json, note, session, stdout_console
from tplog.cli.options import JsonFlag
from tplog.parse import parse_npi

practitioner_app = typer.Typer(
    rich_markup_mode=None,
    help="Practitioners as records: name, credentials, NPI.",
    no_args_is_help=True)

Credentials = Annotated[str | None, typer.Option(
    help='Credentials as signed after the name, e.g. "MD, FAAPMR".')]
Npi = Annotated[str | None, typer.Option(
    help="US National Provider Identifier: 10 digits, the last a check digit.")]


def _document(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "credentials": p.credentials, "npi": p.npi,
            "signed": p.signed, "created_at": p.created_at.isoformat()}


@practitioner_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The name as visits are signed with it.")],
    credentials: Credentials = None,
    npi: Npi = None,
    json: JsonFlag = False,
) -> None:
    """Record a practitioner. A name already recorded is refused (change its credentials or
    NPI with `practitioner edit`). Prints the new id."""
    from tplog.services import practitioners

    number = parse_npi(npi) if npi is not None else None
    practitioners.check_name(name)
    practitioners.check_credentials(credentials)
    with session(ctx, write=True) as s:
        added = practitioners.add(s, name=name, credentials=credentials, npi=number,
                                  actor=actor())
    note(f"Added practitioner {added.id}: {added.signed}.")
    if json:
        echo_json(_document(added))
    else:
        echo(str(added.id))


@practitioner_app.command("edit")
def edit(
    ctx: typer.Context,
    practitioner: Annotated[str, typer.Argument(
        metavar="ID_OR_NAME", help="The practitioner's id or name.")],
    credentials: Credentials = None,
    npi: Npi = None,
    json: JsonFlag = False,
) -> None:
    """Correct a practitioner's credentials or NPI (audited). The name stays: visits are
    linked to the record by it."""
    from tplog.services import practitioners

    number = parse_npi(npi) if npi is not None else None
    practitioners.check_credentials(credentials)
    with session(ctx, write=True) as s:
        changed = practitioners.edit(s, practitioner, credentials=credentials, npi=number,
                                     actor=actor())
    note(f"Changed practitioner {changed.id}: {changed.signed}"
         + (f", NPI {changed.npi}." if changed.npi else "."))
    if json:
        echo_json(_document(changed))


@practitioner_app.command("list")
def list_(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Every practitioner recorded: id, name, credentials, NPI."""
    from rich.table import Table

    from tplog.services import practitioners

    with session(ctx) as s:
        found = practitioners.list_practitioners(s)
    if json:
        echo_json({"practitioners": [_document(p) for p in found]})
        return
    if not found:
        note("No practitioners recorded yet (`tplog practitioner add NAME`).")
        return
    table = Table("Id", "Name", "Credentials", "NPI")
    for p in found:
        table.add_row(str(p.id), p.name, p.credentials or "", p.npi or "")
    stdout_console().print(table)
