"""tplog summary, and the vocabulary lists: muscles, conditions, drugs."""

from __future__ import annotations

from typing import Annotated

import typer

from tplog.cli import completion
from tplog.cli.app import echo_json, patient_for, session, stdout_console
from tplog.cli.options import JsonFlag, Mrn, Since, Until
from tplog.parse import GroupBy, check_region, parse_choice, parse_date


def summary(
    ctx: typer.Context,
    since: Since = None,
    until: Until = None,
    by: Annotated[str | None, typer.Option(
        help="Group by muscle, region, condition, practitioner, month or drug.")] = None,
    include_void: Annotated[bool, typer.Option(
        "--include-void", help="Include visits voided as entered in error.")] = False,
    json: JsonFlag = False,
) -> None:
    """Outcomes across all patients: visits, points, pain before/after, responders, twitch."""
    from tplog import jsonout, render
    from tplog.services.summary import summarise

    since_date = parse_date(since, "--since") if since is not None else None
    until_date = parse_date(until, "--until") if until is not None else None
    group_by = parse_choice(by, GroupBy, "--by") if by is not None else None
    with session(ctx) as s:
        rows = summarise(s, by=group_by, since=since_date, until=until_date,
                         include_void=include_void)
    if json:
        echo_json(jsonout.summary(rows, group_by.value if group_by else None, since_date,
                                  until_date))
    else:
        stdout_console().print(render.summary_tables(rows, group_by.value if group_by else None))


def trend(
    ctx: typer.Context,
    mrn: Mrn,
    muscle: Annotated[str | None, typer.Option(metavar="KEY", help="Only this muscle.",
                                               autocompletion=completion.muscles)] = None,
    json: JsonFlag = False,
) -> None:
    """Pain before and after at each visit, per muscle and side, oldest first."""
    from tplog import jsonout, render
    from tplog.parse import check_muscle
    from tplog.services import trends

    muscle_key = check_muscle(muscle.lower()) if muscle is not None else None
    with session(ctx) as s:
        patient = patient_for(s, mrn)
        found = trends.site_trends(s, patient, muscle=muscle_key)
    if json:
        echo_json({"mrn": patient.mrn, "muscle": muscle_key,
                   "sites": [jsonout.site_trend(t) for t in found]})
    else:
        stdout_console().print(render.trend_table(found, patient.mrn))




def muscles(
    region: Annotated[str | None, typer.Option(
        autocompletion=completion.regions,
        help="Only this region: head-face, neck, shoulder, upper-back, chest, lower-back, "
             "hip-pelvis, pelvic-floor, arm, leg.")] = None,
    json: JsonFlag = False,
) -> None:
    """The muscles tplog knows, by region, with their SNOMED CT codes where verified."""
    from tplog import render, vocab

    key = check_region(region.lower()) if region is not None else None
    chosen = [m for m in vocab.MUSCLES if key is None or m.region == key]
    if json:
        echo_json([{"key": m.key, "name": m.name, "region": m.region, "snomed": m.snomed,
                    "source": m.source, "over_thorax": m.over_thorax,
                    "thorax_source": m.thorax_source} for m in chosen])
    else:
        stdout_console().print(render.muscles_table(chosen))


def conditions(json: JsonFlag = False) -> None:
    """The conditions treated, with ICD-10-CM codes."""
    from tplog import render, vocab

    if json:
        echo_json([{"key": c.key, "name": c.name, "icd10": c.icd10, "note": c.note or None}
                   for c in vocab.CONDITIONS])
    else:
        stdout_console().print(render.conditions_table())


def drugs(json: JsonFlag = False) -> None:
    """The drugs (name and concentration) a point can be injected with."""
    from tplog import render, vocab

    if json:
        echo_json([{"key": d.key, "name": d.name, "concentration_percent":
                    d.concentration_percent, "mg_per_ml": d.mg_per_ml, "injects": d.injects}
                   for d in vocab.DRUGS])
    else:
        stdout_console().print(render.drugs_table())
