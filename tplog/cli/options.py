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
