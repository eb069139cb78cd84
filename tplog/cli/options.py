"""The options and arguments several commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

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
    "--practitioner", metavar="NAME",
    help="Only visits by this practitioner (the whole name, any case).")]
