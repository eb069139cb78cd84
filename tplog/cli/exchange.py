"""tplog export | import: visit summaries out (csv, json, fhir, html, md, pdf), the CSV back
in."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from tplog.cli import completion
from tplog.cli.app import actor, note, patient_for, session
from tplog.cli.options import Since, Until
from tplog.errors import BadInput
from tplog.parse import ExportFormat, Paper, parse_choice, parse_period, parse_visit_id

# The printed summaries: their file may be named after the patient and dates (--output a
# folder, or a pdf without --output), and their pages have a size.
PRINTED = ("html", "pdf")


@contextmanager
def _destination(output: Path | None) -> Iterator[IO[str]]:
    """stdout, or a private file written whole (tplog.files): a failed export leaves nothing."""
    if output is None:
        yield sys.stdout
        return
    from tplog import files

    with files.written_whole(output, what="--output") as out:
        yield out


# A Ctrl-C once the export is recorded: the record stays (an attempted disclosure is what the
# trail needs), and the file is written whole or not at all (_destination).
_EXPORT_INTERRUPTED = ("Interrupted; the export is in the audit trail (every export begun "
                       "is); a file was written only if \"Exported\" was printed.")


@contextmanager
def _progress(count: Callable[[], int]) -> Iterator[Any]:
    """A rich progress bar on stderr when it is a terminal; nothing when piped. The points
    are counted first only for the bar (a second pass over the selection)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Exporting points", total=count())
        yield lambda: progress.advance(task)


def _counted(visits: Iterable[Any], tally: list[int]) -> Iterator[Any]:
    for visit in visits:
        tally[0] += len(visit.point_rows)
        yield visit


def export(
    ctx: typer.Context,
    mrn: Annotated[str | None, typer.Argument(help="The patient's MRN (or use --all).",
                                              autocompletion=completion.mrns)] = None,
    all_patients: Annotated[bool, typer.Option("--all", help="Every patient.")] = False,
    visit: Annotated[str | None, typer.Option(metavar="ID", help="Only this visit.")] = None,
    since: Since = None,
    until: Until = None,
    format_: Annotated[str, typer.Option("--format", "-f",
                                         help="csv, json, fhir, html, md or pdf.")] = "csv",
    # Read as text, not a Path: a trailing slash (a folder) must not be lost before it is seen.
    output_given: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="<path>",
        help="Write to this file (else stdout). html, pdf: a folder takes a "
        "file named after the patient and dates; a pdf without --output goes to such a file "
        "in the current folder.")] = None,
    paper: Annotated[str | None, typer.Option(
        help="html, pdf: a4 or letter (else clinic.paper from the config, else a4).")] = None,
    deidentify: Annotated[bool, typer.Option(
        help="HIPAA Safe Harbor: no names, MRNs or notes; dates as the year only; ages over "
             "89 as 90+; research ids new in every export.")] = False,
    shift_dates: Annotated[bool, typer.Option(
        "--shift-dates", help="With --deidentify: dates shifted back 1-364 days per patient "
        "instead of the year only, the same in every export of this database, and research "
        "ids that stay the same. NOT HIPAA Safe Harbor.")] = False,
    # What --deidentify does now; kept, hidden, so that scripts written for it still run.
    year_only: Annotated[bool, typer.Option("--year-only", hidden=True)] = False,
) -> None:
    """Export visit summaries (voided visits are left out). Every export is audited."""
    from tplog import config, export
    from tplog.export import deidentify as deidentification
    from tplog.export import select as records
    from tplog.services import audit

    chosen = parse_choice(format_, ExportFormat, "--format")
    page_size = parse_choice(paper, Paper, "--paper").value if paper is not None else None
    if page_size is not None and chosen.value not in PRINTED:
        raise BadInput("--paper goes with --format html or pdf")
    if year_only and shift_dates:
        raise BadInput("--year-only and --shift-dates contradict each other: --deidentify "
                       "alone gives the year only")
    if year_only and not deidentify:
        raise BadInput("--year-only goes with --deidentify")
    if shift_dates and not deidentify:
        raise BadInput("--shift-dates goes with --deidentify")
    since_date, until_date = parse_period(since, until)
    selection = records.Selection(
        mrn=mrn, all_patients=all_patients,
        visit_id=parse_visit_id(visit) if visit is not None else None,
        since=since_date, until=until_date)
    records.check_selection(selection)
    what = ("all patients" if all_patients else f"patient {mrn}" if mrn
            else f"visit {selection.visit_id}")
    from tplog import files

    output = None if output_given is None else Path(output_given)
    folder = None  # the file is named after what it holds, once that is read
    if output is not None and chosen.value in PRINTED and output.expanduser().is_dir():
        folder = Path(os.path.abspath(output.expanduser()))
    elif output_given is not None:  # refused before anything is recorded or written
        output = files.check_target(output_given, "--output")
    elif chosen.value == "pdf":  # a PDF is never written to a terminal
        folder = Path.cwd()
    where = "stdout" if output is None else str(output)
    settings = config.load()
    exported = [0]
    letter_pdf = None  # a PDF, made whole before the export is recorded (below)
    with session(ctx, write=True, saved=_EXPORT_INTERRUPTED) as s:
        patient_id = None
        if mrn is not None:  # a name that means one patient will do, as everywhere
            patient = patient_for(s, mrn)
            patient_id, mrn = patient.id, patient.mrn
            selection = dataclasses.replace(selection, mrn=mrn)
            what = f"patient {mrn}"
        records.check_exists(s, selection)
        scrubber = (deidentification.deidentifier(s, shift_dates=shift_dates) if deidentify
                    else None)
        # Refused here, before the export is recorded, when the database's key is damaged.
        namespace = deidentification.fhir_namespace(s) if chosen.value == "fhir" else None
        held = None  # the visits, read here to name the file after them
        if folder is not None:
            from tplog.export import letter, summary

            held = [scrubber.visit(v) if scrubber is not None else v
                    for v in records.stream(s, selection)]
            name = summary.file_name(list(letter.patients(held)), chosen.value)
            output = files.check_target(folder / name, "--output")
            where = str(output)
        if chosen.value == "pdf" and held is None:
            held = [scrubber.visit(v) if scrubber is not None else v
                    for v in records.stream(s, selection)]
        # Recorded before anything leaves: an attempted disclosure is what the trail needs.
        how = ("" if not deidentify else " (de-identified, dates shifted)" if shift_dates
               else " (de-identified)")
        recorded = f"{chosen.value} export of {what}{how} to {where}"
        if chosen.value != "pdf":
            audit.record(s, actor(), "export", recorded, patient_id=patient_id)
    if chosen.value == "pdf":
        # Made whole first, outside the write lock: a letter its font cannot show whole is
        # refused (pdf.letter_bytes) before the export is recorded, as a bad option is.
        from tplog.export import pdf

        letter_pdf = pdf.letter_bytes(
            _counted(held or [], exported), deidentified=deidentify,
            shifted_dates=shift_dates, rules=settings.rules, clinic=settings.letterhead,
            paper=page_size or settings.clinic.paper)
        with session(ctx, write=True, saved=_EXPORT_INTERRUPTED) as s:
            audit.record(s, actor(), "export", recorded, patient_id=patient_id)
    if shift_dates:
        note("Dates are shifted, not reduced to the year: this export is NOT HIPAA Safe "
             "Harbor de-identified.")
    if letter_pdf is not None:
        with _destination(output) as out:
            out.flush()
            out.buffer.write(letter_pdf)  # type: ignore[attr-defined]
            out.buffer.flush()  # type: ignore[attr-defined]
        if output is not None:
            note(f"Exported {exported[0]} point(s) as pdf to {where}.")
        return
    rules = settings.rules
    with session(ctx) as s:
        options: dict[str, Any] | None = (
            {"namespace": namespace, "mrn_system": settings.fhir_mrn_system}
            if namespace is not None else None)
        if chosen.value in PRINTED:
            options = {"clinic": settings.letterhead,
                       "paper": page_size or settings.clinic.paper}
        visits = _counted(records.stream(s, selection) if held is None else held, exported)
        if scrubber is not None and held is None:
            visits = map(scrubber.visit, visits)
        with _destination(output) as out, \
                _progress(lambda: records.count_points(s, selection)) as tick:
            export.write(chosen.value, visits, out, deidentified=deidentify,
                         shifted_dates=shift_dates, on_point=tick, rules=rules,
                         options=options)
    if output is not None:
        note(f"Exported {exported[0]} point(s) as {chosen.value} to {where}.")


def import_(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="A CSV in tplog's export format.")]
    = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count; write nothing.")]
    = False,
    template: Annotated[bool, typer.Option(
        "--template", help="Print an empty CSV with the header and one example row.")] = False,
) -> None:
    """Import visits from CSV: every row checked first; a bad row imports nothing."""
    from tplog.export import csv_format
    from tplog.export import csv_import as importer

    if template:
        csv_format.template(sys.stdout)
        return
    if path is None:
        raise BadInput("give the CSV file to import (or --template for an empty one)")
    importer.check_header(path)  # a file that is not tplog's CSV never opens the database
    with session(ctx, write=not dry_run) as s:
        report = importer.run(s, path, actor(), dry_run=dry_run)
        # Raising here rolls the transaction back: a failed import writes nothing.
        if report.bad_rows:
            _report(report.bad_rows)
            raise BadInput(f"{len(report.bad_rows)} bad row(s) in {path}; nothing was "
                           "imported")
        if report.clashes:
            _report(report.clashes)
            raise BadInput(f"{len(report.clashes)} row(s) clash with the database; nothing "
                           "was imported")
    verb = "Would add" if dry_run else "Added"
    extras = ", ".join(f"{count} {what}" for count, what in (
        (report.follow_ups_added, "follow-up(s)"), (report.addenda_added, "addend(a)"))
        if count)
    note(f"{verb} {report.patients_added} patient(s), {report.visits_added} visit(s) with "
         f"{report.points_added} point(s){f' and {extras}' if extras else ''}; "
         f"{report.visits_present} visit(s) were already "
         f"there.{' Nothing was written (--dry-run).' if dry_run else ''}")
    if report.visits_replaced:
        note(f"{report.visits_replaced} visit(s) of the file read as visits here did before "
             "they were corrected or voided: not imported again (`tplog history "
             "--include-void` and `tplog visit show` give them as they are now).")
    if report.left_with_void:
        note(f"{report.left_with_void} follow-up(s) and addend(a) of the file belong to "
             "visits voided here: not added.")
    if report.amended_elsewhere:
        note(f"{len(report.amended_elsewhere)} visit(s) of the file were not imported:")
        _report(report.amended_elsewhere)
    if report.weights_differing:
        note(f"{len(report.weights_differing)} weight(s) of the file differ from the weight "
             "recorded here for the same day and were not recorded (record the right one "
             "with `tplog patient weight`):")
        _report(report.weights_differing)
    if report.visits_amended:
        note(f"{report.visits_amended} visit(s) had been amended: imported as they read now, "
             "as logged (their earlier revisions and who amended them stay in the database "
             "they came from).")


def _report(problems: list[str]) -> None:
    from tplog.export.csv_import import MAX_REPORTED

    for problem in problems[:MAX_REPORTED]:
        note(problem)
    if len(problems) > MAX_REPORTED:
        note(f"... and {len(problems) - MAX_REPORTED} more")
