"""PostgreSQL connections kept warm between the commands a test process runs in-process.

A `tplog` process opens one connection and closes it when its command ends; run in-process,
the suite's commands did the same thousands of times, and each new connection is a new
server process that must read the catalog afresh for every table the command touches
(measured: 5 ms to connect, 8 ms for a first 4-table query against 0.2 ms on a warm one, most
of it the server's CPU, on the same two cores as the tests). Here, a connection one of
tplog's engines closes is made as a new session would find it (`DISCARD ALL`: settings back
to those the connection started with, advisory locks released, temporary tables and prepared
statements dropped) and kept; the next engine on the same URL takes it instead of
connecting. One that cannot be made so (its server process ended, a broken transaction) is
closed, as tplog closed it. Only the test processes' own in-process commands use this:
`tplog` run as a process, and worker processes the tests start, connect as users' do.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event

# Enough for a test's databases (two clinics, a restore target) and the next test's.
KEPT = 6


class WarmConnections:
    def __init__(self) -> None:
        self._idle: OrderedDict[int, tuple[str, Any]] = OrderedDict()

    def serve(self, engine: Engine) -> None:
        """Connect `engine` (PostgreSQL) through the kept connections."""
        url = engine.url.render_as_string(hide_password=False)

        @event.listens_for(engine, "do_connect")
        def _warm(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
            return self._take(url)  # None: SQLAlchemy connects as usual

        def close(dbapi_connection: Any) -> None:
            self._keep(url, dbapi_connection)

        def terminate(dbapi_connection: Any) -> None:
            dbapi_connection.close()  # invalidated (broken, or left mid-command): never kept

        engine.dialect.do_close = close  # type: ignore[method-assign]
        engine.dialect.do_terminate = terminate  # type: ignore[method-assign]

    def _take(self, url: str) -> Any:
        for key, (kept_for, connection) in reversed(self._idle.items()):
            if kept_for == url:
                del self._idle[key]
                return connection
        return None

    def _keep(self, url: str, connection: Any) -> None:
        try:
            if connection.closed or connection.broken or \
                    connection.info.transaction_status == TransactionStatus.ACTIVE:
                raise ConnectionError  # gone, or in the middle of a command (a COPY)
            connection.rollback()
            connection.autocommit = True
            connection.execute("DISCARD ALL")
            connection.autocommit = False
            # DISCARD ALL drops the server's prepared statements, and psycopg notices that
            # only the first time the statement runs on a connection: its own list of them
            # would outlive the server's ("prepared statement _pg3_0 does not exist"). A
            # kept connection prepares nothing more, which changes no result.
            connection.prepare_threshold = None
        except Exception:
            connection.close()
            return
        self._idle[id(connection)] = (url, connection)
        while len(self._idle) > KEPT:
            _, (_, oldest) = self._idle.popitem(last=False)
            oldest.close()

    def close(self) -> None:
        while self._idle:
            _, (_, connection) = self._idle.popitem()
            connection.close()
