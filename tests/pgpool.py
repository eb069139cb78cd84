"""PostgreSQL schemas for the tests, used again when a test leaves their definitions as it
found them: making one (tplog's tables, sequences and 36 append-only guards, from a dump)
and dropping it cost more server time than most tests. A schema handed back is compared
with what it held when made (every table, column, default, constraint, index, guard and
function, its privileges, a guard disabled); if anything differs it is dropped, else its
rows are put back as they were made (TRUNCATE and the dump's own rows and sequence values,
in one transaction) and the next test that asks for the same contents gets it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

# Every definition in a schema that a test could change, as text, with the schema's own
# name taken out (so two schemas made alike compare equal).
_DEFINITIONS = """
SELECT md5(coalesce(string_agg(replace(part, {schema}, '~'), E'\\n' ORDER BY part), ''))
FROM (
  SELECT 'schema ' || coalesce(nspacl::text, '') AS part
    FROM pg_namespace WHERE oid = {schema}::regnamespace
  UNION ALL
  SELECT 'relation ' || relname || ' ' || relkind::text || ' ' || coalesce(relacl::text, '') || ' '
         || relrowsecurity || ' '
         || CASE WHEN relkind IN ('v', 'm') THEN pg_get_viewdef(oid) ELSE '' END
    FROM pg_class WHERE relnamespace = {schema}::regnamespace
  UNION ALL
  SELECT 'column ' || c.relname || '.' || a.attname || ' '
         || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || coalesce(a.attacl::text, '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = {schema}::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = {schema}::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = {schema}::regnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = {schema}::regnamespace
  UNION ALL
  SELECT 'function ' || pg_get_functiondef(oid) || ' ' || coalesce(proacl::text, '')
    FROM pg_proc WHERE pronamespace = {schema}::regnamespace
  UNION ALL
  SELECT 'rule ' || definition FROM pg_rules WHERE schemaname = {schema}
  UNION ALL
  SELECT 'policy ' || policyname || ' ' || coalesce(qual, '') FROM pg_policies
    WHERE schemaname = {schema}
) parts
"""

_TABLES = """
SELECT format('%I.%I', {schema}, relname)
FROM pg_class WHERE relnamespace = {schema}::regnamespace AND relkind IN ('r', 'p')
"""


@dataclass
class _Contents:
    definitions: str  # _DEFINITIONS of a schema just made with these contents
    rows: str  # the dump's data section: its INSERTs and sequence values (schema: _SCHEMA)
    free: list[str] = field(default_factory=list)


def data_section(script: str) -> str:
    """The rows of a plain pg_dump: its TABLE DATA and SEQUENCE SET entries, which come
    between the definitions and the constraints, indexes and guards."""
    start = script.index("-- Data for Name:")
    last = list(re.finditer(r"^SELECT pg_catalog\.setval\(.*;$", script, re.MULTILINE))[-1]
    return script[start:last.end()]


# Where the schema's name stands in a kept copy of its rows.
_SCHEMA = f"__schema_{uuid.uuid4().hex}__"


def _literal(schema: str) -> str:
    assert re.fullmatch(r"tplog_[a-z]+_[0-9a-f]+", schema), schema  # names made here only
    return f"'{schema}'"


class SchemaPool:
    def __init__(self, libpq_url: str) -> None:
        self._url = libpq_url
        self._admin: psycopg.Connection | None = None
        self._contents: dict[str, _Contents] = {}

    def admin(self) -> psycopg.Connection:
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self._url, autocommit=True)
        return self._admin

    def take(self, key: str | None, fill: Callable[[str], str | None]) -> str:
        """A schema holding `key`'s contents: one handed back earlier, or a new one that
        `fill(schema)` fills (returning the dump script it replayed, or None for an empty
        schema, which is never used again)."""
        contents = self._contents.get(key) if key is not None else None
        if contents is not None and contents.free:
            return contents.free.pop()
        schema = f"tplog_test_{uuid.uuid4().hex[:12]}"
        self.admin().execute(f'CREATE SCHEMA "{schema}"')
        script = fill(schema)
        if key is not None and script is not None and key not in self._contents:
            self._contents[key] = _Contents(self._definitions(schema),
                                            data_section(script).replace(schema, _SCHEMA))
        return schema

    def give_back(self, key: str | None, schema: str) -> None:
        contents = self._contents.get(key) if key is not None else None
        if contents is not None:
            try:
                if self._definitions(schema) == contents.definitions:
                    self._reset(schema, contents.rows)
                    contents.free.append(schema)
                    return
            except psycopg.Error:
                pass  # changed beyond recognition, or busy: dropped below
        self.admin().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def _definitions(self, schema: str) -> str:
        row = self.admin().execute(_DEFINITIONS.format(schema=_literal(schema))).fetchone()
        assert row is not None
        return str(row[0])

    def _reset(self, schema: str, rows: str) -> None:
        admin = self.admin()
        with admin.transaction():
            tables = admin.execute(_TABLES.format(schema=_literal(schema))).fetchall()
            # The append-only guards refuse DELETE: as a replica, no trigger fires (the rows
            # put back are the dump's own, checked when they were first written). DELETE,
            # not TRUNCATE: a TRUNCATE makes every table's files anew, slower than the rows.
            # The sequences are set again by the dump's own setval lines.
            admin.execute("SET LOCAL session_replication_role = replica")
            admin.execute("SET LOCAL lock_timeout = '10s'")
            admin.execute("".join(f"DELETE FROM {table};" for (table,) in tables))
            if rows.strip():
                admin.execute(rows.replace(_SCHEMA, schema).encode())

    def close(self) -> None:
        """At the end of the test process (conftest's pytest_sessionfinish): drop the
        schemas kept for use again."""
        try:
            for contents in self._contents.values():
                for schema in contents.free:
                    self.admin().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                contents.free.clear()
            if self._admin is not None:
                self._admin.close()
        except psycopg.Error:
            pass


# The catalogs every schema a test makes and drops writes rows to (its tables, columns,
# types, constraints, indexes, guards and their dependencies).
_CATALOGS = ("pg_attribute", "pg_attrdef", "pg_class", "pg_constraint", "pg_depend",
             "pg_description", "pg_index", "pg_init_privs", "pg_namespace", "pg_proc",
             "pg_rewrite", "pg_sequence", "pg_trigger", "pg_type")


def compact_catalogs(libpq_url: str) -> str | None:
    """Rewrite the test database's catalogs without the rows of schemas dropped before.
    A run makes and drops thousands of schemas; where autovacuum is off (as on this
    project's CI machine) their dead rows stay, and each run read through those of every run
    before: the definitions check above took 40 ms after a few runs, 7 ms after this (0.6 s).
    Run once, before the tests start. What went wrong, if anything (the suite goes on)."""
    try:
        with psycopg.connect(libpq_url, autocommit=True) as admin:
            # Not waited for long: another session holding a catalog leaves it as it is.
            admin.execute("SET lock_timeout = '5s'")
            admin.execute("VACUUM FULL " + ", ".join(f"pg_catalog.{name}"
                                                     for name in _CATALOGS))
    except psycopg.Error as error:
        return str(error).strip()
    return None
