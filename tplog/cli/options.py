"""The options and arguments several commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from tplog import procedure, vocab
from tplog.cli import completion

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Since = Annotated[str | None, typer.Option(help="From this date on, YYYY-MM-DD.")]
Until = Annotated[str | None, typer.Option(help="Up to and including this date, YYYY-MM-DD.")]
IncludeVoid = Annotated[bool, typer.Option("--include-void",
                                           help="Include visits voided as entered in error.")]
VisitId = Annotated[str, typer.Argument(metavar="VISIT_ID", help="The visit's id.")]
Mrn = Annotated[str, typer.Argument(help="The patient's MRN (or a name that is unique).",
                                     autocompletion=completion.mrns)]
# Filters of the reports across visits (summary, visits, history).
PatientFilter = Annotated[str | None, typer.Option(
    "--patient", metavar="MRN_OR_NAME", autocompletion=completion.mrns,
    help="Only this patient's visits (an MRN or a name that is unique).")]
ConditionFilter = Annotated[str | None, typer.Option(
    "--condition", "-c", metavar="KEY_OR_ICD10", autocompletion=completion.conditions,
    help="Only visits treating this condition (a key of `tplog conditions` or its "
         "ICD-10-CM code; myofascial-pain and whiplash take in their specific codes).")]
MuscleOnly = Annotated[str | None, typer.Option(
    "--muscle", metavar="KEY", autocompletion=completion.muscles,
    help="Only points in this muscle (and the visits that have one).")]
PractitionerFilter = Annotated[str | None, typer.Option(
    "--practitioner", metavar="NAME_OR_ID",
    help="Only visits by this practitioner (the whole name, any case, or the practitioner's "
         "id as `tplog practitioner list` shows it).")]
# The procedure and the ranges of motion (`log`, `visit amend`; tplog.procedure).
Consent = Annotated[str | None, typer.Option(
    "--consent", metavar="none|verbal|written",
    help="Consent for the procedure as documented (default: not recorded).")]
TimeOut = Annotated[bool | None, typer.Option(
    "--time-out/--no-time-out", show_default=False,
    help="The pre-procedure time-out was done (or not; default: not recorded).")]
Ultrasound = Annotated[bool | None, typer.Option(
    "--ultrasound/--no-ultrasound", show_default=False,
    help="Injected under ultrasound guidance (or not; default: not recorded).")]
Needle = Annotated[str | None, typer.Option(
    "--needle", metavar="'GAUGE [LENGTH]'",
    help="The needle: gauge, then length in inches or mm: '25G 1.5in', '25G 1.5\"', "
         "'22G 38mm' or '25G' (18G-34G; kept in mm).")]
Aspirated = Annotated[bool | None, typer.Option(
    "--aspirated/--no-aspirated", show_default=False,
    help="Aspirated before injecting (or not; default: not recorded).")]
RangeOfMotion = Annotated[list[str] | None, typer.Option(
    "--rom", metavar="SPEC",
    help=f"A range of motion: '{procedure.ROM_FORMAT}', in degrees (jaw-opening in mm); "
         "movements: " + ", ".join(m.key + (":L|R" if m.sided else "")
                                   for m in vocab.MOVEMENTS)
         + ". Repeat for each.")]

