"""Deterministic synthetic clinics of a chosen size, written in bulk with SQLAlchemy Core.

Fictional patients; realistic shapes: about five points a visit, ten visits a patient over a
decade, the commonly injected muscles far more often than the rare ones, pain before 3-9 and
mostly lower after, some findings not recorded; each patient weighed when first seen and a
third of them again years later (dated weights, which the dose check and the export read).
The same size and seed give the same data.
The audit trail is not generated: benchmarks measure the clinical read and write paths.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from sqlalchemy import Engine, insert, text

from tplog import db, vocab
from tplog.db import schema
from tplog.models import (
    InjectedPoint,
    Patient,
    PatientWeight,
    Visit,
    VisitCondition,
    VisitRevision,
)

POINTS_PER_VISIT = 5
VISITS_PER_PATIENT = 10
BATCH = 20_000

# Common sites first: most trigger point work is neck, shoulder girdle and low back.
COMMON = ("upper-trapezius", "levator-scapulae", "rhomboids", "infraspinatus",
          "quadratus-lumborum", "gluteus-medius", "sternocleidomastoid", "splenius-capitis",
          "suboccipitals", "middle-trapezius", "piriformis", "erector-spinae")
MUSCLE_WEIGHTS = [(m.key, 12.0 if m.key in COMMON else 1.0) for m in vocab.MUSCLES]
DRUGS = (("lidocaine-1", 55), ("lidocaine-0.5", 10), ("bupivacaine-0.25", 15), ("saline", 8),
         ("dry-needling", 5), (None, 7))
CONDITIONS = ("myofascial-pain", "fibromyalgia", "tension-headache", "neck-pain",
              "low-back-pain", "whiplash", "migraine")
START = dt.date(2016, 1, 4)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _choice(chance: random.Random, weighted):  # type: ignore[no-untyped-def]
    values, weights = zip(*weighted, strict=True)
    return chance.choices(values, weights)[0]


def _rows(points: int, seed: int) -> Iterator[tuple[str, dict[str, object]]]:
    chance = random.Random(seed)
    visits = max(1, points // POINTS_PER_VISIT)
    patients = max(1, visits // VISITS_PER_PATIENT)
    for number in range(1, patients + 1):
        yield "patient", {
            "id": number, "mrn": f"P{number:06d}", "name": f"Synthetic Patient {number}",
            "date_of_birth": dt.date(1940, 1, 1) + dt.timedelta(days=chance.randrange(20000)),
            "sex": chance.choice(("female", "male", "female", "other")),
            "weight_kg": round(chance.uniform(45, 110), 1), "created_at": NOW,
            "created_by": "benchmark"}
    weights = 0
    for number in range(1, patients + 1):
        kg = round(chance.uniform(45, 110), 1)
        for measured_on in (START, START + dt.timedelta(days=chance.randrange(1000, 3000)))[
                :1 + (number % 3 == 0)]:
            weights += 1
            yield "patient_weight", {"id": weights, "patient_id": number,
                                     "measured_on": measured_on, "weight_kg": kg,
                                     "created_at": NOW, "created_by": "benchmark"}
            kg = round(kg + chance.uniform(-5, 5), 1)
    written = 0
    for visit_id in range(1, visits + 1):
        patient_id = 1 + (visit_id - 1) % patients
        visit_date = START + dt.timedelta(days=chance.randrange(3650))
        yield "visit", {"id": visit_id, "patient_id": patient_id, "created_at": NOW,
                        "created_by": "benchmark"}
        yield "visit_revision", {
            "id": visit_id, "visit_id": visit_id, "number": 1, "visit_date": visit_date,
            "practitioner": f"Dr Bench {1 + visit_id % 4}", "note": None, "reason": None,
            "created_at": NOW, "created_by": "benchmark"}
        for condition in sorted(set(chance.sample(CONDITIONS, chance.choice((1, 1, 2))))):
            yield "visit_condition", {"revision_id": visit_id, "condition": condition}
        # 3 to 7 points, five on average, so that the total comes out at `points` exactly.
        count = points - written if visit_id == visits else (5, 4, 6, 3, 7)[visit_id % 5]
        count = max(1, min(count, points - written - (visits - visit_id)))
        drug = _choice(chance, DRUGS)
        for position in range(1, count + 1):
            before = chance.randint(3, 9)
            after = None if chance.random() < 0.1 else max(0, before - chance.randint(0, 5))
            yield "injected_point", {
                "revision_id": visit_id, "position": position,
                "muscle": _choice(chance, MUSCLE_WEIGHTS), "side": chance.choice("LR"),
                "twitch_response": _choice(chance, ((True, 6), (False, 3), (None, 1))),
                "pain_before": before, "pain_after": after,
                "soreness": _choice(chance, (("none", 3), ("mild", 4), ("moderate", 1),
                                             (None, 2))),
                "numbness": _choice(chance, ((False, 6), (True, 1), (None, 3))),
                "drug": drug,
                "volume_ml": None if drug in (None, "dry-needling")
                else round(chance.choice((0.5, 1.0, 1.0, 1.5, 2.0)), 2)}
        written += count


TABLES = {"patient": Patient, "patient_weight": PatientWeight, "visit": Visit,
          "visit_revision": VisitRevision, "visit_condition": VisitCondition,
          "injected_point": InjectedPoint}


def generate(target: str, points: int, seed: int = 20261129) -> db.Location:
    """A new database at `target` (file or URL) holding exactly `points` injected points."""
    where = db.locate(target)
    schema.open_database(where).dispose()  # the schema, through tplog's own migrations
    engine: Engine = db.make_engine(where, foreign_keys=False)
    pending: dict[str, list[dict[str, object]]] = {name: [] for name in TABLES}
    with engine.begin() as connection:
        for table, row in _rows(points, seed):
            pending[table].append(row)
            if len(pending[table]) >= BATCH:
                _flush(connection, pending)
        _flush(connection, pending)
        if engine.dialect.name == "postgresql":
            for table in ("patient", "patient_weight", "visit", "visit_revision",
                          "injected_point"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"))
        connection.execute(text("ANALYZE"))
    engine.dispose()
    return where


def _flush(connection, pending: dict[str, list[dict[str, object]]]) -> None:  # type: ignore[no-untyped-def]
    # Parents before children, so foreign keys hold at every step.
    for name, model in TABLES.items():
        if pending[name]:
            connection.execute(insert(model.__table__), pending[name])
            pending[name].clear()
