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
    from tplog import jsonout, report_tables
    from tplog.services import audit

    since_date = parse_date(since, "--since") if since is not None else None
    with session(ctx) as s:
        patient_id = patient_for(s, patient, merged=True).id if patient is not None else None
        found = audit.events(s, patient_id=patient_id, since=since_date)
    if json:
        echo_json([jsonout.event(e) for e in found])
    else:
        stdout_console().print(report_tables.events_table(found))


@audit_app.command("head")
def head(
    ctx: typer.Context,
    json: JsonFlag = False,
) -> None:
    """Print the newest event's hash: keep it outside the database (write it down, send it
    elsewhere); `tplog audit verify --head HASH` later proves the trail still passes
    through it."""
    from tplog.services import audit

    with session(ctx) as s:
        newest = audit.head(s)
    if json:
        echo_json(None if newest is None else {
            "event": newest.id, "hash": newest.hash,
            "occurred_at": newest.occurred_at.isoformat(timespec="seconds")})
        return
    if newest is None:
        echo("The audit trail is empty: nothing has been written yet.", err=True)
        return
    echo(newest.hash)
    echo(f"(event {newest.id}, {newest.occurred_at:%Y-%m-%d %H:%M} UTC)", err=True)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    head: Annotated[str | None, typer.Option(
        "--head", metavar="HASH",
        help="A hash `tplog audit head` printed earlier: also prove the trail still passes "
             "through that event (none removed from the end, none rewritten before it).")]
    = None,
    json: JsonFlag = False,
) -> None:
    """Walk the chain and recheck every record; exit 4 naming the first bad event."""
    from tplog.services import audit

    wanted = audit.check_head(head) if head is not None else None
    with session(ctx) as s:
        problems = audit.verify(s.connection())
        events = audit.count_events(s)
        anchor = audit.passes_through(s, wanted) if wanted is not None else None
    if wanted is not None and anchor is None:
        problems = [*problems, audit.Problem(
            None, f"no event has the hash {wanted[:16]}…: the trail no longer passes through "
                  "the event written down (events were removed from its end, or it was "
                  "rewritten)")]
    if json:
        document: dict[str, object] = {
            "holds": not problems, "events": events,
            "problems": [{"event": p.event_id, "message": p.message} for p in problems]}
        if wanted is not None:  # only asked with --head
            document["head"] = None if anchor is None else {"event": anchor.id,
                                                            "hash": anchor.hash}
        echo_json(document)
        if problems:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
        return
    if problems:
        echo(f"The audit trail does not hold: {problems[0].message}", err=True)
        for problem in problems[1:]:
            echo(f"  also: {problem.message}", err=True)
        raise typer.Exit(int(ExitCode.CHECK_FAILED))
    echo(f"The audit trail holds: {events} event(s), every record as it was written.")
    if anchor is not None:
        echo(f"It passes through event {anchor.id} ({anchor.occurred_at:%Y-%m-%d %H:%M} UTC), "
             f"the hash given, and {events - anchor.id} event(s) followed it.")
