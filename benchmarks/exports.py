"""The printed summaries' benchmark: `tplog export MRN --format pdf` and `--format html` of one
patient with 22 visits, each timed as a whole process (start-up included) against its target
of 1.5 s. The CSV export of every patient is timed by the runner at each size.

The runner (benchmarks/__main__.py) passes in its own timing function, so that these figures
are taken exactly as its others are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import generate as clinics
from benchmarks.table import Row, ms

VISITS = 22  # a patient of some years' treatment (the issue's example)
MRN = "P000001"
TARGET_SECONDS = 1.5
FORMATS = ("pdf", "html")


def one_patient_clinic(target: str) -> None:
    """A clinic of one patient with VISITS visits (generate.py's shapes otherwise: about five
    points a visit, conditions, drugs)."""
    kept = clinics.VISITS_PER_PATIENT
    clinics.VISITS_PER_PATIENT = VISITS  # read by the generator at each call
    try:
        clinics.generate(target, VISITS * clinics.POINTS_PER_VISIT)
    finally:
        clinics.VISITS_PER_PATIENT = kept


def printed(work: Path, runs: int, run: Callable[..., Any],
            tplog: Callable[..., list[str]]) -> dict[str, Any]:
    """Each printed format's timing (the runner's Timing), keyed by format."""
    target = str(work / f"patient-{VISITS}-visits.db")
    one_patient_clinic(target)
    return {format_: run(tplog("--db", target, "export", MRN, "--format", format_, "-o",
                               str(work / f"summary.{format_}")), runs)
            for format_ in FORMATS}


def report(results: dict[str, Any]) -> list[Row]:
    """The table's rows: each printed format against its target."""
    return [Row(f"SQLite, one patient, {VISITS} visits: `tplog export MRN --format {format_}`",
                ms(timing.seconds), "", f"peak {timing.peak_mib:.0f} MiB",
                f"≤ {TARGET_SECONDS} s", timing.seconds <= TARGET_SECONDS)
            for format_, timing in results.items()]
