"""Several writers at once, and writers killed mid-write: no record lost, none half-written,
no "database is locked"."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from tplog.cli import app

# A worker process: logs visits of five points through the real CLI, one command (one
# transaction) per visit, and reports any command that failed.
WORKER = """
import sys
from typer.testing import CliRunner
from tplog.cli import app

database, mrn, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
runner = CliRunner()
points = [arg for spec in ("upper-trapezius:L pre=7 post=3 twitch=yes", "deltoid:R pre=5 post=2",
                           "rhomboids:L pre=6", "masseter:R pre=4 post=4",
                           "gluteus-medius:L pre=8 post=2 soreness=mild")
          for arg in ("--point", spec)]
n = 0
while count == 0 or n < count:
    n += 1
    result = runner.invoke(app, ["--db", database, "log", mrn, "--condition",
                                 "myofascial-pain", "--note", f"visit {n}", *points])
    if result.exit_code != 0:
        print(f"FAILED {n}: {result.exit_code} {result.stderr.strip()}", flush=True)
"""


def run(database, *args):
    return CliRunner().invoke(app, ["--db", str(database), *args])


def start(database: Path | str, mrn: str, count: int, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(database), mrn, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=folder)


def every_visit_is_whole(database: Path | str) -> int:
    visits = 0
    for patient in json.loads(run(database, "patient", "list", "--json").stdout):
        history = json.loads(run(database, "history", patient["mrn"], "--json").stdout)
        for visit in history["visits"]:
            assert len(visit["points"]) == 5, visit
            assert [c["key"] for c in visit["conditions"]] == ["myofascial-pain"], visit
            visits += 1
    return visits


def test_four_processes_logging_at_once_lose_nothing(clinic, tmp_path):
    """On SQLite the writers queue on the file lock; on PostgreSQL on tplog's advisory lock."""
    database = clinic.url
    for n in range(4):
        assert run(database, "patient", "add", f"Patient {n}").exit_code == 0
    workers = [start(database, f"P000{n + 1}", 25, tmp_path) for n in range(4)]
    reports = [worker.communicate(timeout=600) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), reports
    assert not any("FAILED" in out for out, _ in reports), reports
    assert not any("locked" in out + err for out, err in reports)
    assert every_visit_is_whole(database) == 100
    check = run(database, "db", "check")
    assert check.exit_code == 0, check.stdout


def test_a_writer_killed_at_random_moments_leaves_whole_visits_or_none(tmp_path):
    database = tmp_path / "clinic.db"
    assert run(database, "patient", "add", "Ada Lovelace").exit_code == 0
    chance = random.Random(20261129)  # the same moments every run
    logged_before = 0
    for trial in range(20):
        worker = start(database, "P0001", 0, tmp_path)
        time.sleep(chance.uniform(0.4, 1.4))  # start-up takes ~0.3 s; then it is writing
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        check = run(database, "db", "check")
        assert check.exit_code == 0, (trial, check.stdout)
        logged = every_visit_is_whole(database)
        assert logged >= logged_before
        logged_before = logged
    assert logged_before > 20  # the worker did get visits in before being killed
