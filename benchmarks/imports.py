"""Where `tplog import` writes in the benchmark: an empty database for every run, on SQLite
(a new file; tplog creates the schema) or on PostgreSQL (a new schema on the server the
benchmark was given; tplog creates the tables). The import of a clinic's own export is
timed into it, start-up and schema creation included, as a user would run it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# Issue 17: PostgreSQL takes the points by COPY, so more is asked of it.
LEAST_POINTS_PER_SECOND = {"SQLite": 30_000, "PostgreSQL": 50_000}


def fresh_target(source: str, points: int, work: Path,
                 is_sqlite: bool) -> tuple[str, Callable[[], None]]:
    """The `--db` target of the import, and what empties it before each run. `source` is the
    database the CSV was exported from (a PostgreSQL URL gives the server to use)."""
    if is_sqlite:
        imported = work / f"import-{points}.db"

        def fresh_file() -> None:
            for leftover in imported.parent.glob(imported.name + "*"):
                leftover.unlink()

        return str(imported), fresh_file
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"tplog_bench_import_{points}"
    server = make_url(source).difference_update_query(["options"])

    def fresh_schema() -> None:
        engine = create_engine(server)
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()

    target = server.update_query_dict({"options": f"-csearch_path={schema}"})
    return target.render_as_string(hide_password=False), fresh_schema
