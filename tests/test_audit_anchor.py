"""Issue 13: what the audit chain alone could not catch.

Deleting the newest event (an export: a disclosure) left a chain that still held; `tplog audit
head` gives the clinic a hash to keep outside the database and `audit verify --head` proves the
chain still passes through it. `db check` passed with every append-only trigger dropped.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_refused
from tests.test_audit import _without_guards


@pytest.fixture
def exported(clinic, tmp_path):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--point", "deltoid:L pre=6 post=2")
    clinic.ok("export", "P0001", "-o", str(tmp_path / "out.csv"))
    return clinic


def newest(clinic) -> tuple[int, str]:
    return clinic.sql("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")[0]


def test_audit_head_prints_the_newest_events_hash(exported):
    event_id, digest = newest(exported)
    result = exported.ok("audit", "head")
    assert result.stdout.strip() == digest
    assert f"event {event_id}" in result.stderr
    document = json.loads(exported.ok("audit", "head", "--json").stdout)
    assert (document["event"], document["hash"]) == (event_id, digest)


def test_verify_head_holds_while_the_chain_passes_through_it(exported):
    _, digest = newest(exported)
    exported.ok("patient", "add", "Grace Hopper", "--dob", "1970-01-01")
    for given in (digest, digest[:16], digest.upper()):
        result = exported.ok("audit", "verify", "--head", given)
        assert "passes through event 3" in result.stdout
        assert "1 event(s) followed it" in result.stdout


def test_deleting_the_newest_disclosure_is_caught_by_the_head(exported):
    _, digest = newest(exported)
    _without_guards(exported, "DELETE FROM audit_event WHERE action = 'export'")
    # The finding: the chain alone still holds, the disclosure is gone without a trace...
    assert exported.run("audit", "verify").exit_code == 0
    # ...but not past the hash written down.
    result = exported.run("audit", "verify", "--head", digest)
    assert_refused(result, 4, "The audit trail does not hold", "no event has the hash",
                   "events were removed from its end")
    document = json.loads(exported.run("audit", "verify", "--head", digest, "--json").stdout)
    assert document["holds"] is False and document["head"] is None


@pytest.mark.parametrize("given", ["abc", "z" * 64, "0" * 65, "deadbeef deadbeef"])
def test_a_malformed_head_is_refused_in_one_line(exported, given):
    assert_refused(exported.run("audit", "verify", "--head", given), 2, "--head",
                   "at least its first 16 hex characters")


def test_an_empty_trail_has_no_head(clinic):
    result = clinic.ok("audit", "head")
    assert result.stdout == "" and "empty" in result.stderr
    assert json.loads(clinic.ok("audit", "head", "--json").stdout) is None


def _drop_guards(clinic) -> None:
    if clinic.backend == "postgresql":
        tables = [name for (name,) in clinic.sql(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND t.tgname = 'tplog_append_only'")]
        clinic.sql_script([f"DROP TRIGGER tplog_append_only ON {table}" for table in tables])
    else:
        triggers = clinic.sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        clinic.sql_script([f"DROP TRIGGER {name}" for (name,) in triggers])


def test_db_check_fails_when_the_append_only_guards_are_gone(exported):
    assert "ok    append-only guards" in exported.ok("db", "check").stdout
    _drop_guards(exported)
    result = exported.run("db", "check")
    assert result.exit_code == 4
    assert "FAIL  append-only guards: missing: " in result.stdout
    assert "on visit" in result.stdout or "on audit_event" in result.stdout
    # The records themselves still hold: only the guard is reported.
    assert "ok    audit trail" in result.stdout
