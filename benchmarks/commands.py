"""The everyday commands beside their floors: `visit show`, `patient list`, `due` on SQLite
and PostgreSQL, the PostgreSQL floor (benchmarks/pg_floor.py), and the summary query run by
psql (the PostgreSQL counterpart of the plain sqlite3 query). `python -m benchmarks` calls
these; each figure is taken side by side with its floor (`paired`)."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from benchmarks.generate import START
from benchmarks.pg_floor import libpq_url
from benchmarks.table import Row, ratio_row

PG_FLOOR_SCRIPT = Path(__file__).with_name("pg_floor.py")

# Visits on the generator's first three days: a handful at 10k points, a few hundred at 1M
# (the list is as long as what is due; its query reads the date index, not every visit).
DUE_WINDOW_DAYS = 3


def pg_floor(url: str) -> list[str]:
    """The framework floor plus psycopg, one connection and `SELECT 1`, as a process."""
    return [sys.executable, str(PG_FLOOR_SCRIPT), url]


def due_days(today: dt.date | None = None) -> int:
    """--days that reaches back to the generator's first days only, whatever today is."""
    return ((today or dt.date.today()) - START).days - DUE_WINDOW_DAYS


def everyday(tplog: Callable[..., list[str]], db_args: list[str]) -> dict[str, list[str]]:
    """The commands to time, by the name the table shows. Visit 1 and patient P000001 exist
    at every size; `patient list` searches one MRN (a full list grows with the clinic)."""
    return {
        "visit show": tplog(*db_args, "visit", "show", "1"),
        "patient list": tplog(*db_args, "patient", "list", "--search", "P000001"),
        "due": tplog(*db_args, "due", "--days", str(due_days())),
    }


def floor_for(url: str | None, framework: list[str]) -> tuple[str, list[str]]:
    """(name, command) of the floor for a database: the framework floor on SQLite, the
    PostgreSQL floor (driver and connection included) on a server."""
    return ("framework", framework) if url is None else ("PostgreSQL floor", pg_floor(url))


def measure(paired, tplog, db_args: list[str], floor: list[str],  # type: ignore[no-untyped-def]
            runs: int, url: str | None, summary_sql: str) -> dict[str, object]:
    """The everyday commands against `floor`; on PostgreSQL, the summary query as psql runs
    it too."""
    results: dict[str, object] = {}
    for name, command in everyday(tplog, db_args).items():
        results[name] = paired(command, floor, runs)
    if url is not None:
        results["psql summary"] = psql_seconds(url, summary_sql, runs)
    return results


def psql_seconds(url: str, sql: str, runs: int) -> float:
    """The query's own time as psql reports it (\\timing), median of `runs`: what any tool
    would pay on the server, without Python start-up."""
    seconds = []
    for _ in range(runs):
        done = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq_url(url),
             "-c", "\\timing on", "-c", sql],
            capture_output=True, text=True, check=True)
        found = re.findall(r"^Time: ([\d.]+) ms", done.stdout, re.MULTILINE)
        seconds.append(float(found[-1]) / 1000)
    return statistics.median(seconds)


def report(size: str, results: Mapping[str, object], floor_name: str) -> list[Row]:
    """Table rows for the everyday commands."""
    rows = []
    for name in ("visit show", "patient list", "due"):
        timing = results.get(name)
        if timing is not None:
            rows.append(ratio_row(f"{size}: `tplog {name}`", timing.seconds,  # type: ignore[attr-defined]
                                  floor_name, timing.floor, 1.2))  # type: ignore[attr-defined]
    return rows
