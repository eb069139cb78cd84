"""tplog audit log | verify."""

from __future__ import annotations

from typing import Annotated

import typer

from tplog.cli import completion
from tplog.cli.app import echo, echo_json, patient_for, session, stdout_console
from tplog.cli.options import JsonFlag, Since
from tplog.errors import ExitCode
from tplog.parse import parse_date

audit_app = typer.Typer(
    help="The audit trail: who did what, when, and whether it holds.",
    no_args_is_help=True, rich_markup_mode=None)


@audit_app.command("log")
def log(
    ctx: typer.Context,
    patient: Annotated[str | None, typer.Option(metavar="MRN", help="Only this patient.",
                                                autocompletion=completion.mrns)]
    = None,
    since: Since = None,
    json: JsonFlag = False,
) -> None:
    """List audit events, oldest first."""
    from tplog import jsonout, render
    from tplog.services import audit

    since_date = parse_date(since, "--since") if since is not None else None
    with session(ctx) as s:
        patient_id = patient_for(s, patient).id if patient is not None else None
        found = audit.events(s, patient_id=patient_id, since=since_date)
    if json:
        echo_json([jsonout.event(e) for e in found])
    else:
        stdout_console().print(render.events_table(found))


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    json: JsonFlag = False,
) -> None:
    """Walk the chain and recheck every record; exit 4 naming the first bad event."""
    from tplog.services import audit

    with session(ctx) as s:
        problems = audit.verify(s.connection())
        events = audit.count_events(s)
    if json:
        echo_json({"holds": not problems, "events": events,
                   "problems": [{"event": p.event_id, "message": p.message}
                                for p in problems]})
        if problems:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
        return
    if problems:
        echo(f"The audit trail does not hold: {problems[0].message}", err=True)
        for problem in problems[1:]:
            echo(f"  also: {problem.message}", err=True)
        raise typer.Exit(int(ExitCode.CHECK_FAILED))
    echo(f"The audit trail holds: {events} event(s), every record as it was written.")
