"""Scale without timing: the per-patient paths use indexes (no full scan of the points table),
and an export streams (its memory does not grow with the number of rows)."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import event, text

from benchmarks.generate import generate
from tests.conftest import new_clinic
from tplog import db
from tplog.db import schema
from tplog.services import patients, visit_views


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def sizable(request, tmp_path_factory):
    # Made once for this file's tests, which only read it (their sessions do not write).
    folder = tmp_path_factory.mktemp("sizable")
    with new_clinic(request.param, folder, "sizable") as clinic:
        generate(clinic.url, 20_000)
        yield clinic


def _statements(clinic, work):  # type: ignore[no-untyped-def]
    """Run `work(session)` and return every statement it sent, with its parameters."""
    where = db.locate(clinic.url)
    engine = schema.open_database(where)
    sent = []

    @event.listens_for(engine, "before_cursor_execute")
    def remember(connection, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        sent.append((statement, parameters))

    with db.session_scope(engine, where, write=False) as session:
        work(session)
    return engine, sent


def _plans(engine, sent, dialect):  # type: ignore[no-untyped-def]
    plans = []
    with engine.connect() as connection:
        for statement, parameters in sent:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            plans.append((statement, "\n".join(str(row[-1]) for row in rows)))
    return plans


def test_a_patients_history_reads_through_indexes(sizable):
    def history(session):  # what `tplog history` runs
        visit_views.history(session, patients.find_patient(session, "P000007"))
        patients.show_patient(session, "P000007")

    engine, sent = _statements(sizable, history)
    plans = _plans(engine, sent, sizable.backend)
    engine.dispose()
    _assert_indexed(plans, sizable.backend)


def _assert_indexed(plans, backend):  # type: ignore[no-untyped-def]
    """No plan reads a whole table of points, visits or revisions."""
    assert plans
    for statement, plan in plans:
        if backend == "sqlite":
            for table in ("injected_point", "visit", "visit_revision"):
                assert f"SCAN {table} " not in plan + " " and f"SCAN {table}\n" not in \
                    plan + "\n", (statement, plan)
        else:
            assert "Seq Scan on injected_point" not in plan, (statement, plan)
            assert "Seq Scan on visit " not in plan + " ", (statement, plan)
            assert "Seq Scan on visit_revision" not in plan, (statement, plan)


def test_the_checks_before_logging_a_visit_read_through_indexes(sizable):
    """What `tplog log` asks before it saves: the day's other visits (the daily dose and the
    same visit logged twice), steroid over 12 months, reinjection, sessions a year, repeats,
    the screen. On a day the patient already has a visit, so every check finds something."""
    from sqlalchemy import select

    from tplog import config
    from tplog import points as point_specs
    from tplog.models import Visit, VisitRevision
    from tplog.services import safety

    def log_checks(session):  # type: ignore[no-untyped-def]
        patient = patients.find_patient(session, "P000007")
        day = session.scalar(select(VisitRevision.visit_date).join(Visit)
                             .where(Visit.patient_id == patient.id).limit(1))
        points = point_specs.parse_specs(["upper-trapezius:L pre=7 post=3",
                                          "rhomboids:R pre=5 post=2"],
                                         default_drug="lidocaine-1", default_volume_ml=1.0)
        findings = safety.assess(session, patient=patient, visit_date=day, points=points,
                                 settings=config.load())
        safety.screen(session, patient=patient, points=points, pregnant=None)
        assert findings  # the dose for the day at least: the checks ran against data

    engine, sent = _statements(sizable, log_checks)
    # The test's own look-up of a visit date is not one of log's checks.
    sent = [(statement, parameters) for statement, parameters in sent
            if "LIMIT" not in statement.upper()]
    plans = _plans(engine, sent, sizable.backend)
    engine.dispose()
    _assert_indexed(plans, sizable.backend)


def _peak_export_mib(database: str, folder) -> float:
    process = subprocess.Popen([sys.executable, "-m", "tplog", "--db", database, "export",
                                "--all", "--format", "csv", "-o", str(folder / "out.csv")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=folder)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read()
    return usage.ru_maxrss / 1024


def test_an_export_streams_in_flat_memory(tmp_path):
    small, large = tmp_path / "small.db", tmp_path / "large.db"
    generate(str(small), 10_000)
    generate(str(large), 100_000)
    small_peak = _peak_export_mib(str(small), tmp_path)
    large_peak = _peak_export_mib(str(large), tmp_path)
    with open(tmp_path / "out.csv", encoding="utf-8") as exported:
        lines = sum(1 for _ in exported)
    assert lines == 100_001
    # Ten times the rows, not ten times the memory: 90,000 more points held as objects would
    # add well over 50 MiB.
    assert large_peak - small_peak < 20, (small_peak, large_peak)


def test_generated_data_is_deterministic(tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    generate(str(first), 3_000)
    generate(str(second), 3_000)
    query = text("SELECT muscle, side, pain_before, pain_after, drug FROM injected_point "
                 "ORDER BY id")
    rows = []
    for path in (first, second):
        engine = db.make_engine(db.locate(str(path)))
        with engine.connect() as connection:
            rows.append(connection.execute(query).all())
        engine.dispose()
    assert rows[0] == rows[1] and len(rows[0]) == 3_000
