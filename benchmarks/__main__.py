"""Time tplog's commands as whole processes (the user's view, start-up included) against the
floors measured in the same run, and print each figure as a ratio to its floor.

    python -m benchmarks                       # SQLite at 10k, 100k and 1M points
    python -m benchmarks --sizes 10000 --runs 5 --postgres postgresql+psycopg://...

Floors: `python -c pass`; `python -c "import typer"`; the framework floor
`python -c "import typer, rich.table, sqlalchemy.orm"`; and the history and summary queries
run through plain sqlite3 from Python. On PostgreSQL: benchmarks/pg_floor.py (the framework,
psycopg, one connection and SELECT 1) and the summary query run by psql (benchmarks/commands.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import commands, exports, imports
from benchmarks.generate import generate
from benchmarks.table import HEADER, Row, ms, rate_row, ratio_row

SPECS = ["upper-trapezius:L pre=7 post=3 twitch=yes", "upper-trapezius:R pre=6 post=2",
         "rhomboids:L pre=5 post=3", "levator-scapulae:R pre=6", "infraspinatus:L pre=4 post=1"]


@dataclass
class Timing:
    seconds: float  # median
    peak_mib: float  # largest resident set of the runs
    runs: int
    floor: float | None = None  # median of its floor, timed alternately with it


def _once(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """One run as a whole process: (seconds, peak resident MiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def run(command: list[str], runs: int, env: dict[str, str] | None = None,
        before_each=None) -> Timing:  # type: ignore[no-untyped-def]
    seconds, peaks = [], []
    for _ in range(runs):
        if before_each is not None:
            before_each()
        took, peak = _once(command, env)
        seconds.append(took)
        peaks.append(peak)
    return Timing(statistics.median(seconds), max(peaks), runs)


def paired(command: list[str], floor: list[str], runs: int,
           env: dict[str, str] | None = None) -> Timing:
    """The command and its floor run alternately, so that a machine that slows down or speeds
    up during the run (shared cores) moves both: the ratio is taken side by side."""
    mine, theirs, peaks = [], [], []
    for _ in range(runs):
        theirs.append(_once(floor)[0])
        took, peak = _once(command, env)
        mine.append(took)
        peaks.append(peak)
    return Timing(statistics.median(mine), max(peaks), runs, statistics.median(theirs))


def tplog(*args: str) -> list[str]:
    return [sys.executable, "-m", "tplog", *args]


IMPORT_TYPER = [sys.executable, "-c", "import typer"]
FRAMEWORK = [sys.executable, "-c", "import typer, rich.table, sqlalchemy.orm"]


HISTORY_SQL = """
SELECT r.visit_date, p.muscle, p.side, p.pain_before, p.pain_after
FROM visit v JOIN visit_revision r ON r.visit_id = v.id
JOIN injected_point p ON p.revision_id = r.id
WHERE v.patient_id = (SELECT id FROM patient WHERE mrn = ?)
  AND NOT EXISTS (SELECT 1 FROM visit_revision n WHERE n.visit_id = r.visit_id
                  AND n.number > r.number)
  AND NOT EXISTS (SELECT 1 FROM visit_void x WHERE x.visit_id = v.id)
ORDER BY r.visit_date DESC, p.position
"""
SUMMARY_SQL = """
SELECT p.muscle, count(DISTINCT v.id), count(p.id), avg(p.pain_before), avg(p.pain_after),
       avg(CASE WHEN p.pain_after IS NOT NULL AND p.pain_before > 0
                THEN (p.pain_before - p.pain_after) * 100.0 / p.pain_before END)
FROM injected_point p JOIN visit_revision r ON r.id = p.revision_id
JOIN visit v ON v.id = r.visit_id
WHERE NOT EXISTS (SELECT 1 FROM visit_revision n WHERE n.visit_id = r.visit_id
                  AND n.number > r.number)
  AND NOT EXISTS (SELECT 1 FROM visit_void x WHERE x.visit_id = v.id)
GROUP BY p.muscle
"""


def plain_sqlite(path: Path, sql: str, params: tuple[str, ...], runs: int) -> float:
    """The query alone, through sqlite3, in this process: what any tool would pay."""
    connection = sqlite3.connect(path)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        connection.execute(sql, params).fetchall()
        seconds.append(time.perf_counter() - started)
    connection.close()
    return statistics.median(seconds)


def measure(target: str, points: int, runs: int, work: Path,
            import_up_to: int) -> dict[str, Timing | float]:
    results: dict[str, Timing | float] = {}
    where = generate(target, points)
    db_args = ["--db", target]
    url = None if where.path is not None else target
    results["floor name"], floor = commands.floor_for(url, FRAMEWORK)  # type: ignore[assignment]
    results["log"] = paired(tplog(*db_args, "log", "P000002", "--date", "2025-06-01",
                                  "--practitioner", "Dr Bench", "--yes",
                                  *[a for spec in SPECS for a in ("--point", spec)]),
                            floor, runs)
    results["history"] = paired(tplog(*db_args, "history", "P000001"), floor, runs)
    results["summary"] = paired(tplog(*db_args, "summary", "--by", "muscle"), floor, runs)
    results.update(commands.measure(paired, tplog, db_args, floor, runs, url,  # type: ignore[arg-type]
                                    SUMMARY_SQL))
    if where.path is not None:
        results["plain history"] = plain_sqlite(where.path, HISTORY_SQL, ("P000001",), runs)
        results["plain summary"] = plain_sqlite(where.path, SUMMARY_SQL, (), runs)
    csv_file = work / f"export-{points}.csv"
    heavy_runs = max(1, min(runs, 5 if points <= 100_000 else 3))
    results["export"] = run(tplog(*db_args, "export", "--all", "--format", "csv", "-o",
                                  str(csv_file)), heavy_runs)
    if points <= import_up_to:  # into an empty database each time (benchmarks/imports.py)
        imported, fresh = imports.fresh_target(target, points, work, where.path is not None)
        results["import"] = run(tplog("--db", imported, "import", str(csv_file)),
                                1, before_each=fresh)
    return results


def _compile_tplog() -> None:
    """Time tplog as `pip install` leaves it, with its bytecode compiled. An editable install
    (or PYTHONDONTWRITEBYTECODE, set on some machines) would otherwise recompile every module
    on every run, which no installed copy does; the libraries' bytecode is already there."""
    import compileall

    import tplog

    compileall.compile_dir(Path(tplog.__file__).parent, quiet=1)


def floors(runs: int) -> dict[str, Timing]:
    python = sys.executable
    return {
        "python -c pass": run([python, "-c", "pass"], runs),
        "import typer": run(IMPORT_TYPER, runs),
        "framework": run(FRAMEWORK, runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="injected points per database, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    parser.add_argument("--import-up-to", type=int, default=100_000, metavar="POINTS",
                        help="time `tplog import` only up to this size (it is slow)")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    _compile_tplog()
    work = Path(tempfile.mkdtemp(prefix="tplog-bench-"))
    env = {"XDG_DATA_HOME": str(work / "data"), "XDG_CONFIG_HOME": str(work / "config")}
    os.environ.update(env)
    try:
        base = floors(options.runs)
        startup = {
            "tplog --help": paired(tplog("--help"), IMPORT_TYPER, options.runs),
            "tplog --version": paired(tplog("--version"), IMPORT_TYPER, options.runs),
            "completion of command names": paired(
                tplog(), IMPORT_TYPER, options.runs,
                env={"_TPLOG_COMPLETE": "complete_bash", "COMP_WORDS": "tplog hi",
                     "COMP_CWORD": "1"}),
        }
        rows = report_header(base, startup)
        backends = [("SQLite", None)] + ([("PostgreSQL", options.postgres)]
                                         if options.postgres else [])
        for backend, url in backends:
            for points in sizes:
                target = (str(work / f"clinic-{points}.db") if url is None
                          else _pg_schema(url, points))
                print(f"… {backend}, {points:,} points", file=sys.stderr, flush=True)
                results = measure(target, points, options.runs, work, options.import_up_to)
                rows += report_size(backend, points, results)
        print("… the printed summaries", file=sys.stderr, flush=True)
        rows += exports.report(exports.printed(work, options.runs, run, tplog))
        text = "\n".join([machine(), "", *HEADER, *(row.line() for row in rows)]) + "\n"
        print(text)
        if options.output:
            options.output.write_text(text)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pg_schema(url: str, points: int) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"tplog_bench_{points}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}) \
        .render_as_string(hide_password=False)


def machine() -> str:
    return (f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {platform.system()} {platform.release()}")


def report_header(base: dict[str, Timing], startup: dict[str, Timing]) -> list[Row]:
    rows = [Row(f"floor: {name}", ms(timing.seconds)) for name, timing in base.items()]
    for name, timing in startup.items():
        assert timing.floor is not None
        rows.append(ratio_row(name, timing.seconds, "import typer", timing.floor, 1.3))
    return rows


def report_size(backend: str, points: int, results: dict[str, Timing | float]) -> list[Row]:
    size = f"{backend}, {points:,} points"
    rows = []
    floor_name = str(results["floor name"])
    for name in ("log", "history"):
        timing = results[name]
        assert isinstance(timing, Timing) and timing.floor is not None
        rows.append(ratio_row(f"{size}: `tplog {name}`", timing.seconds, floor_name,
                              timing.floor, 1.2))
    summary = results["summary"]
    assert isinstance(summary, Timing) and summary.floor is not None
    plain = results.get("plain summary", results.get("psql summary"))
    assert isinstance(plain, float)
    how = "sqlite3" if "plain summary" in results else "psql"
    allowed = summary.floor + 1.5 * plain
    rows.append(Row(f"{size}: `tplog summary --by muscle`", ms(summary.seconds),
                    f"{floor_name} ({ms(summary.floor)}) + 1.5 × {how} query ({ms(plain)})",
                    f"{summary.seconds / allowed:.2f} × ({ms(allowed)})", "≤ 1.0 ×",
                    summary.seconds <= allowed))
    rows += commands.report(size, results, floor_name)
    if isinstance(results.get("plain history"), float):
        rows.append(Row(f"{size}: plain sqlite3 history query",
                        ms(results["plain history"])))  # type: ignore[arg-type]
    export = results["export"]
    assert isinstance(export, Timing)
    rows.append(rate_row(f"{size}: `tplog export` csv ({export.runs} run(s))", export.seconds,
                         points, export.peak_mib, 100_000, 150))
    imported = results.get("import")
    if isinstance(imported, Timing):
        least = imports.LEAST_POINTS_PER_SECOND[backend]
        rows.append(rate_row(f"{size}: `tplog import` csv ({imported.runs} run(s))",
                             imported.seconds, points, imported.peak_mib, least, 200))
    return rows


if __name__ == "__main__":
    main()
