"""Database triggers that make the clinical tables, the audit trail and the de-identification
key append-only.

tplog itself never updates or deletes these rows; the triggers make the database refuse it
too, so a stray UPDATE from another tool fails loudly instead of rewriting the record.
A SQLite batch migration that rebuilds a guarded table drops its triggers with it: such a
revision must call `install` again afterwards.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

# Rows never updated nor deleted. (The de-identification key too: a second key would give
# each patient a second date shift, and two shifts of one visit narrow its true date.)
APPEND_ONLY = ("audit_event", "visit", "visit_revision", "injected_point", "visit_condition",
               "visit_void", "visit_addendum", "follow_up", "visit_warning", "patient_weight",
               "deidentification_key", "patient_merge", "range_of_motion", "injectate_lot",
               "patient_screening", "adverse_event")
# Demographics (a practitioner's credentials and NPI) may be corrected (audited), but a
# patient (a practitioner) is never deleted.
NEVER_DELETED = ("patient", "practitioner")

MESSAGE = "tplog records are append-only: change them with tplog (amend, void, addendum)"
# The PostgreSQL guard's body, as installed and as `foreign_objects` expects to find it.
PG_FUNCTION_BODY = f"""
            BEGIN
                RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME;
            END """


def _guards(tables: tuple[str, ...]) -> list[tuple[str, str]]:
    return ([(table, "UPDATE") for table in APPEND_ONLY if table in tables]
            + [(table, "DELETE") for table in APPEND_ONLY + NEVER_DELETED if table in tables])


def install(tables: tuple[str, ...] = APPEND_ONLY + NEVER_DELETED) -> None:
    """Guard the tables named (those that exist at the calling revision)."""
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION tplog_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $${PG_FUNCTION_BODY}$$""")
        for table in tables:
            events = "DELETE" if table in NEVER_DELETED else "UPDATE OR DELETE"
            op.execute(f"CREATE TRIGGER tplog_append_only BEFORE {events} ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION tplog_append_only()")
            op.execute(f"CREATE TRIGGER tplog_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION tplog_append_only()")
        return
    for table, event in _guards(tables):
        op.execute(f"CREATE TRIGGER tplog_no_{event.lower()}_{table} BEFORE {event} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def remove(tables: tuple[str, ...] = APPEND_ONLY + NEVER_DELETED, *,
           keep_function: bool = False) -> None:
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS tplog_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS tplog_no_truncate ON {table}")
        if not keep_function:
            op.execute("DROP FUNCTION IF EXISTS tplog_append_only()")
        return
    for table, event in _guards(tables):
        op.execute(f"DROP TRIGGER IF EXISTS tplog_no_{event.lower()}_{table}")


def missing(connection: Connection) -> list[str]:
    """The guards a current database should have but lacks (`tplog db check`): a trigger
    dropped by hand would let a stray UPDATE rewrite a record without anyone noticing until
    the next `tplog audit verify`."""
    tables = APPEND_ONLY + NEVER_DELETED
    if connection.dialect.name == "postgresql":
        present = {tuple(row) for row in connection.execute(text(
            "SELECT c.relname, t.tgname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT t.tgisinternal")).all()}
        wanted = [(table, name) for table in tables
                  for name in ("tplog_append_only", "tplog_no_truncate")]
    else:
        present = {tuple(row) for row in connection.execute(text(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")).all()}
        wanted = [(table, f"tplog_no_{event.lower()}_{table}") for table, event in _guards(tables)]
    return [f"{name} on {table}" for table, name in wanted if (table, name) not in present]


def _plain(sql: str) -> str:
    return " ".join(sql.split()).lower()


def foreign_objects(connection: Connection) -> list[str]:
    """Code in the database that tplog did not put there: a trigger, view, rule, policy or
    function that is not one of tplog's guards exactly as installed. A backup holding one is
    refused, and `tplog db check` fails: a trigger that quietly drops export events, or a
    guard whose function lets updates through, would defeat the audit trail unseen."""
    if connection.dialect.name != "postgresql":
        expected = {_plain(f"CREATE TRIGGER tplog_no_{event.lower()}_{table} BEFORE {event} "
                           f"ON {table} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
                    for table, event in _guards(APPEND_ONLY + NEVER_DELETED)}
        rows = connection.execute(text(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'view')"))
        return [f"{kind} {name}" for kind, name, sql in rows
                if kind == "view" or _plain(sql or "") not in expected]
    found = []
    for name, definition in connection.execute(text(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT t.tgisinternal")):
        plain = _plain(definition).replace("execute procedure", "execute function")
        events = ("before truncate" if name == "tplog_no_truncate"
                  else "before (delete or update|update or delete|delete)")
        each = "statement" if name == "tplog_no_truncate" else "row"
        if name not in ("tplog_append_only", "tplog_no_truncate") or not re.fullmatch(
                rf"create trigger {name} {events} on \S+ for each {each} execute function "
                r"(\S+\.)?tplog_append_only\(\)", plain):
            found.append(f"trigger {name}")
    for name, body in connection.execute(text(
            "SELECT p.proname, p.prosrc FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()")):
        if name != "tplog_append_only" or _plain(body) != _plain(PG_FUNCTION_BODY):
            found.append(f"function {name}")
    for kind, query in (
            ("view", "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                     "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                     "AND c.relkind IN ('v', 'm')"),
            ("rule", "SELECT r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class "
                     "JOIN pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE n.nspname = current_schema() AND r.rulename <> '_RETURN'"),
            ("policy", "SELECT p.polname FROM pg_policy p JOIN pg_class c "
                       "ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = current_schema()")):
        found += [f"{kind} {name}" for (name,) in connection.execute(text(query))]
    return found
