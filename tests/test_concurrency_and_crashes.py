"""Several writers at once, and writers killed mid-write: no record lost, none half-written,
no "database is locked"."""

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from tests.conftest import new_clinic
from tests.forking import Forked, piped
from tplog import db
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
    # --yes: the same sites every time on one day, as a duplicate would be; confirmed here.
    result = runner.invoke(app, ["--db", database, "log", mrn, "--yes", "--condition",
                                 "myofascial-pain", "--note", f"visit {n}", *points])
    if result.exit_code != 0:
        print(f"FAILED {n}: {result.exit_code} {result.stderr.strip()}", flush=True)
    else:
        print(f"logged {n}", flush=True)  # the signal a test waits for, never a guessed time
"""


def run(database, *args):
    return CliRunner().invoke(app, ["--db", str(database), *args])


def start(database: Path | str, mrn: str, count: int, folder: Path) -> Forked:
    # A process of its own (killed, it is gone mid-write), forked from one that imported
    # tplog once: a new interpreter for each of this file's 30-odd workers cost more CPU
    # than all the visits they log.
    return piped([str(database), mrn, str(count)], folder, code=WORKER)


def every_visit_is_whole(database: Path | str) -> int:
    visits = 0
    for patient in json.loads(run(database, "patient", "list", "--json").stdout):
        history = json.loads(run(database, "history", patient["mrn"], "--json").stdout)
        for visit in history["visits"]:
            assert len(visit["points"]) == 5, visit
            # myofascial-pain is coded by the injected regions, in the order injected.
            assert [c["key"] for c in visit["conditions"]] == [
                "myofascial-pain-head-neck", "myofascial-pain-other-site",
                "myofascial-pain-mastication"], visit
            visits += 1
    return visits


def test_four_processes_logging_at_once_lose_nothing(clinic, tmp_path):
    """On SQLite the writers queue on the file lock; on PostgreSQL on tplog's advisory lock."""
    database = clinic.url
    for n in range(4):
        assert run(database, "patient", "add", f"Patient {n}", "--dob", "1970-01-01").exit_code == 0
    workers = [start(database, f"P000{n + 1}", 25, tmp_path) for n in range(4)]
    reports = [worker.communicate(timeout=600) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), reports
    assert not any("FAILED" in out for out, _ in reports), reports
    assert all(out.count("logged") == 25 for out, _ in reports), reports
    assert not any("locked" in out + err for out, err in reports)
    assert every_visit_is_whole(database) == 100
    check = run(database, "db", "check")
    assert check.exit_code == 0, check.stdout


def test_a_writer_killed_at_random_moments_leaves_whole_visits_or_none(tmp_path):
    """Killed while it writes: the worker says when each visit is committed, and is killed
    after a chosen number of them, as its next visit is being written. Waiting for its word,
    not a guessed time, keeps this true on a loaded machine."""
    database = tmp_path / "clinic.db"
    assert run(database, "patient", "add", "Ada Lovelace", "--dob", "1970-01-01").exit_code == 0
    chance = random.Random(20261129)  # the same moments every run
    logged_before = 0
    for trial in range(20):
        worker = start(database, "P0001", 0, tmp_path)
        assert worker.stdout is not None
        for _ in range(chance.randint(1, 3)):
            line = worker.stdout.readline()  # blocks until the worker has committed a visit
            assert line.startswith("logged"), (trial, line, worker.stderr)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=60)
        check = run(database, "db", "check")
        assert check.exit_code == 0, (trial, check.stdout)
        logged = every_visit_is_whole(database)
        assert logged >= logged_before + 1
        logged_before = logged
    assert logged_before >= 20  # every trial got visits in before being killed


def test_postgresql_writers_wait_only_for_writers_of_their_own_clinic(tmp_path):
    """The audit chain is a schema's own, and so is its write lock: a clinic in another schema
    of the same database writes on while this one's writer waits its turn."""
    with (new_clinic("postgresql", tmp_path, "one", current=True) as one,
          new_clinic("postgresql", tmp_path, "two", current=True) as two):
        for clinic in (one, two):
            clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
        holder = create_engine(one.url, poolclass=NullPool)
        try:
            with holder.connect() as connection, connection.begin() as held:
                connection.execute(text(db.PG_WRITE_LOCK_SQL), {"key": db.PG_WRITE_LOCK})
                lock = connection.execute(text(
                    "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid()")).one()
                other = start(two.url, "P0001", 1, tmp_path)
                out, err = other.communicate(timeout=300)  # a hang here is the failure
                assert out.strip() == "logged 1", (out, err)
                waiting = start(one.url, "P0001", 1, tmp_path)
                while not connection.execute(text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND classid = :classid AND objid = :objid"),
                        {"classid": lock.classid, "objid": lock.objid}).scalar():
                    assert waiting.poll() is None, waiting.communicate()  # it must wait
                    time.sleep(0.05)  # between looks; the loop ends on what it sees
                assert waiting.poll() is None
                assert one.count("visit") == 0
                held.rollback()
            out, err = waiting.communicate(timeout=300)
            assert out.strip() == "logged 1", (out, err)
        finally:
            holder.dispose()
        assert (one.count("visit"), two.count("visit")) == (1, 1)
        for clinic in (one, two):
            assert clinic.run("audit", "verify").exit_code == 0


def test_ctrl_c_while_the_commit_is_awaited_waits_for_it_and_says_what_was_saved(tmp_path):
    """A Ctrl-C that lands while tplog waits for the database to commit does not cut the
    commit short, so tplog never says "nothing was saved" of records that may be saved: the
    patient is added and the command ends as it would have. Here the commit is held by a
    trigger deferred to COMMIT that waits for a lock this test holds, the signal is sent
    while tplog waits there, and only then is the lock let go."""
    with new_clinic("postgresql", tmp_path, current=True) as clinic:
        key = random.randrange(1, 2**62)
        clinic.sql_script([
            "CREATE FUNCTION held_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_advisory_xact_lock({key}); RETURN NULL; END $$",
            "CREATE CONSTRAINT TRIGGER held_at_commit AFTER INSERT ON patient "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION held_at_commit()"])
        holder = create_engine(clinic.url, poolclass=NullPool)
        try:
            with holder.connect() as connection:
                connection.execute(text(f"SELECT pg_advisory_lock({key})"))
                connection.commit()
                adding = piped(["--db", clinic.url, "patient", "add", "Ada Lovelace",
                                "--dob", "1970-01-01"], tmp_path)
                # bigint keys are held as two halves: the lower one is objid.
                waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                               "AND NOT granted AND objid = :low")
                while not connection.execute(waiting, {"low": key & 0xFFFFFFFF}).scalar():
                    assert adding.poll() is None, adding.communicate()  # it must wait
                    connection.commit()
                    time.sleep(0.05)  # between looks; the loop ends on what it sees
                adding.send_signal(signal.SIGINT)
                connection.execute(text(f"SELECT pg_advisory_unlock({key})"))
                connection.commit()
            out, err = adding.communicate(timeout=300)
        finally:
            holder.dispose()
        assert adding.returncode == 0, (adding.returncode, out, err)
        assert out.strip() == "P0001" and "Interrupted" not in err, (out, err)
        assert clinic.sql("SELECT mrn, name FROM patient") == [("P0001", "Ada Lovelace")]
        assert clinic.run("audit", "verify").exit_code == 0


def test_an_interrupt_in_the_middle_of_a_copy_rolls_back_and_is_the_error_raised(tmp_path,
                                                                                   caplog):
    """A Ctrl-C that lands while the import's bulk write has a COPY begun (its start or its
    end, a few milliseconds each) leaves the connection in the middle of a command, which
    can take no ROLLBACK: the command's transaction closes it instead, so the interrupt is
    what the command sees (exit 130, "nothing was saved") rather than a failed rollback
    (exit 3, and SQLAlchemy's tracebacks on stderr), and nothing is written."""
    with new_clinic("postgresql", tmp_path, current=True) as clinic:
        clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
        before = clinic.counts()
        location = db.locate(clinic.url)
        engine = db.make_engine(location)
        try:
            with pytest.raises(KeyboardInterrupt), \
                    db.session_scope(engine, location, write=True) as session:
                session.execute(text(
                    "INSERT INTO patient (mrn, name, created_at, created_by) "
                    "VALUES ('P0002', 'Grace Hopper', now(), 'test')"))
                driver = session.connection().connection.driver_connection
                # Begun on the wire, as a batch's COPY is, and not ended: where psycopg was
                # when the signal landed.
                driver.pgconn.send_query(
                    b"COPY visit_condition (revision_id, condition, position) FROM STDIN")
                raise KeyboardInterrupt
        finally:
            engine.dispose()
        assert clinic.counts() == before
        assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
        assert "holds" in clinic.ok("audit", "verify").stdout
