"""Exports of visit summaries: one module per format, each with the same `write`, all fed by
select.stream(). A format is added here and in parse.ExportFormat, nowhere else."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tplog.clinical import Rules
    from tplog.export.select import ExportVisit

    Writer = Callable[..., None]

# format -> the module whose write(visits, out, *, deidentified, shifted_dates, on_point, rules)
# writes it
WRITERS: dict[str, str] = {
    "csv": "tplog.export.csv_format",
    "json": "tplog.export.json_format",
    "fhir": "tplog.export.fhir",
    "html": "tplog.export.html",
    "md": "tplog.export.markdown",
    "pdf": "tplog.export.pdf",
}


def write(format_: str, visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          on_point: Callable[[], Any] | None, rules: Rules, shifted_dates: bool = False,
          options: dict[str, Any] | None = None) -> None:
    """Write the visits in the format asked for (its module is imported only then).

    `shifted_dates`: de-identified with dates shifted, which is not Safe Harbor; a format
    with a place for it says so (json, fhir, html, md; the CSV's header is a contract).
    `options`: what one format alone takes (fhir: the database's namespace, the MRN system).
    """
    module = importlib.import_module(WRITERS[format_])
    module.write(visits, out, deidentified=deidentified, shifted_dates=shifted_dates,
                 on_point=on_point, rules=rules, **(options or {}))
