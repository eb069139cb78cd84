"""tplog demo: a throwaway database of fictional patients, logged through the real services."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from tplog.cli.app import actor, note, stdout_console

# Fictional patients and visits: (days ago, conditions, points). Names are invented.
DEMO_PATIENTS = (
    ("Alex Example", dt.date(1971, 4, 2), "female", 64.0),
    ("Sam Sample", dt.date(1985, 9, 17), "male", 82.5),
    ("Jordan Placeholder", dt.date(1958, 1, 30), "other", None),
)
DEMO_VISITS = (
    (0, 70, ["myofascial-pain", "tension-headache"], [
        "upper-trapezius:L pre=7 post=3 twitch=yes soreness=mild numbness=no",
        "upper-trapezius:R pre=6 post=2 twitch=yes soreness=mild numbness=no",
        "levator-scapulae:L pre=5 post=4 twitch=no",
    ]),
    (0, 42, ["myofascial-pain", "tension-headache"], [
        "upper-trapezius:L pre=5 post=2 twitch=yes soreness=none numbness=no",
        "suboccipitals:L pre=6 post=3 twitch=yes",
        "splenius-capitis:R pre=4",
    ]),
    (0, 14, ["myofascial-pain"], [
        "upper-trapezius:L pre=3 post=1 twitch=no soreness=none numbness=no",
        "rhomboids:L pre=4 post=2 twitch=yes soreness=mild",
    ]),
    (1, 30, ["low-back-pain"], [
        "quadratus-lumborum:R pre=8 post=5 twitch=yes soreness=moderate numbness=no",
        # A mixture: lidocaine with a steroid, each with its mL.
        "gluteus-medius:R pre=6 post=3 twitch=yes drug=lidocaine-1:2+triamcinolone-40:1",
        "piriformis:R pre=7 post=7 twitch=no numbness=yes",
    ]),
    (1, 3, ["low-back-pain"], [
        "quadratus-lumborum:R pre=6 post=2 twitch=yes soreness=mild numbness=no",
        "gluteus-medius:R pre=4 post=1",
    ]),
    (2, 7, ["whiplash", "neck-pain"], [
        "sternocleidomastoid:L pre=6 post=4 twitch=no drug=bupivacaine-0.25 ml=1",
        "anterior-scalene:L pre=7 post=3 twitch=yes drug=bupivacaine-0.25 ml=0.5",
        "upper-trapezius:L pre=8 post=3 twitch=yes soreness=severe",
    ]),
)

# Fictional practitioners as records: (name, credentials, NPI). 1234567893 is the CMS
# check-digit example (valid by its Luhn digit, reference "Practitioner identity"), no one's.
DEMO_PRACTITIONERS = (("Dr Demo", "MD, FAAPMR", "1234567893"), ("Dr Sample", "DO", None))
# Who logged each patient's visits.
DEMO_PRACTITIONER_OF = {0: "Dr Demo", 1: "Dr Sample", 2: "Dr Demo"}
# PEG (pain, enjoyment, activity; 0-10 each) asked at some visits: visit number -> items.
DEMO_PEG = {1: (7, 6, 6), 2: (5, 4, 5), 4: (7, 7, 8)}
# Pain reported after some visits: visit id -> (days after, pain 0-10, PEG or None, PGIC or
# None; PGIC 1-7, tplog.vocab.PGIC).
DEMO_FOLLOW_UPS = {1: ((7, 3, (3, 3, 4), 2), (21, 5, None, None)),
                   2: ((14, 3, (3, 2, 3), 1),), 4: ((10, 4, (4, 5, 5), 3),)}
# The pre-procedure screen: an allergy (patient index, substance, reaction). Sam's visits
# use lidocaine, so it is shown, not asked about; `tplog log` with bupivacaine would ask.
DEMO_ALLERGIES = ((1, "bupivacaine", "hives"),)
# Adverse events after a visit: visit id -> (kind, severity, outcome, note).
DEMO_EVENTS = {1: ("vasovagal", "mild", "resolved",
                   "felt faint after the last point; lay flat, recovered in 10 minutes")}


def demo() -> None:
    """Build a throwaway database of fictional patients and show what tplog does."""
    from tplog import config, db, render, report_tables
    from tplog import points as point_specs
    from tplog.db import schema
    from tplog.parse import EventOutcome, GroupBy, Severity
    from tplog.services import (
        patients,
        practitioners,
        safety,
        screening,
        summary,
        visit_views,
        visits,
    )

    folder = Path(tempfile.mkdtemp(prefix="tplog-demo-"))
    where = db.locate(str(folder / "demo.db"))
    engine = schema.open_database(where)
    today = dt.date.today()
    try:
        with db.session_scope(engine, where, write=True) as s:
            for name, credentials, npi in DEMO_PRACTITIONERS:
                practitioners.add(s, name=name, credentials=credentials, npi=npi,
                                  actor=actor("Dr Demo"))
            added = [patients.add_patient(s, name=name, mrn=None, date_of_birth=born, sex=sex,
                                          weight_kg=None, actor=actor("Dr Demo"))
                     for name, born, sex, _ in DEMO_PATIENTS]
            for patient, (*_, kg) in zip(added, DEMO_PATIENTS, strict=True):
                if kg is not None:  # weighed before the first demo visit
                    patients.record_weight(s, patient, weight_kg=kg,
                                           measured_on=today - dt.timedelta(days=90),
                                           actor=actor("Dr Demo"))
            for index, substance, reaction in DEMO_ALLERGIES:
                screening.record_allergy(s, added[index], substance=substance,
                                         reaction=reaction, since=None, actor=actor("Dr Demo"))
        settings = config.Settings(path=folder / "no-config.toml")  # defaults, not yours
        # A new database: the demo's visits get ids 1, 2, ... in this order.
        for number, (who, days_ago, conditions, specs) in enumerate(DEMO_VISITS, start=1):
            points = point_specs.parse_specs(specs, default_drug="lidocaine-1",
                                             default_volume_ml=1)
            visit_date = today - dt.timedelta(days_ago)
            with db.session_scope(engine, where, write=True) as s:
                patient = s.merge(added[who])
                findings = safety.assess(s, patient=patient, visit_date=visit_date,
                                         points=points, settings=settings)
                conditions = visits.resolve_conditions(s, patient.id, conditions, points=points,
                                                       encounter=None, day=visit_date)
                doctor = DEMO_PRACTITIONER_OF[who]
                logged = visits.log_visit(
                    s, patient=patient, visit_date=visit_date, practitioner=doctor,
                    conditions=conditions, note=None, points=points, actor=actor(doctor),
                    warnings=[(f.kind, f.message) for f in findings],
                    peg=DEMO_PEG.get(number))
                if logged.id in DEMO_EVENTS:
                    kind, severity, outcome, what = DEMO_EVENTS[logged.id]
                    screening.record_adverse_event(
                        s, logged.id, kind=kind, severity=Severity(severity),
                        occurred_on=visit_date, outcome=EventOutcome(outcome), note=what,
                        actor=actor(doctor))
                for days_later, pain, peg, pgic in DEMO_FOLLOW_UPS.get(logged.id, ()):
                    visits.record_follow_up(s, logged.id, pain=pain,
                                            reported_on=visit_date + dt.timedelta(days_later),
                                            note="phone call", actor=actor(doctor), peg=peg,
                                            pgic=pgic)
        with db.session_scope(engine, where, write=False) as s:
            first = s.merge(added[0])
            shown = patients.show_patient(s, first.mrn)
            found = visit_views.history(s, first)
            rows = summary.summarise(s, by=GroupBy.MUSCLE)
            measures = summary.outcome_measures(s)
            events = summary.adverse_event_rates(s)
    finally:
        engine.dispose()

    console = stdout_console()
    console.print(render.history(found, shown))
    console.print(report_tables.summary_tables(rows, "muscle"))
    console.print(report_tables.outcome_measures(measures))
    console.print(report_tables.adverse_events_table(events))
    note(f"\nDemo database (fictional patients, not your records): {where.path}")
    note("Next, try:")
    for command in ("patient list", f"history {shown.mrn} --muscle upper-trapezius",
                    "summary --by region",
                    "log P0002 --point 'gluteus-medius:R pre=5 post=2 twitch=yes' "
                    "--drug lidocaine-1 --ml 1",
                    "visit show 1 --json", "practitioner list", "due", "patient show P0002"):
        note(f"  tplog --db {where.path} {command}")
    note("Your own records go to `tplog db path` unless you give --db or TPLOG_DB.")
