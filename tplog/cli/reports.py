"""tplog summary | visits | trend, and the vocabulary lists: muscles, conditions, drugs."""

from __future__ import annotations

from typing import Annotated

import typer

from tplog.cli import completion
from tplog.cli.app import echo_json, note, patient_for, session, stdout_console
from tplog.cli.options import (
    ConditionFilter,
    IncludeVoid,
    JsonFlag,
    Mrn,
    MuscleOnly,
    PatientFilter,
    PractitionerFilter,
    Since,
    Until,
)
from tplog.errors import BadInput, shown
from tplog.parse import (
    GroupBy,
    check_condition,
    check_muscle,
    check_region,
    clean_text,
    parse_choice,
    parse_limit,
    parse_period,
)


def _filters(condition: str | None, muscle: str | None, practitioner: str | None
             ) -> tuple[str | None, str | None, str | None]:
    """The filter values checked before the database is opened: keys as stored, the name
    as typed (control characters refused)."""
    return (check_condition(condition) if condition is not None else None,
            check_muscle(muscle) if muscle is not None else None,
            clean_text(practitioner, "--practitioner", one_line=True)
            if practitioner is not None else None)


def summary(
    ctx: typer.Context,
    since: Since = None,
    until: Until = None,
    by: Annotated[str | None, typer.Option(
        help="Group by muscle, region, condition, practitioner, month or drug.")] = None,
    patient: PatientFilter = None,
    condition: ConditionFilter = None,
    muscle: MuscleOnly = None,
    practitioner: PractitionerFilter = None,
    include_void: IncludeVoid = False,
    json: JsonFlag = False,
) -> None:
    """Outcomes across all patients: visits, points, pain before/after, responders, twitch.

    Adverse events recorded after the visits covered follow, by kind, per 1,000 points.

    The filters combine (all must hold): --patient counts one patient's visits; --condition
    the visits whose record lists the condition; --muscle only the points in that muscle;
    --practitioner the visits by that practitioner.
    """
    from tplog.services.summary import adverse_event_rates, outcome_measures, summarise

    since_date, until_date = parse_period(since, until)
    group_by = parse_choice(by, GroupBy, "--by") if by is not None else None
    condition_key, muscle_key, practitioner_name = _filters(condition, muscle, practitioner)
    with session(ctx) as s:
        chosen = patient_for(s, patient) if patient is not None else None
        mrn = None if chosen is None else chosen.mrn
        rows = summarise(s, by=group_by, since=since_date, until=until_date,
                         include_void=include_void,
                         patient_id=None if chosen is None else chosen.id,
                         condition=condition_key, muscle=muscle_key,
                         practitioner=practitioner_name)
        # PEG and PGIC are the patient's, not a muscle's: --muscle does not narrow them.
        measures = outcome_measures(s, since=since_date, until=until_date,
                                    include_void=include_void,
                                    patient_id=None if chosen is None else chosen.id,
                                    condition=condition_key, practitioner=practitioner_name)
        # Per 1,000 of the points the summary counted, with the same filters: its groups add
        # up to them, unless a visit's points count under each of its conditions.
        counted = None if group_by is GroupBy.CONDITION else sum(row.points for row in rows)
        events = adverse_event_rates(s, since=since_date, until=until_date,
                                     include_void=include_void,
                                     patient_id=None if chosen is None else chosen.id,
                                     condition=condition_key, muscle=muscle_key,
                                     practitioner=practitioner_name, points=counted)
    if json:  # the JSON writer or the tables, not both (start-up)
        from tplog import jsonout

        document = jsonout.summary(rows, group_by.value if group_by else None, since_date,
                                   until_date, mrn=mrn, condition=condition_key,
                                   muscle=muscle_key, practitioner=practitioner_name)
        echo_json({**document, "outcome_measures": jsonout.outcome_measures(measures),
                   "adverse_events": jsonout.adverse_event_rates(events)})
    else:
        from tplog import report_tables

        console = stdout_console()
        console.print(report_tables.summary_tables(rows, group_by.value if group_by else None))
        console.print(report_tables.outcome_measures(measures))
        console.print(report_tables.adverse_events_table(events))


def visits(
    ctx: typer.Context,
    muscle: MuscleOnly = None,
    condition: ConditionFilter = None,
    practitioner: PractitionerFilter = None,
    since: Since = None,
    until: Until = None,
    include_void: IncludeVoid = False,
    limit: Annotated[str, typer.Option(
        metavar="N", help="Show at most N visits, the newest (says how many more match).")]
    = "100",
    json: JsonFlag = False,
) -> None:
    """Visits across patients by muscle, condition or practitioner, newest first.

    Each visit by its latest revision: date, patient, practitioner, the sites injected and
    the mean pain before and after; with --muscle, only that muscle's points. Voided visits
    are left out unless --include-void.
    """
    from tplog import jsonout, report_tables
    from tplog.services.visit_list import find_visits

    since_date, until_date = parse_period(since, until)
    most = parse_limit(limit)
    condition_key, muscle_key, practitioner_name = _filters(condition, muscle, practitioner)
    with session(ctx) as s:
        found = find_visits(s, muscle=muscle_key, condition=condition_key,
                            practitioner=practitioner_name, since=since_date,
                            until=until_date, include_void=include_void, limit=most)
    if json:
        echo_json(jsonout.visit_list(found, since=since_date, until=until_date,
                                     muscle=muscle_key, condition=condition_key,
                                     practitioner=practitioner_name,
                                     include_void=include_void, limit=most))
        return
    stdout_console().print(report_tables.visit_list(found))
    if found.more:
        note(f"{found.more} more visit(s) match; narrow with --since/--until or raise --limit "
             f"(now {most}).")


def trend(
    ctx: typer.Context,
    mrn: Mrn,
    muscle: Annotated[str | None, typer.Option(metavar="KEY", help="Only this muscle.",
                                               autocompletion=completion.muscles)] = None,
    json: JsonFlag = False,
) -> None:
    """Pain before and after at each visit, per muscle and side, oldest first.

    Ranges of motion recorded at the visits follow, per movement and side, then the
    patient's PEG over time (at visits and follow-ups), when it was asked.
    """
    from tplog import jsonout, render
    from tplog.parse import check_muscle
    from tplog.services import trends

    muscle_key = check_muscle(muscle.lower()) if muscle is not None else None
    with session(ctx) as s:
        patient = patient_for(s, mrn)
        found = trends.site_trends(s, patient, muscle=muscle_key)
        motion = trends.motion_trends(s, patient)
        pegs = trends.peg_trend(s, patient)
    if json:
        echo_json({"mrn": patient.mrn, "muscle": muscle_key,
                   "sites": [jsonout.site_trend(t) for t in found],
                   "range_of_motion": [jsonout.motion_trend(t) for t in motion],
                   "peg": [jsonout.peg_point(p) for p in pegs]})
    else:
        console = stdout_console()
        console.print(render.trend_table(found, patient.mrn))
        if motion:
            console.print(render.motion_table(motion, patient.mrn))
        if pegs:
            console.print(render.peg_trend(pegs))


def due(
    ctx: typer.Context,
    days: Annotated[str | None, typer.Option(
        metavar="N", help="Visits N or more days old (default: the config file's "
                          "followup.due_days, else 14).")] = None,
    json: JsonFlag = False,
) -> None:
    """Visits with no follow-up yet, the given days or more after them, oldest first.

    Each with its patient's MRN and name, the visit id, date, sites and the days since;
    voided visits are left out. Record the answer with `tplog followup VISIT_ID`.
    """
    from tplog import config
    from tplog.services.due import due as visits_due

    if days is None:
        wanted = config.load().follow_up_due_days
    elif days.strip().isascii() and days.strip().isdigit() and int(days) <= 36_500:
        wanted = int(days)
    else:
        raise BadInput(f"--days {shown(days)} is not allowed; give a whole number of days, "
                       "0-36500")
    with session(ctx) as s:
        found = visits_due(s, days=wanted)
    if json:
        echo_json({"days": wanted, "visits": [
            {"visit": v.visit_id, "mrn": v.mrn, "patient_name": v.patient_name,
             "visit_date": v.visit_date.isoformat(), "sites": list(v.sites),
             "days_since": v.days_since} for v in found]})
        return
    if not found:
        note(f"No visit {wanted} or more days old is waiting for a follow-up.")
        return
    from rich.table import Table

    table = Table("Visit", "Date", "Days", "MRN", "Patient", "Sites",
                  caption=f"{len(found)} visit(s) {wanted}+ days old with no follow-up")
    for v in found:
        table.add_row(str(v.visit_id), v.visit_date.isoformat(), str(v.days_since), v.mrn,
                      v.patient_name, ", ".join(v.sites))
    stdout_console().print(table)


def muscles(
    region: Annotated[str | None, typer.Option(
        autocompletion=completion.regions,
        help="Only this region: head-face, neck, shoulder, upper-back, chest, lower-back, "
             "hip-pelvis, pelvic-floor, arm, leg.")] = None,
    json: JsonFlag = False,
) -> None:
    """The muscles tplog knows, by region, with their SNOMED CT codes where verified."""
    from tplog import report_tables, vocab

    key = check_region(region.lower()) if region is not None else None
    chosen = [m for m in vocab.MUSCLES if key is None or m.region == key]
    if json:
        echo_json([{"key": m.key, "name": m.name, "region": m.region, "snomed": m.snomed,
                    "source": m.source, "over_thorax": m.over_thorax,
                    "thorax_source": m.thorax_source} for m in chosen])
    else:
        stdout_console().print(report_tables.muscles_table(chosen))


def conditions(json: JsonFlag = False) -> None:
    """The conditions treated, with ICD-10-CM codes."""
    from tplog import report_tables, vocab

    if json:
        echo_json([{"key": c.key, "name": c.name, "icd10": c.icd10, "note": c.note or None}
                   for c in vocab.CONDITIONS])
    else:
        stdout_console().print(report_tables.conditions_table())


def drugs(json: JsonFlag = False) -> None:
    """The drugs (name and concentration) a point can be injected with."""
    from tplog import report_tables, vocab

    if json:
        echo_json([{"key": d.key, "name": d.name, "concentration_percent":
                    d.concentration_percent, "mg_per_ml": d.mg_per_ml, "injects": d.injects}
                   for d in vocab.DRUGS])
    else:
        stdout_console().print(report_tables.drugs_table())
