"""tplog log: a visit's points given on the command line, or asked one by one on a terminal
(guided entry, whose answers are kept as a draft when interrupted); checked, shown and
confirmed before anything is saved."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, NamedTuple

import typer

from tplog import points as point_specs
from tplog.cli import entry
from tplog.cli import options as details
from tplog.cli.app import actor, echo, interactive, location, note, patient_for, session, signed
from tplog.cli.options import JsonFlag, Mrn
from tplog.cli.visits import (
    Conditions,
    Drug,
    EncounterOption,
    Lots,
    Note,
    PegOption,
    Points,
    Practitioner,
    PregnantOption,
    VisitDate,
    Volume,
    print_visit,
)
from tplog.errors import BadInput, NotConfirmed
from tplog.parse import (
    Encounter,
    check_condition,
    check_drug,
    parse_choice,
    parse_date,
    parse_peg,
    parse_volume,
)


def log(
    ctx: typer.Context,
    mrn: Mrn,
    point: Points = None,
    date: VisitDate = None,
    practitioner: Practitioner = None,
    condition: Conditions = None,
    drug: Drug = None,
    ml: Volume = None,
    note_text: Note = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Confirm a dose over the limit (or an allergy to a drug injected) "
                            "without being asked.")] = False,
    same_as_last: Annotated[bool, typer.Option(
        "--same-as-last", "--copy-last",
        help="Start from the previous visit's sites, drugs, volumes and conditions; the "
             "pain is asked again.")]
    = False,
    encounter: EncounterOption = None,
    lot: Lots = None,
    pregnant: PregnantOption = None,
    consent: details.Consent = None, time_out: details.TimeOut = None,
    ultrasound: details.Ultrasound = None, needle: details.Needle = None,
    aspirated: details.Aspirated = None, rom: details.RangeOfMotion = None,
    peg: PegOption = None,
    json: JsonFlag = False,
) -> None:
    """Log a visit: every injected trigger point, all saved or none.

    Safety checks run first and are shown before anything is saved: the day's local
    anaesthetic dose (all visits that day, all anaesthetics together) over the limit, or with
    no limit to check against, asks for confirmation; a missing weight, reinjection of a site,
    many sessions a year and injections over the thorax are warnings saved with the visit.
    The patient's pre-procedure screen is shown too: an allergy to a drug injected asks for
    confirmation as a dose over the limit does; anticoagulant use, a bleeding disorder and a
    pregnancy are warnings. A condition may be given by key or by its ICD-10-CM code. A
    point's drug may be a mixture, each drug with its mL
    (drug=lidocaine-1:1+triamcinolone-40:0.5), or a mixture named in the config file; every
    local anaesthetic in it counts toward the dose, and each steroid's mg is shown with the
    patient's 12-month total. With --json, prints the saved visit as `visit show --json`
    does. What the config file's [required] table names must be recorded (on a terminal it
    is asked), else nothing is saved.
    """
    import datetime as dt

    from tplog import config, procedure
    from tplog.parse import Pregnancy
    from tplog.services import patients, safety, visits

    # Everything is checked before the database is opened: one bad point saves nothing.
    visit_date = parse_date(date, "date") if date is not None else None
    peg_items = parse_peg(peg) if peg is not None else None
    pregnancy = (parse_choice(pregnant, Pregnancy, "--pregnant") if pregnant is not None
                 else None)
    settings = config.load()
    lots = entry.parse_lots(lot)
    # --drug/--ml, else the config file's defaults.
    default_drug = drug or settings.default_drug
    default_ml = ml if ml is not None else (None if settings.default_ml is None
                                            else str(settings.default_ml))
    guided = not point
    if guided and not interactive():
        raise BadInput(f"a visit needs at least one --point {point_specs.SPEC_FORMAT!r} (on a "
                       "terminal, `tplog log MRN` asks for each point)")
    if point and same_as_last:
        raise BadInput("--same-as-last asks for the points itself; leave out --point")
    conditions = [check_condition(c) for c in condition or []]
    # Guided entry asks for the conditions when none are given: --encounter is then checked
    # against the answer (it must name whiplash), not refused before the question.
    asks_conditions = guided and not condition
    encounter_given = (entry.parse_encounter(encounter, conditions) if not asks_conditions
                       else parse_choice(encounter, Encounter, "--encounter")
                       if encounter is not None else None)
    who = actor(practitioner)
    visits.check_details(visit_date=visit_date, practitioner=who.practitioner, note=note_text)
    stated = procedure.given(consent, time_out, ultrasound, needle, aspirated)
    motion = procedure.parse_roms(rom or [])
    if guided:
        asked = _ask_for_points(ctx, mrn, same_as_last, default_drug, default_ml,
                                date=visit_date,
                                conditions=None if asks_conditions else conditions,
                                note=note_text, with_whiplash=encounter_given is not None,
                                stated=stated, required=settings.required,
                                mixtures=settings.mixtures)
        mrn, points, done = asked.mrn, asked.points, asked.procedure
        visit_date, conditions, note_text = asked.visit_date, asked.conditions, asked.note
    else:
        done = procedure.Procedure(**stated)
        points = entry.parse_points(point or [], default_drug, default_ml, settings.mixtures)
    procedure.check_required(done, settings.required, settings.path)
    visit_date = visit_date or dt.date.today()
    visits.check_lots(lots, points, visit_date)  # refused alone, before any warning
    # Checked in a read transaction, so no write lock is held while the practitioner decides.
    with session(ctx) as s:
        patient = patient_for(s, mrn)
        mrn = patient.mrn
        findings = safety.assess(s, patient=patient, visit_date=visit_date, points=points,
                                 settings=settings)
        screen, screened = safety.screen(s, patient=patient, points=points,
                                         pregnant=None if pregnancy is None
                                         else pregnancy.value)
        findings += screened
        conditions = visits.resolve_conditions(s, patient.id, conditions, points=points,
                                                encounter=encounter_given, day=visit_date)
    _show_screen(screen, pregnancy)
    try:
        confirmation = entry.report_findings(findings, yes, ask_to_save=guided)
    except (KeyboardInterrupt, typer.Abort):
        if guided:
            from tplog.cli import drafts

            _keep_draft(location(ctx).url, mrn, drafts.Draft(
                visit_date=visit_date, conditions=conditions, points=points, note=note_text))
        raise
    except NotConfirmed:
        if guided:  # "no" at a question: the practitioner chose not to save this entry
            from tplog.cli import drafts

            drafts.discard(location(ctx).url, mrn)
        raise
    with session(ctx, write=True) as s:
        who = signed(s, who)
        saved = visits.log_visit(
            s, patient=patients.find_patient(s, mrn), visit_date=visit_date,
            practitioner=who.practitioner, conditions=conditions, note=note_text,
            points=points, actor=who,
            warnings=[(f.kind, f.message) for f in findings if f.recorded],
            confirmation=confirmation, rules=settings.rules, procedure=done,
            range_of_motion=motion, peg=peg_items, lots=lots, pregnant=pregnancy)
    if guided:
        from tplog.cli import drafts

        drafts.discard(location(ctx).url, mrn)
    note(f"Saved visit {saved.id} with {len(saved.points)} point(s).")
    print_visit(saved, json, aftercare=False)


def _show_screen(screen: Any, pregnancy: Any) -> None:
    """The pre-procedure screen on stderr, before anything is saved."""
    pregnant = "not asked" if pregnancy is None else pregnancy.value
    note(f"Pre-procedure screen of {screen.mrn}:\n" + "\n".join(
        f"  {line}" for line in (*screen.lines, f"Pregnant: {pregnant}")))


class _Entry(NamedTuple):
    """What guided entry asked: the visit as it will be logged."""

    mrn: str
    points: list[point_specs.Point]
    visit_date: dt.date
    conditions: list[str]
    note: str | None
    procedure: Any  # tplog.procedure.Procedure


def _ask_for_points(ctx: typer.Context, mrn: str, same_as_last: bool, drug: str | None,
                    ml: str | None, *, date: dt.date | None, conditions: list[str] | None,
                    note: str | None, with_whiplash: bool, stated: dict[str, Any],
                    required: frozenset[str], mixtures: dict[str, str]) -> _Entry:
    """Guided entry: the date, conditions and note not given on the command line, and the
    points. Ctrl-C saves nothing but keeps the answers as a draft to resume."""
    from tplog.cli import guided
    from tplog.services import visit_views, visits

    with session(ctx) as s:
        patient = patient_for(s, mrn)
        earlier = visit_views.history(s, patient)
        past = list(dict.fromkeys(p.muscle for v in earlier for p in v.points))
    last = None
    if same_as_last:
        if not earlier:
            raise BadInput(f"{patient.mrn} has no earlier visit to start from")
        # The sites, drugs and volumes; never a pain or a finding.
        last = [point_specs.Point(muscle=p.muscle, side=p.side, pain_before=p.pain_before,
                                  drug=p.drug, volume_ml=p.volume_ml, injectate=p.injectate)
                for p in earlier[0].points]
    echo(f"Logging a visit for {patient.name} ({patient.mrn}).", err=True)
    database = location(ctx).url
    draft = _resumed(database, patient.mrn)
    try:
        _ask_into(draft, guided, visits, date=date, conditions=conditions, note=note,
                  same_as_last=same_as_last, last=last, earlier=earlier, past=past, drug=drug,
                  ml=ml, with_whiplash=with_whiplash, stated=stated, required=required,
                  mixtures=mixtures)
    except (KeyboardInterrupt, typer.Abort):
        _keep_draft(database, patient.mrn, draft)
        raise
    assert draft.visit_date is not None and draft.conditions is not None
    return _Entry(patient.mrn, draft.points, draft.visit_date, draft.conditions, draft.note,
                  draft.procedure)


def _ask_into(draft: Any, guided: Any, visits: Any, *, date: dt.date | None,
              conditions: list[str] | None, note: str | None, same_as_last: bool,
              last: list[point_specs.Point] | None, earlier: list[Any], past: list[str],
              drug: str | None, ml: str | None, with_whiplash: bool, stated: dict[str, Any],
              required: frozenset[str], mixtures: dict[str, str] | None = None) -> None:
    """Guided entry's questions, each answer kept in `draft` as it comes: what the command
    line gave, or a resumed draft holds, is not asked again."""
    import dataclasses

    from rich.console import Console

    from tplog import render

    draft.visit_date = date or draft.visit_date or guided.ask_date(
        lambda day: visits.check_details(visit_date=day, practitioner=None, note=None))
    previous = guided.entered_form(earlier[0].conditions) if earlier else []
    if conditions is not None:
        draft.conditions = conditions
    if draft.conditions is None and same_as_last:
        try:  # copied as the sites are; a key no longer entered (migraine) is asked for
            draft.conditions = guided.read_conditions(", ".join(previous) or "-",
                                                      with_whiplash=with_whiplash)
            echo("Conditions (as last visit): " + (", ".join(draft.conditions) or "none"),
                 err=True)
        except BadInput:
            pass
    if draft.conditions is None:
        draft.conditions = guided.ask_conditions(previous, with_whiplash=with_whiplash)
    # Not kept in a draft: a resumed entry asks the procedure's few details again.
    draft.procedure = guided.ask_procedure(stated, earlier[0].procedure if earlier else None,
                                           required)
    if draft.points:
        echo("Points so far: " + ", ".join(p.site for p in draft.points), err=True)
    guided.ask_points(past_muscles=past, last_visit=None if draft.points else last,
                      default_drug=check_drug(drug) if drug else None,
                      default_ml=parse_volume(ml) if ml else None, points=draft.points,
                      mixtures=mixtures or {})
    preview = [dataclasses.replace(p, position=n) for n, p in enumerate(draft.points, start=1)]
    Console(stderr=True).print(render.points_table(preview))
    if note is not None:
        draft.note = note
    elif draft.note is None:
        draft.note = guided.ask_note(
            lambda text: visits.check_details(visit_date=None, practitioner=None, note=text))


def _resumed(database: str, mrn: str) -> Any:
    """The patient's interrupted entry if the practitioner resumes it, else a new one."""
    from tplog.cli import drafts

    try:
        found = drafts.find(database, mrn)
    except BadInput as problem:
        drafts.discard(database, mrn)
        note(f"Warning: a draft for {mrn} could not be read ({problem.message}); it was "
             "removed")
        return drafts.Draft()
    if found is None:
        return drafts.Draft()
    if typer.confirm(f"Resume the entry interrupted earlier: {found.describe()}?",
                     default=True, err=True):
        return found
    drafts.discard(database, mrn)
    echo("Draft discarded.", err=True)
    return drafts.Draft()


def _keep_draft(database: str, mrn: str, draft: Any) -> None:
    from tplog.cli import drafts

    if draft.started:
        drafts.keep(database, mrn, draft)
        echo(f"\nThe answers so far are kept as a draft: `tplog log {mrn}` offers to resume "
             "it.", err=True)
