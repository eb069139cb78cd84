"""tplog history | followup | event | visit show | visit amend | visit addendum | visit void,
and the options of a visit they share with `tplog log` (tplog.cli.log)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from tplog import points as point_specs
from tplog.cli import completion
from tplog.cli import options as details
from tplog.cli.app import (
    actor,
    echo,
    echo_json,
    interactive,
    note,
    patient_for,
    session,
    signed,
    stdout_console,
)
from tplog.cli.options import ConditionFilter, IncludeVoid, JsonFlag, Mrn, Since, Until, VisitId
from tplog.errors import BadInput, NotConfirmed, shown
from tplog.parse import (
    check_condition,
    check_muscle,
    parse_choice,
    parse_date,
    parse_peg,
    parse_period,
    parse_pgic,
    parse_visit_id,
)

visit_app = typer.Typer(help="Show, amend, add to or void a logged visit.",
                        no_args_is_help=True, rich_markup_mode=None)

Points = Annotated[list[str] | None, typer.Option(
    "--point", "-p", metavar="SPEC", autocompletion=completion.point_specs,
    help=f"One injected point: '{point_specs.SPEC_FORMAT}'. Repeat for each point.")]
VisitDate = Annotated[str | None, typer.Option("--date", help="Visit date, YYYY-MM-DD.")]
Practitioner = Annotated[str | None, typer.Option(
    help="Who injected, by name or practitioner id (default: TPLOG_PRACTITIONER, else the "
         "config file's, else your user name). A name with no practitioner record is "
         "written as given.")]
PegOption = Annotated[str | None, typer.Option(
    "--peg", metavar="P,E,G",
    help="PEG: pain on average, interference with enjoyment of life, with general activity, "
         "each 0-10 (Krebs et al. 2009); the score is their mean.")]
Conditions = Annotated[list[str] | None, typer.Option(
    "--condition", "-c", metavar="KEY", autocompletion=completion.conditions,
    help="A condition treated (see `tplog conditions`).")]
Drug = Annotated[str | None, typer.Option(
    metavar="KEY", autocompletion=completion.drugs,
    help="Drug for points that name none (see `tplog drugs`; default: the config file's).")]
MuscleFilter = Annotated[str | None, typer.Option(metavar="KEY", help="Only this muscle.",
                                                  autocompletion=completion.muscles)]
Volume = Annotated[str | None, typer.Option(
    metavar="VOLUME", help="Volume in mL for points that give none.")]
Note = Annotated[str | None, typer.Option("--note", help="A note on the visit.")]
Lots = Annotated[list[str] | None, typer.Option(
    "--lot", metavar="DRUG=LOT:EXPIRY",
    help="A drug's lot number and expiry (YYYY-MM or YYYY-MM-DD), e.g. "
         "'lidocaine-1=AB123:2027-05'. Repeat for each drug; an expired lot is refused.")]
# Closed sets are read with parse_choice, not Typer Enum choices: Typer's refusal is a usage
# block and an error, where tplog's is one line naming the value and what is allowed.
EncounterOption = Annotated[str | None, typer.Option(
    "--encounter", metavar="initial|subsequent|sequela",
    help="For whiplash, the ICD-10-CM 7th character: initial (A), subsequent (D) or sequela "
         "(S). Default: initial at the patient's first whiplash visit, subsequent after a "
         "visit for whiplash (sequela after a sequela visit).")]


PregnantOption = Annotated[str | None, typer.Option(
    "--pregnant", metavar="yes|no|unknown",
    help="Pregnancy status at the visit (part of the pre-procedure screen); yes is a "
         "warning saved with the visit.")]


def print_visit(visit: Any, json: bool, *, aftercare: bool = True) -> None:
    """The visit as written: `visit show`'s block, or with --json its document."""
    from tplog import jsonout, render

    if json:
        echo_json(jsonout.visit(visit))
    else:
        stdout_console().print(render.visit_block(visit, aftercare=aftercare))


def _current(ctx: typer.Context, number: int) -> Any:
    """The visit as it stands, read before the write transaction: no lock is held while
    someone is asked about it."""
    from tplog.services import visit_views

    with session(ctx) as s:
        return visit_views.show_visit(s, number)


def _confirm_visit(current: Any, doing: str, yes: bool) -> None:
    """Before a visit is voided or given a follow-up (`doing`: "voiding", "a follow-up
    for"): which visit that is (patient, date, sites; an id is easily mistyped for another
    patient's), asked on a terminal, else --yes."""
    from tplog import render

    if yes:
        return
    if not interactive():
        raise NotConfirmed(f"{doing} {render.visit_identity(current, name=False)} needs "
                           "confirmation and there is no terminal to ask; nothing was saved "
                           "(confirm with --yes)")
    echo(f"{doing[0].upper()}{doing[1:]} {render.visit_identity(current)}", err=True)
    question = "Void this visit?" if doing == "voiding" else "Record it for this visit?"
    if not typer.confirm(question, default=False, err=True):
        raise NotConfirmed("not confirmed; nothing was saved")


def followup(
    ctx: typer.Context,
    visit_id: VisitId,
    pain: Annotated[str, typer.Option(help="Pain reported now, 0-10.")],
    on: Annotated[str | None, typer.Option(help="When it was reported (default today).")]
    = None,
    note_text: Annotated[str | None, typer.Option("--note", help="What was said.")] = None,
    practitioner: Annotated[str | None, typer.Option(
        help="Who took the report, by name or practitioner id.")] = None,
    peg: PegOption = None,
    pgic: Annotated[str | None, typer.Option(
        "--pgic", metavar="1-7|WORDS",
        help="Patient global impression of change: 1 very much improved, 2 much improved, 3 "
             "minimally improved, 4 no change, 5 minimally worse, 6 much worse, 7 very much "
             "worse (the number, the words or their unique start).")] = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Record it without being asked (needed without a terminal).")]
    = False,
    json: JsonFlag = False,
) -> None:
    """Record pain reported after a visit (a call, the next visit): how long relief lasted.

    Shows the visit's patient, date and sites and asks first (without a terminal, needs
    --yes). With --json, prints {"follow_up": ..., "visit": ...}.
    """
    from tplog import config, jsonout
    from tplog.parse import parse_pain
    from tplog.services import visits

    number = parse_visit_id(visit_id)
    reported = parse_pain(pain, "--pain")
    peg_items = parse_peg(peg) if peg is not None else None
    pgic_value = parse_pgic(pgic) if pgic is not None else None
    reported_on = parse_date(on, "--on") if on is not None else dt.date.today()
    who = actor(practitioner)
    visits.check_details(visit_date=None, practitioner=None, note=note_text)
    if not yes:
        current = _current(ctx, number)
        visits.check_follow_up(current.visit_date, reported_on)  # refused before asking
        _confirm_visit(current, "a follow-up for", yes)
    with session(ctx, write=True) as s:
        who = signed(s, who)
        shown = visits.record_follow_up(s, number, pain=reported, reported_on=reported_on,
                                        note=note_text, actor=who,
                                        rules=config.load().rules, peg=peg_items,
                                        pgic=pgic_value)
    written = max(shown.follow_ups, key=lambda f: f.id)
    note(f"Recorded follow-up {written.id} for visit {number} ({shown.mrn}).")
    if json:
        echo_json({"follow_up": jsonout.follow_up(shown, written),
                   "visit": jsonout.visit(shown)})
    else:
        print_visit(shown, json=False)


def event(
    ctx: typer.Context,
    visit_id: VisitId,
    kind: Annotated[str, typer.Argument(
        metavar="KIND",
        help="vasovagal, haematoma (bleeding), anaesthetic-toxicity, pneumothorax, "
             "infection, allergic-reaction, or other (say what in --note).")],
    severity: Annotated[str | None, typer.Option(metavar="mild|moderate|severe",
                                                 help="How severe.")] = None,
    on: Annotated[str | None, typer.Option(help="When it happened (default today).")] = None,
    outcome: Annotated[str | None, typer.Option(
        metavar="resolved|recovering|ongoing|resolved-with-sequelae|fatal|unknown",
        help="How it ended, as known now.")] = None,
    note_text: Annotated[str | None, typer.Option("--note", help="What happened.")] = None,
    practitioner: Annotated[str | None, typer.Option(help="Who recorded it.")] = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Record it without being asked (needed without a terminal).")]
    = False,
    json: JsonFlag = False,
) -> None:
    """Record an adverse event after a visit (vasovagal, haematoma, anaesthetic toxicity,
    pneumothorax, infection, allergic reaction, other).

    Shows the visit's patient, date and sites and asks first (without a terminal, needs
    --yes). With --json, prints {"adverse_event": ..., "visit": ...}.
    """

    from tplog import config, jsonout
    from tplog.parse import EventOutcome, Severity, check_adverse_event
    from tplog.services import screening

    number = parse_visit_id(visit_id)
    kind_key = check_adverse_event(kind)
    how_severe = parse_choice(severity, Severity, "--severity") if severity is not None else None
    ended = parse_choice(outcome, EventOutcome, "--outcome") if outcome is not None else None
    occurred_on = parse_date(on, "--on") if on is not None else dt.date.today()
    who = actor(practitioner)
    screening.check_event(kind_key, note_text)
    if not yes:
        current = _current(ctx, number)
        screening.check_event_date(current.visit_date, occurred_on)  # refused before asking
        _confirm_visit(current, "an adverse event for", yes)
    with session(ctx, write=True) as s:
        shown, written = screening.record_adverse_event(
            s, number, kind=kind_key, severity=how_severe, occurred_on=occurred_on,
            outcome=ended, note=note_text, actor=who, rules=config.load().rules)
    note(f"Recorded adverse event {written.id} for visit {number} ({shown.mrn}): "
         f"{written.described}.")
    if json:
        echo_json({"adverse_event": jsonout.adverse_event(written),
                   "visit": jsonout.visit(shown)})
    else:
        print_visit(shown, json=False)


@visit_app.command("amend")
def amend(
    ctx: typer.Context,
    visit_id: VisitId,
    reason: Annotated[str, typer.Option(help="Why the record is corrected.")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", metavar="'N KEY=VALUE...'",
        help="Change findings of point N (as `visit show` numbers them), e.g. --set "
             "'2 post=3 ml=1'; KEY=- makes one not recorded. Repeat for other points.")]
    = None,
    add_point: Annotated[list[str] | None, typer.Option(
        "--add-point", metavar="SPEC", autocompletion=completion.point_specs,
        help="Add one point (a --point SPEC). Repeat for more.")] = None,
    remove_point: Annotated[list[int] | None, typer.Option(
        "--remove-point", metavar="N", help="Remove point N. Repeat for more.")] = None,
    point: Annotated[list[str] | None, typer.Option(
        "--point", "-p", metavar="SPEC", autocompletion=completion.point_specs,
        help="Replace ALL the visit's points with these (asks first on a terminal; else "
             "needs --replace-points).")]
    = None,
    replace_points: Annotated[bool, typer.Option(
        "--replace-points", help="Confirm that --point replaces every point.")] = False,
    date: VisitDate = None,
    practitioner: Annotated[str | None, typer.Option(help="The corrected practitioner.")]
    = None,
    condition: Annotated[list[str] | None, typer.Option(
        "--condition", "-c", metavar="KEY", autocompletion=completion.conditions,
        help="The conditions as they should read (all of them; replaces the list).")] = None,
    drug: Drug = None,
    ml: Volume = None,
    note_text: Note = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Confirm a dose over the limit without being asked.")] = False,
    encounter: EncounterOption = None,
    lot: Annotated[list[str] | None, typer.Option(
        "--lot", metavar="DRUG=LOT:EXPIRY",
        help="The visit's lots as they should read (all of them; replaces the list).")]
    = None,
    pregnant: PregnantOption = None,
    consent: details.Consent = None, time_out: details.TimeOut = None,
    ultrasound: details.Ultrasound = None, needle: details.Needle = None,
    aspirated: details.Aspirated = None, rom: Annotated[list[str] | None, typer.Option(
        "--rom", metavar="SPEC", help="The ranges of motion as they should read (all of "
                                      "them; replaces the list), as `log --rom`.")] = None,
    peg: PegOption = None,
    json: JsonFlag = False,
) -> None:
    """Correct a visit: a new revision supersedes the old one, which is kept.

    New points get the same safety checks as `tplog log` (the visit is not counted against
    itself). With --json, prints the amended visit as `visit show --json` does.
    """
    from tplog import config, procedure
    from tplog.cli import entry
    from tplog.parse import Pregnancy
    from tplog.services import patients, safety, visit_views, visits

    number = parse_visit_id(visit_id)
    peg_items = parse_peg(peg) if peg is not None else None
    pregnancy = (parse_choice(pregnant, Pregnancy, "--pregnant") if pregnant is not None
                 else None)
    settings = config.load()
    changing = procedure.given(consent, time_out, ultrasound, needle, aspirated)
    motion = procedure.parse_roms(rom) if rom else None
    # What is carried stays as it was; what is given must meet the clinic's requirements.
    procedure.check_required(procedure.Procedure(**changing), [
        key for key in settings.required if {key, f"{key}_gauge"} & set(changing)],
        settings.path)
    # --drug/--ml, else the config file's defaults: new points get what `log` gives them.
    default_drug = drug or settings.default_drug
    default_ml = ml if ml is not None else (None if settings.default_ml is None
                                            else str(settings.default_ml))
    if point and (set_ or add_point or remove_point):
        raise BadInput("--point replaces every point; use it alone, or --set, --add-point "
                       "and --remove-point to change some")
    replacing = (entry.parse_points(point, default_drug, default_ml, settings.mixtures)
                 if point else None)
    added = (entry.parse_points(add_point, default_drug, default_ml, settings.mixtures)
             if add_point else [])
    lots = entry.parse_lots(lot) if lot else None
    conditions = [check_condition(c) for c in condition] if condition else None
    encounter_given = entry.parse_encounter(encounter, conditions or [])
    visit_date = parse_date(date, "date") if date is not None else None
    visits.check_details(visit_date=visit_date, practitioner=practitioner, note=note_text,
                         reason=reason)
    findings: list[Any] = []
    with session(ctx) as s:  # checked before the write lock is taken, as in `log`
        current = visit_views.show_visit(s, number)
        patient = patients.find_patient(s, current.mrn)
        if replacing is not None:
            _confirm_replacing(current, replacing, replace_points)
        points = replacing if replacing is not None else visits.changed_points(
            list(current.points), changes=[_numbered(text) for text in set_ or []],
            removed=remove_point or [],
            added=added, mixtures=settings.mixtures)
        day = visit_date or current.visit_date
        if visit_date is not None:  # refused before anyone is asked to confirm anything
            visits.check_moved_date(visit_date, [f.reported_on for f in current.follow_ups],
                                    [e.occurred_on for e in current.adverse_events])
        visits.check_lots(lots if lots is not None else current.lots,
                          points or list(current.points), day)
        # New points, or the same points on another day (another day's doses, sessions and
        # earlier injections), are checked again; otherwise the findings stand.
        # A new pregnancy status is a new screen: checked again too.
        rechecked = points is not None or (visit_date is not None
                                            and visit_date != current.visit_date) or (
            pregnancy is not None and pregnancy.value != current.pregnant)
        if rechecked:
            findings = safety.assess(s, patient=patient, visit_date=day,
                                     points=points or list(current.points),
                                     settings=settings, amending=number)
            findings += safety.screen(
                s, patient=patient, points=points or list(current.points),
                pregnant=pregnancy.value if pregnancy is not None else current.pregnant)[1]
        if conditions is not None:
            conditions = visits.resolve_conditions(
                s, patient.id, conditions, points=points or list(current.points),
                encounter=encounter_given, day=day, amending=number)
    confirmation = entry.report_findings(findings, yes)
    with session(ctx, write=True) as s:
        if practitioner is not None:
            practitioner = signed(s, actor(practitioner)).practitioner
        amended = visits.amend_visit(s, number, reason=reason, actor=signed(s, actor()),
                                     points=points, peg=peg_items,
                                     visit_date=visit_date, practitioner=practitioner,
                                     conditions=conditions, note=note_text,
                                     pregnant=pregnancy,
                                     warnings=[(f.kind, f.message) for f in findings
                                               if f.recorded] if rechecked else None,
                                     confirmation=confirmation, rules=settings.rules,
                                     procedure=changing, range_of_motion=motion, lots=lots)
    note(f"Amended visit {amended.id}: revision {amended.revision} is now in force.")
    print_visit(amended, json, aftercare=False)


def _numbered(text: str) -> tuple[int, str]:
    """`--set '2 post=3'`: the point's number, then its changes."""
    number, _, changes = text.strip().partition(" ")
    if not (number.isascii() and number.isdigit()):
        raise BadInput(f"--set {shown(text)} is not allowed; give the point's number, then "
                       "KEY=VALUE changes: --set '2 post=3'")
    return int(number), changes


def _confirm_replacing(current: Any, replacing: list[point_specs.Point],
                       confirmed: bool) -> None:
    """--point replaces every point: say what goes, and ask (or need --replace-points)."""
    kept = {p.site for p in replacing}
    going = [p.site for p in current.points if p.site not in kept]
    if confirmed:
        return
    if not interactive():
        raise BadInput(f"--point replaces all {len(current.points)} point(s) of visit "
                       f"{current.id}" + (f" (removing {', '.join(going)})" if going else "")
                       + "; add --replace-points to confirm, or use --set, --add-point or "
                       "--remove-point to change some")
    echo(f"--point replaces all {len(current.points)} point(s) of visit {current.id} with "
         f"{len(replacing)}" + (f"; removed: {', '.join(going)}" if going else "") + ".",
         err=True)
    if not typer.confirm("Replace every point?", default=False, err=True):
        raise NotConfirmed("nothing was changed")


@visit_app.command("addendum")
def addendum(
    ctx: typer.Context,
    visit_id: VisitId,
    text: Annotated[str, typer.Argument(help="The note to append, signed and dated.")],
    practitioner: Annotated[str | None, typer.Option(help="Who signs it.")] = None,
    json: JsonFlag = False,
) -> None:
    """Append a dated, signed note to a visit. With --json, prints
    {"addendum": ..., "visit": ...}."""
    from tplog import jsonout
    from tplog.services import visits

    number = parse_visit_id(visit_id)
    with session(ctx, write=True) as s:
        shown = visits.add_addendum(s, number, text=text, actor=signed(s, actor(practitioner)))
    written = max(shown.addenda, key=lambda a: a.id)
    note(f"Added addendum {written.id} to visit {number}.")
    if json:
        echo_json({"addendum": jsonout.addendum(written), "visit": jsonout.visit(shown)})


@visit_app.command("void")
def void(
    ctx: typer.Context,
    visit_id: VisitId,
    reason: Annotated[str, typer.Option(help="Why the visit was entered in error.")],
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Void it without being asked (needed without a terminal).")]
    = False,
    json: JsonFlag = False,
) -> None:
    """Mark a visit entered in error: out of history and summaries, never removed.

    Shows the visit's patient, date and sites and asks first (without a terminal, needs
    --yes). With --json, prints the voided visit as `visit show --json` does.
    """
    from tplog.services import visits

    number = parse_visit_id(visit_id)
    who = actor()
    visits.check_details(visit_date=None, practitioner=None, note=None, reason=reason)
    if not yes:
        current = _current(ctx, number)
        if current.void is None:  # else refused as already voided when written: not asked
            _confirm_visit(current, "voiding", yes)
    with session(ctx, write=True) as s:
        voided = visits.void_visit(s, number, reason=reason, actor=signed(s, who))
    note(f"Voided visit {number} ({voided.mrn}); `tplog visit show {number}` still shows it.")
    if json:
        print_visit(voided, json=True)


def history(
    ctx: typer.Context,
    mrn: Mrn,
    since: Since = None,
    until: Until = None,
    muscle: MuscleFilter = None,
    condition: ConditionFilter = None,
    include_void: IncludeVoid = False,
    brief: Annotated[bool, typer.Option(
        "--brief", help="One line a visit: date, sites, mean pain before → after, band, "
                        "visit.")] = False,
    json: JsonFlag = False,
) -> None:
    """A patient's visits with their points and the change in pain, newest first."""
    from tplog import config
    from tplog.services import patients, visit_views

    since_date, until_date = parse_period(since, until)
    muscle_key = check_muscle(muscle.lower()) if muscle is not None else None
    condition_key = check_condition(condition) if condition is not None else None
    if brief and json:
        raise BadInput("--brief shapes the table; --json always gives every visit in full, so "
                       "use one or the other")
    with session(ctx) as s:
        patient = patient_for(s, mrn)
        found = visit_views.history(s, patient, since=since_date, until=until_date,
                                    muscle=muscle_key, condition=condition_key,
                                    include_void=include_void, rules=config.load().rules)
        shown = patients.show_patient(s, patient.mrn)
    # Only the output asked for is imported (start-up).
    if json:
        from tplog import jsonout

        echo_json(jsonout.history(shown, found))
    else:
        from tplog import render

        stdout_console().print(render.history(found, shown, brief=brief))


@visit_app.command("show")
def show(
    ctx: typer.Context,
    visit_id: VisitId,
    revisions: Annotated[bool, typer.Option(
        "--revisions", help="Every revision: who, when, why, and what changed.")] = False,
    json: JsonFlag = False,
) -> None:
    """Show one visit (voided ones too) with its points and addenda."""
    from tplog import config
    from tplog.services import visit_views

    number = parse_visit_id(visit_id)
    with session(ctx) as s:
        found = visit_views.show_visit(s, number, with_revisions=revisions,
                                       rules=config.load().rules)
    if json:
        from tplog import jsonout

        echo_json(jsonout.visit(found))
    else:
        from tplog import render

        stdout_console().print(render.visit_block(found))
