"""`tplog import`'s writing of many rows at once, through the database driver itself.

A hundred thousand points through SQLAlchemy's executemany spent more on building each row's
parameters than SQLite spent storing them. Here the rows are tuples; each column's values go
through the bind processor SQLAlchemy would apply (the same stored form: dates and times as
SQLite keeps them, enums as their values), once per distinct value, and the rows go to the
driver in one call: sqlite3's executemany, or PostgreSQL's COPY (its text format, written
here in one string, each distinct value once; psycopg's own writer for any other type). Both
run in the command's one transaction, so the database's constraints hold as for an INSERT and
a rollback (a bad line later in the file) leaves nothing. Background lets PostgreSQL store
a batch's rows (the points: most of its work in an import) while the import reads on.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Table, event, func, select, text
from sqlalchemy.exc import DBAPIError

from tplog.models import Base


def write(connection: Connection, model: type[Base], columns: Sequence[str],
          rows: Sequence[Sequence[Any]]) -> None:
    """Insert the rows (tuples of the columns' values), in order."""
    write_rows(connection, Base.metadata.tables[model.__tablename__], columns, rows)


def write_table(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows into the table, every one with the same keys, in order."""
    if rows:
        write_rows(connection, table, list(rows[0]), [tuple(row.values()) for row in rows])


class Background:
    """Rows handed to PostgreSQL by COPY while the caller goes on (reading the next rows of a
    file) and the server stores them: `send` as write() inserts, but without waiting. The
    connection takes no other statement until the server has answered: any statement of
    SQLAlchemy's on it waits first (an event), as does wait(), which raises what the COPY met
    (a refused row) as write() would. On SQLite the rows are written at once. Used as a
    context: its end waits, or, when the block fails, abandons the rows still on their way
    (the command rolls back)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._copying: _OpenCopy | None = None

    def __enter__(self) -> Background:
        event.listen(self._connection, "before_execute", self._before_execute)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        event.remove(self._connection, "before_execute", self._before_execute)
        if error is None:
            self.wait()
        elif self._copying is not None:
            copying, self._copying = self._copying, None
            copying.abandon(kind, error, traceback)

    def send(self, model: type[Base], columns: Sequence[str],
             rows: Sequence[Sequence[Any]]) -> None:
        self.wait()
        self._copying = _start(self._connection, Base.metadata.tables[model.__tablename__],
                               columns, rows)

    def write_table(self, connection: Connection, table: Table,
                    rows: list[dict[str, Any]]) -> None:
        """write_table(), once what was sent is stored."""
        self.wait()
        write_table(connection, table, rows)

    def wait(self) -> None:
        copying, self._copying = self._copying, None
        if copying is not None:
            copying.close()

    def _before_execute(self, *_: Any) -> None:
        self.wait()


def write_rows(connection: Connection, table: Table, columns: Sequence[str],
               rows: Sequence[Sequence[Any]]) -> None:
    """Insert the rows (tuples of the columns' values) into the table, in order."""
    copying = _start(connection, table, columns, rows)
    if copying is not None:
        copying.close()


class _OpenCopy:
    """A COPY whose rows are sent (with its cursor): close() ends it and waits for the
    server's answer, raising what it met as write() would; abandon() ends it as failed."""

    def __init__(self, opened: ExitStack, errors: type[Exception],
                 fail: Callable[[Exception], Exception]) -> None:
        self._opened, self._errors, self._fail = opened, errors, fail

    def close(self) -> None:
        try:
            self._opened.close()
        except self._errors as error:
            raise self._fail(error) from error

    def abandon(self, kind: type[BaseException] | None, error: BaseException | None,
                traceback: TracebackType | None) -> None:
        self._opened.__exit__(kind, error, traceback)  # psycopg sends the server CopyFail


def _start(connection: Connection, table: Table, columns: Sequence[str],
           rows: Sequence[Sequence[Any]]) -> _OpenCopy | None:
    """Insert the rows; on PostgreSQL the COPY, its rows sent, is left open for the caller
    to close (the server's answer)."""
    if not rows:
        return None
    dialect = connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in columns]
    values: Sequence[Sequence[Any]] = rows
    copying = dialect.name == "postgresql"
    cells: list[Sequence[Any]] = list(zip(*rows, strict=True)) \
        if copying or any(processors) else []
    if any(processors):
        # Column by column, each distinct value once: a column holds a few dates, times,
        # yes/no and choices over and over (SQLAlchemy's processors are pure functions of
        # the value).
        for place, process in enumerate(processors):
            if process is not None:
                cells[place] = _each_once(cells[place], process)
        values = list(zip(*cells, strict=True))
    names = ", ".join(columns)
    if copying:
        statement = f"COPY {table.name} ({names}) FROM STDIN"
    else:
        statement = (f"INSERT INTO {table.name} ({names}) VALUES "
                     f"({', '.join('?' * len(columns))})")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    driver_error = dialect.loaded_dbapi.Error

    def fail(error: Exception) -> Exception:
        # As SQLAlchemy would have raised it (IntegrityError, OperationalError, ...), so that
        # the command reports it in one line (a full disk, a refused row) and rolls back.
        return DBAPIError.instance(statement, None, error, driver_error,
                                   hide_parameters=True, dialect=dialect)

    if not copying:
        try:
            cursor.executemany(statement, values)
        except driver_error as error:
            raise fail(error) from error
        finally:
            cursor.close()
        return None
    payload = _copy_text(cells)
    with ExitStack() as opened:
        opened.enter_context(cursor)
        try:
            copy = opened.enter_context(cursor.copy(statement))
            if payload is not None:
                copy.write(payload)
            else:  # a value of another type: psycopg's own dumpers
                for row_values in values:
                    copy.write_row(row_values)
        except driver_error as error:
            raise fail(error) from error
        # Sent (a batch's rows fit in the connection's buffers): the server stores them
        # while the caller goes on, and the COPY stays open until wait().
        return _OpenCopy(opened.pop_all(), driver_error, fail)


def write_numbered(connection: Connection, model: type[Base], columns: Sequence[str],
                   rows: Sequence[Sequence[Any]], *,
                   background: Background | None = None) -> list[int]:
    """Insert the rows (tuples of the columns' values, the id left out); their new ids, in
    the rows' order. With `background`, sent through it."""
    if not rows:
        return []
    if connection.dialect.name == "sqlite":
        # SQLite cannot return new ids in the order of the rows from one statement. tplog
        # holds SQLite's write lock for the whole command (BEGIN IMMEDIATE), so the import
        # numbers the rows.
        first = (connection.scalar(select(func.max(model.id))) or 0) + 1  # type: ignore[attr-defined]
        ids = list(range(first, first + len(rows)))
    else:
        # The ids are drawn from the table's own sequence, all at once, as RETURNING would
        # have drawn them one by one; another writer draws past them.
        ids = sorted(connection.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :count)"),
            {"table": model.__tablename__, "count": len(rows)}))
    numbered = [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)]
    if background is not None:
        background.send(model, ("id", *columns), numbered)
    else:
        write(connection, model, ("id", *columns), numbered)
    return ids


def _each_once(column: Sequence[Any], process: Callable[[Any], Any],
               none: Any = None) -> Sequence[Any]:
    """process(value) for each value of the column (`none` for None), worked out once for
    each distinct value."""
    kinds = set(map(type, column))
    kinds.discard(type(None))
    try:
        if len(kinds) <= 1:  # one type (and None): equal values are the same value
            done = {value: none if value is None else process(value) for value in set(column)}
            return tuple(map(done.__getitem__, column))
        # True == 1 == 1.0, but they are not the same value to a driver: by type too.
        keys = list(zip(map(type, column), column, strict=True))
        by_type = {key: none if key[1] is None else process(key[1]) for key in set(keys)}
        return tuple(map(by_type.__getitem__, keys))
    except TypeError:  # a value that cannot be a dict key (none is written today): each one
        return tuple(none if value is None else process(value) for value in column)


def _copy_text(cells: Sequence[Sequence[Any]]) -> str | None:
    """The rows (given column by column) in COPY's text format, in one string; None when a
    value is of a type not written here, for psycopg to write instead. PostgreSQL reads the
    text by the column's type, as it reads psycopg's."""
    try:
        columns = [_each_once(column, _copy_cell, "\\N") for column in cells]
    except _NotWritten:
        return None
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


class _NotWritten(Exception):
    pass


def _copy_cell(value: Any) -> str:
    """A value but None (\\N) as COPY's text format writes it."""
    kind = type(value)
    if kind is str:
        # The text format's escapes: the backslash itself, and the separators.
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") \
            .replace("\t", "\\t")
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)  # the shortest text that reads back as the same double
    if kind is dt.date or kind is dt.datetime:
        return value.isoformat()
    raise _NotWritten
