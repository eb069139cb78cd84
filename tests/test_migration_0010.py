"""Revision 0010 (procedure details, point signs, ranges of motion) on a database that holds
data: nothing existing changes, the audit trail holds without re-vouching anything, and the
new details are recorded on the old visits afterwards."""

import json

import pytest

from tests.test_migrations import _revision, _step, seed_at
from tplog import db


@pytest.fixture
def at_0009(empty_clinic):
    seed_at(empty_clinic, "0001")
    empty_clinic.sql("INSERT INTO visit_condition (visit_id, condition) "
                     "VALUES (1, 'myofascial-pain')")
    _step(empty_clinic, "upgrade", "0009")
    return empty_clinic


def test_0010_keeps_every_record_and_digest_and_the_trail_holds(at_0009):
    counted = ("patient", "visit_revision", "injected_point", "visit_condition",
               "audit_event")
    before = {table: at_0009.count(table) for table in counted}
    result = at_0009.ok("db", "upgrade")
    assert f"from revision 0009 to {db.SCHEMA_HEAD}" in result.stderr
    assert _revision(at_0009) == db.SCHEMA_HEAD
    after = {table: at_0009.count(table) for table in counted}
    # No `migrated` event for 0010: a NULL later column is not digested; the upgrade's own
    # event, and a later revision's (0013) for each practitioner record it makes.
    made = at_0009.count("practitioner")
    assert after == {**before, "audit_event": before["audit_event"] + 1 + made}
    assert at_0009.count("range_of_motion") == 0
    assert "holds" in at_0009.ok("audit", "verify").stdout
    (visit,) = json.loads(at_0009.ok("history", "P0001", "--json").stdout)["visits"]
    assert set(visit["procedure"].values()) == {None} and visit["range_of_motion"] == []
    assert visit["points"][0]["taut_band"] is None
    # The old visit takes the new details by amendment, and the trail still holds.
    at_0009.ok("visit", "amend", "1", "--reason", "documented later", "--consent", "written",
               "--needle", "25G 1.5in", "--set", "1 taut=yes",
               "--rom", "cervical-rotation:L before=40 after=60")
    shown = json.loads(at_0009.ok("visit", "show", "1", "--json", "--revisions").stdout)
    assert shown["procedure"]["consent"] == "written"
    assert shown["points"][0]["taut_band"] is True
    assert shown["range_of_motion"][0]["value_after"] == 60
    assert shown["revisions"][0]["procedure"]["consent"] is None
    assert "holds" in at_0009.ok("audit", "verify").stdout


def test_a_downgrade_below_0010_is_refused_while_details_are_recorded(at_0009):
    at_0009.ok("db", "upgrade")
    at_0009.ok("visit", "amend", "1", "--reason", "later", "--rom", "lumbar-flexion before=40")
    with pytest.raises(RuntimeError, match="cannot keep them"):
        _step(at_0009, "downgrade", "0009")
    # Still at 0010 or later: the revisions above 0010 (0011) had nothing to keep and may
    # have stepped down before 0010 refused (SQLite commits each step).
    assert _revision(at_0009) in ("0010", db.SCHEMA_HEAD)
    assert at_0009.count("range_of_motion") == 1
    at_0009.ok("db", "upgrade")
    assert "holds" in at_0009.ok("audit", "verify").stdout


def test_a_downgrade_with_nothing_recorded_keeps_the_guards(at_0009):
    at_0009.ok("db", "upgrade")
    _step(at_0009, "downgrade", "0009")
    assert _revision(at_0009) == "0009"
    with pytest.raises(Exception, match="append-only"):
        at_0009.sql("UPDATE injected_point SET pain_after = 0")
    with pytest.raises(Exception, match="append-only"):
        at_0009.sql("UPDATE visit_revision SET note = 'x'")
    at_0009.ok("db", "upgrade")
    assert "holds" in at_0009.ok("audit", "verify").stdout
    at_0009.ok("db", "check")  # every guard in place, the rebuilt tables' too
