"""The PostgreSQL floor: the framework floor plus the driver, one connection and `SELECT 1`
to the same server. What any Python tool built on these libraries pays before its own work;
`python -m benchmarks --postgres URL` runs it as a process, alternately with tplog.

    python benchmarks/pg_floor.py postgresql+psycopg://user@host/db
"""

import sys

import psycopg
import rich.table  # noqa: F401
import sqlalchemy.orm  # noqa: F401
import typer  # noqa: F401


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq reads it (no `+driver`; the query, search_path too, kept)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


if __name__ == "__main__":
    with psycopg.connect(libpq_url(sys.argv[1])) as connection:
        connection.execute("SELECT 1").fetchall()
