"""tplog patient add | edit | weight | find | list | show | merge; the pre-procedure screen:
allergy | allergy-end | anticoagulant | bleeding-disorder."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tplog.cli.app import (
    actor,
    echo,
    echo_json,
    interactive,
    note,
    patient_for,
    session,
    stdout_console,
)
from tplog.cli.options import JsonFlag, Mrn
from tplog.parse import Sex, parse_choice, parse_date, parse_weight

patient_app = typer.Typer(
    rich_markup_mode=None,
    help="Add, list and show patients; record their weight and pre-procedure screen; merge a "
         "duplicate.",
    no_args_is_help=True)



@patient_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The patient's name.")],
    mrn: Annotated[str | None, typer.Option(
        help="The clinic's medical record number; assigned as P0001, P0002, ... if not given."
    )] = None,
    dob: Annotated[str | None, typer.Option(help="Date of birth, YYYY-MM-DD.")] = None,
    sex: Annotated[str | None, typer.Option(help="female, male, other or unknown.")] = None,
    weight_kg: Annotated[str | None, typer.Option(help="Weight in kg (for dose limits).")] = None,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Add the patient even if one with the same name and date of birth is "
                      "already there.")] = False,
    json: JsonFlag = False,
) -> None:
    """Add a patient. One with the name and date of birth of a patient already there is
    asked about on a terminal, else refused without --yes (exit 5). Prints the MRN, or with
    --json the patient as `patient show --json` does."""
    from tplog import jsonout
    from tplog.errors import NotConfirmed
    from tplog.services import patients

    date_of_birth = parse_date(dob, "date of birth") if dob is not None else None
    weight = parse_weight(weight_kg) if weight_kg is not None else None
    sex_value = parse_choice(sex, Sex, "sex").value if sex is not None else None
    confirmed = yes
    if not yes and interactive():
        # Asked before the write transaction: no lock is held while someone thinks.
        with session(ctx) as s:
            existing = patients.already_added(s, name, date_of_birth)
            question = (patients.duplicate_question(name, date_of_birth, existing)
                        if existing else None)
        if question is not None:
            if not typer.confirm(f"{question} Add another patient anyway?", default=False,
                                 err=True):
                raise NotConfirmed("the patient was not added: nothing was saved")
            confirmed = True
    with session(ctx, write=True) as s:
        patient = patients.add_patient(s, name=name, mrn=mrn, date_of_birth=date_of_birth,
                                       sex=sex_value, weight_kg=weight, actor=actor(),
                                       duplicate_confirmed=confirmed)
        mrn_saved = patient.mrn
        added = patients.show_patient(s, mrn_saved) if json else None
    note(f"Added patient {mrn_saved}.")
    if added is not None:
        echo_json(jsonout.patient(added))
    else:
        echo(mrn_saved)


@patient_app.command("edit")
def edit(
    ctx: typer.Context,
    mrn: Mrn,
    name: Annotated[str | None, typer.Option(help="The corrected name.")] = None,
    dob: Annotated[str | None, typer.Option(help="Date of birth, YYYY-MM-DD.")] = None,
    sex: Annotated[str | None, typer.Option(help="female, male, other or unknown.")] = None,
    weight_kg: Annotated[str | None, typer.Option(
        help="A new weight in kg, recorded as measured today (see `tplog patient weight`).")]
    = None,
) -> None:
    """Correct a patient's demographics (the MRN stays); every edit is in the audit trail."""
    from tplog.services import patients

    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = name
    if dob is not None:
        changes["date_of_birth"] = parse_date(dob, "date of birth")
    if sex is not None:
        changes["sex"] = parse_choice(sex, Sex, "sex").value
    if weight_kg is not None:
        changes["weight_kg"] = parse_weight(weight_kg)
    with session(ctx, write=True) as s:
        mrn = patient_for(s, mrn).mrn
        _, changed = patients.edit_patient(s, mrn, changes=changes, actor=actor())
    note(f"Updated {', '.join(changed)} of patient {mrn}.")


@patient_app.command("weight")
def weight(
    ctx: typer.Context,
    mrn: Mrn,
    kg: Annotated[str, typer.Argument(metavar="KG", help="Weight in kg, 2-300.")],
    on: Annotated[str | None, typer.Option(
        "--on", help="When it was measured, YYYY-MM-DD (default today).")] = None,
) -> None:
    """Record a dated weight: the dose check uses the latest on or before a visit's date."""
    import datetime as dt

    from tplog.services import patients

    weight_kg = parse_weight(kg)
    measured_on = parse_date(on, "--on") if on is not None else dt.date.today()
    with session(ctx, write=True) as s:
        patient = patient_for(s, mrn)
        patients.record_weight(s, patient, weight_kg=weight_kg, measured_on=measured_on,
                               actor=actor())
        mrn = patient.mrn
    note(f"Recorded {weight_kg:g} kg for {mrn}, measured {measured_on}.")


def _print_patients(found: list[Any], json: bool) -> None:
    from tplog import jsonout, render

    if json:
        echo_json([jsonout.patient(p) for p in found])
    else:
        stdout_console().print(render.patients_table(found))


@patient_app.command("find")
def find(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Part of a name or MRN; near spellings too.")],
    json: JsonFlag = False,
) -> None:
    """Find patients by name or MRN, best match first."""
    from tplog.services import patients

    with session(ctx) as s:
        found = patients.find_patients(s, text)
    _print_patients(found, json)


@patient_app.command("list")
def list_(
    ctx: typer.Context,
    search: Annotated[str | None, typer.Option(help="Part of a name or MRN.")] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Also the duplicates merged into another patient (`patient merge`).")]
    = False,
    json: JsonFlag = False,
) -> None:
    """List patients, with their number of visits and the last one."""
    from tplog.services import patients

    with session(ctx) as s:
        found = patients.list_patients(s, search, include_merged=all_)
    _print_patients(found, json)


@patient_app.command("show")
def show(
    ctx: typer.Context,
    mrn: Mrn,
    json: JsonFlag = False,
) -> None:
    """Show one patient, with the pre-procedure screen as it stands (allergies, anticoagulant
    or antiplatelet use, bleeding disorder)."""
    from tplog import jsonout, render
    from tplog.services import patients, screening

    with session(ctx) as s:
        patient = patient_for(s, mrn)
        found = patients.show_patient(s, patient.mrn)
        screen = screening.screen(s, patient)
    if json:
        echo_json({**jsonout.patient(found), "screen": jsonout.screen(screen)})
    else:
        stdout_console().print(render.patient_panel(found))
        stdout_console().print(render.screen_lines(screen))


def _screened(ctx: typer.Context, mrn: str, json: bool) -> None:
    """What a screen command wrote: the screen as it stands now (with --json, its document)."""
    from tplog import jsonout, render
    from tplog.services import screening

    with session(ctx) as s:
        screen = screening.screen(s, patient_for(s, mrn))
    if json:
        echo_json(jsonout.screen(screen))
    else:
        stdout_console().print(render.screen_lines(screen))


@patient_app.command("allergy")
def allergy(
    ctx: typer.Context,
    mrn: Mrn,
    substance: Annotated[str, typer.Argument(
        metavar="DRUG_OR_TEXT",
        help="What the patient is allergic to: a drug key (lidocaine-1), a local anaesthetic "
             "(lidocaine: every lidocaine-*), or any text (latex, penicillin).")],
    reaction: Annotated[str | None, typer.Option(help="The reaction (hives, anaphylaxis).")]
    = None,
    since: Annotated[str | None, typer.Option(help="Known since, YYYY-MM-DD.")] = None,
    practitioner: Annotated[str | None, typer.Option(help="Who recorded it.")] = None,
    json: JsonFlag = False,
) -> None:
    """Record an allergy. One to a drug tplog injects (by key, by name, or the anaesthetic
    itself) makes `tplog log` ask for confirmation before injecting it."""
    from tplog import vocab
    from tplog.services import screening

    since_date = parse_date(since, "--since") if since is not None else None
    substance = screening.check_substance(substance)
    with session(ctx, write=True) as s:
        patient = patient_for(s, mrn)
        written = screening.record_allergy(s, patient, substance=substance, reaction=reaction,
                                           since=since_date, actor=actor(practitioner))
        mrn = patient.mrn
    drugs = vocab.allergy_drugs(written.substance)
    note(f"Recorded allergy {written.id} for {mrn}: {written.substance}"
         + (f" (checked against {', '.join(drugs)})" if drugs
            else " (names no drug tplog injects: shown, not checked)"))
    _screened(ctx, mrn, json)


@patient_app.command("allergy-end")
def allergy_end(
    ctx: typer.Context,
    mrn: Mrn,
    allergy_id: Annotated[str, typer.Argument(
        metavar="ALLERGY", help="The allergy's number (`tplog patient show MRN`).")],
    how: Annotated[str, typer.Option(
        "--as", metavar="resolved|entered-in-error",
        help="Resolved (no longer allergic), or entered in error (never was).")],
    note_text: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    on: Annotated[str | None, typer.Option(help="Since when, YYYY-MM-DD.")] = None,
    practitioner: Annotated[str | None, typer.Option(help="Who recorded it.")] = None,
    json: JsonFlag = False,
) -> None:
    """End an allergy: resolved, or entered in error. The allergy's record stays; a new
    record says it ended, when and why."""
    from tplog.parse import AllergyEnd, parse_visit_id
    from tplog.services import screening

    ending = parse_choice(how, AllergyEnd, "--as")
    number = parse_visit_id(allergy_id, "allergy")
    on_date = parse_date(on, "--on") if on is not None else None
    with session(ctx, write=True) as s:
        patient = patient_for(s, mrn)
        ended = screening.end_allergy(s, patient, allergy_id=number, how=ending,
                                      note=note_text, on=on_date, actor=actor(practitioner))
        mrn = patient.mrn
    note(f"Marked allergy {ended.id} of {mrn} ({ended.substance}) {ending.value}.")
    _screened(ctx, mrn, json)


@patient_app.command("anticoagulant")
def anticoagulant(
    ctx: typer.Context,
    mrn: Mrn,
    status: Annotated[str, typer.Argument(
        metavar="on|off", help="Started (on) or stopped (off).")],
    drug: Annotated[str | None, typer.Option(
        help="Which anticoagulant or antiplatelet (warfarin, apixaban, aspirin); off without "
             "--drug stops every one.")] = None,
    on: Annotated[str | None, typer.Option(
        help="Since when, YYYY-MM-DD (default today).")] = None,
    note_text: Annotated[str | None, typer.Option("--note", help="A note.")] = None,
    practitioner: Annotated[str | None, typer.Option(help="Who recorded it.")] = None,
    json: JsonFlag = False,
) -> None:
    """Record anticoagulant or antiplatelet use starting or stopping: `tplog log` warns of
    the bleeding risk while one is on."""
    from tplog.parse import OnOff
    from tplog.services import screening

    state = parse_choice(status, OnOff, "status")
    on_date = parse_date(on, "--on") if on is not None else None
    with session(ctx, write=True) as s:
        patient = patient_for(s, mrn)
        screening.record_anticoagulant(s, patient, status=state, drug=drug, on=on_date,
                                       note=note_text, actor=actor(practitioner))
        mrn = patient.mrn
    note(f"Recorded {mrn} {state.value} " + (drug or "anticoagulant/antiplatelet")
         + (f" from {on_date}" if on_date else "") + ".")
    _screened(ctx, mrn, json)


@patient_app.command("bleeding-disorder")
def bleeding_disorder(
    ctx: typer.Context,
    mrn: Mrn,
    answer: Annotated[str, typer.Argument(metavar="yes|no", help="Has one, or has none.")],
    note_text: Annotated[str | None, typer.Option(
        "--note", help="Which (haemophilia A, von Willebrand disease).")] = None,
    practitioner: Annotated[str | None, typer.Option(help="Who recorded it.")] = None,
    json: JsonFlag = False,
) -> None:
    """Record whether the patient has a bleeding disorder: `tplog log` warns while yes."""
    from tplog.parse import YesNo
    from tplog.services import screening

    said = parse_choice(answer, YesNo, "answer")
    with session(ctx, write=True) as s:
        patient = patient_for(s, mrn)
        screening.record_bleeding_disorder(s, patient, answer=said, note=note_text,
                                           actor=actor(practitioner))
        mrn = patient.mrn
    note(f"Recorded bleeding disorder: {said.value} for {mrn}.")
    _screened(ctx, mrn, json)


@patient_app.command("merge")
def merge(
    ctx: typer.Context,
    from_mrn: Annotated[str, typer.Argument(
        metavar="FROM", help="The duplicate's MRN: the patient added twice.")],
    into_mrn: Annotated[str, typer.Argument(
        metavar="INTO", help="The MRN of the patient it is a duplicate of.")],
    reason: Annotated[str, typer.Option(help="Why they are one patient (kept with the merge).")],
    yes: Annotated[bool, typer.Option(
        "--yes", help="Merge without asking (needed without a terminal).")] = False,
) -> None:
    """Merge a duplicate patient into the right one: its visits, follow-ups and weights
    become INTO's; FROM stays as a marked record (`patient list --all`). Nothing is
    deleted; the merge is in the audit trail."""
    from tplog import render
    from tplog.errors import NotConfirmed
    from tplog.services import patients

    if not yes:
        # Checked (and shown) before the write transaction: no lock is held while asking.
        with session(ctx) as s:
            plan = patients.plan_merge(s, from_mrn, into_mrn, reason=reason)
        if not interactive():
            raise NotConfirmed(f"merging {plan.source.mrn} into {plan.target.mrn} needs "
                               "confirmation and there is no terminal to ask; nothing was "
                               "saved (confirm with --yes)")
        stdout_console().print(render.patients_table([plan.source, plan.target]))
        if not typer.confirm(f"Merge {plan.source.mrn} ({plan.source.visit_count} visit(s)) "
                             f"into {plan.target.mrn}? Its visits, follow-ups and weights "
                             f"become {plan.target.mrn}'s", default=False, err=True):
            raise NotConfirmed("the patients were not merged: nothing was saved")
    with session(ctx, write=True) as s:
        done = patients.merge_patients(s, from_mrn, into_mrn, reason=reason, actor=actor())
    note(f"Merged {done.source.mrn} into {done.target.mrn}: {done.source.visit_count} "
         f"visit(s) are {done.target.mrn}'s now.")
