"""tplog log | history | visit show: the record of each visit's injected points."""

from __future__ import annotations

from typing import Annotated

import typer

from tplog.cli.app import default_practitioner, echo_json, note, os_user, session, stdout_console
from tplog.entry import (
    SPEC_FORMAT,
    check_condition,
    check_drug,
    check_muscle,
    parse_date,
    parse_points,
    parse_visit_id,
    parse_volume,
)

visit_app = typer.Typer(help="Show a logged visit.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Since = Annotated[str | None, typer.Option(help="From this date on, YYYY-MM-DD.")]
Until = Annotated[str | None, typer.Option(help="Up to and including this date, YYYY-MM-DD.")]


def log(
    ctx: typer.Context,
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    point: Annotated[list[str] | None, typer.Option(
        "--point", "-p", metavar="SPEC",
        help=f"One injected point: '{SPEC_FORMAT}'. Repeat for each point.")] = None,
    date: Annotated[str | None, typer.Option(help="Visit date, YYYY-MM-DD (default today).")]
    = None,
    practitioner: Annotated[str | None, typer.Option(
        help="Who injected (default: TPLOG_PRACTITIONER, else your user name).")] = None,
    condition: Annotated[list[str] | None, typer.Option(
        "--condition", "-c", metavar="KEY", help="A condition treated (see `tplog conditions`)."
    )] = None,
    drug: Annotated[str | None, typer.Option(
        metavar="KEY", help="Drug for points that name none (see `tplog drugs`).")] = None,
    ml: Annotated[str | None, typer.Option(
        metavar="VOLUME", help="Volume in mL for points that give none.")] = None,
    note_text: Annotated[str | None, typer.Option("--note", help="A note on the visit.")] = None,
) -> None:
    """Log a visit: every injected trigger point, all saved or none."""
    import datetime as dt

    from tplog import render
    from tplog.services import patients, visits

    # Everything is checked before the database is opened: one bad point saves nothing.
    visit_date = parse_date(date, "date") if date is not None else dt.date.today()
    default_drug = check_drug(drug.lower()) if drug is not None else None
    default_ml = parse_volume(ml, "--ml") if ml is not None else None
    points = parse_points(point or [], default_drug=default_drug, default_volume_ml=default_ml)
    conditions = [check_condition(c.lower()) for c in condition or []]
    with session(ctx, write=True) as s:
        saved = visits.log_visit(
            s, patient=patients.find_patient(s, mrn), visit_date=visit_date,
            practitioner=practitioner if practitioner is not None else default_practitioner(),
            conditions=conditions, note=note_text, points=points, created_by=os_user())
    note(f"Saved visit {saved.id} with {len(saved.points)} point(s).")
    stdout_console().print(render.visit_block(saved))


def history(
    ctx: typer.Context,
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    since: Since = None,
    until: Until = None,
    muscle: Annotated[str | None, typer.Option(metavar="KEY", help="Only this muscle.")] = None,
    json: JsonFlag = False,
) -> None:
    """A patient's visits with their points and the change in pain, newest first."""
    from tplog import jsonout, render
    from tplog.services import patients, visits

    since_date = parse_date(since, "--since") if since is not None else None
    until_date = parse_date(until, "--until") if until is not None else None
    muscle_key = check_muscle(muscle.lower()) if muscle is not None else None
    with session(ctx) as s:
        patient = patients.find_patient(s, mrn)
        found = visits.history(s, patient, since=since_date, until=until_date, muscle=muscle_key)
        shown = patients.show_patient(s, mrn)
    if json:
        echo_json(jsonout.history(shown, found))
    else:
        stdout_console().print(render.history(found, shown))


@visit_app.command("show")
def show(
    ctx: typer.Context,
    visit_id: Annotated[str, typer.Argument(metavar="VISIT_ID", help="The visit's id.")],
    json: JsonFlag = False,
) -> None:
    """Show one visit with all its points."""
    from tplog import jsonout, render
    from tplog.services import visits

    with session(ctx) as s:
        found = visits.show_visit(s, parse_visit_id(visit_id))
    if json:
        echo_json(jsonout.visit(found))
    else:
        stdout_console().print(render.visit_block(found))
