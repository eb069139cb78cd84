"""Every database test runs on a real SQLite file and, when TPLOG_TEST_DATABASE_URL names a
PostgreSQL server, on PostgreSQL too (each test in a schema of its own, dropped after)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.testing
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from tests.pgpool import SchemaPool
from tests.warm import WarmConnections
from tplog import db as tplog_db
from tplog.cli import app

PG_URL = os.environ.get("TPLOG_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test may touch the real user's data folder or inherit their settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for name in ("TPLOG_DB", "TPLOG_PRACTITIONER", "TPLOG_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    return home


class _CompiledForEveryEngine:
    """One compiled-SQL cache for the engines tplog makes in a test process. SQLAlchemy keeps
    a statement's compiled SQL per engine, keyed by the engine's dialect object; every test
    has a database of its own and so an engine of its own, and compiled each statement of
    each command afresh (a third of the suite's work). The engines differ only in the
    database they open: a statement compiles the same for every engine of one dialect and
    server version, so here the key names the dialect's kind instead of the object."""

    def __init__(self) -> None:
        from sqlalchemy.util import LRUCache

        self._compiled: LRUCache[tuple, object] = LRUCache(2000)

    @staticmethod
    def _key(key: tuple) -> tuple:
        dialect = key[0]
        return (type(dialect), dialect.server_version_info, *key[1:])

    def get(self, key: tuple, default: object = None) -> object:
        return self._compiled.get(self._key(key), default)

    def __setitem__(self, key: tuple, compiled: object) -> None:
        self._compiled[self._key(key)] = compiled

    def clear(self) -> None:
        self._compiled.clear()


_WARM = WarmConnections()  # tests/warm.py


def _sharing_compiled_sql(new_engine: Callable[..., Engine]) -> Callable[..., Engine]:
    shared = _CompiledForEveryEngine()

    def made(*args: object, **kwargs: object) -> Engine:
        engine = new_engine(*args, **kwargs)
        engine._compiled_cache = shared  # type: ignore[assignment]
        if engine.dialect.name == "postgresql":
            _WARM.serve(engine)
        return engine

    return made


tplog_db._new_engine = _sharing_compiled_sql(tplog_db._new_engine)


def _built_once_per_process(build: Callable[[typer.Typer], Any]) -> Callable[[typer.Typer], Any]:
    """The root command group of tplog's app, built once per test process. A `tplog`
    process builds it once; CliRunner.invoke built it again for every command a test ran
    (the global options read from the root callback's annotations: ~2 ms a call). The group
    is only read; the commands it loads are kept per process already (tplog.cli.app)."""
    built: list[Any] = []

    def command(given: typer.Typer) -> Any:
        if given is not app:
            return build(given)
        if not built:
            built.append(build(app))
        return built[0]

    return command


typer.testing._get_command = _built_once_per_process(  # type: ignore[attr-defined]
    typer.testing._get_command)  # type: ignore[attr-defined]


def pg_schema_url(schema: str) -> str:
    assert PG_URL is not None
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


# The tests' own engines, one per database, a few kept: making an engine (and, on
# PostgreSQL, its first connection's dialect set-up) for every look at the database cost more
# than the look. Each look still closes its connection (NullPool), so no test's database is
# held open, locked or kept from being copied or removed while tplog works on it (on
# PostgreSQL the closed connection is kept as tplog's are, reset: tests/warm.py).
_ENGINES: dict[str, Engine] = {}


def _engine_for(url: str) -> Engine:
    engine = _ENGINES.pop(url, None)
    if engine is None:
        engine = create_engine(url if "://" in url else f"sqlite:///{url}", poolclass=NullPool)
        if engine.dialect.name == "postgresql":
            _WARM.serve(engine)  # a kept connection, as tplog's in-process commands take
    _ENGINES[url] = engine
    while len(_ENGINES) > 4:
        _ENGINES.pop(next(iter(_ENGINES))).dispose()
    return engine


@dataclass
class Clinic:
    """A database (a SQLite file or a PostgreSQL schema) and the real CLI pointed at it."""

    url: str
    backend: str

    def run(self, *args: str, input: str | None = None,
            env: dict[str, str] | None = None) -> object:
        return CliRunner().invoke(app, ["--db", self.url, *args], input=input, env=env)

    def ok(self, *args: str) -> object:
        result = self.run(*args)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr,
                                       result.exception)
        return result

    def sql(self, statement: str) -> list[tuple]:
        with _engine_for(self.url).begin() as connection:
            result = connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []

    def sql_script(self, statements) -> None:
        """Several statements in one transaction on one connection."""
        with _engine_for(self.url).begin() as connection:
            for statement in statements:
                connection.execute(text(statement))

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in ("patient", "visit", "visit_condition",
                                           "injected_point")}


# A current, empty database made by tplog itself once per test process and backend (its
# first `tplog patient list`), copied for each test that starts from one: making it afresh
# (every migration, every guard) took most of the suite's time, on PostgreSQL above all.
# Tests of creating and migrating a database use `empty_clinic`, which tplog makes itself.
_MADE_BY_TPLOG: dict[str, object] = {}


def _current_sqlite_file(target: Path) -> None:
    if "sqlite" not in _MADE_BY_TPLOG:
        import tempfile

        made = Path(tempfile.mkdtemp(prefix="tplog-current-")) / "current.db"
        result = CliRunner().invoke(app, ["--db", str(made), "patient", "list"])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        # Closed cleanly, tplog leaves one file (its WAL checkpointed and removed).
        assert [p.name for p in made.parent.iterdir()] == ["current.db"]
        _MADE_BY_TPLOG["sqlite"] = made
    shutil.copy2(_MADE_BY_TPLOG["sqlite"], target)  # its 0600 mode too


def _libpq_url() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _schema_script(made: str) -> str:
    """A plain pg_dump of schema `made` (definitions, rows, then guards and constraints), as
    one script to replay in another schema: psql's own commands (\\restrict) are not SQL, and
    the schema exists already."""
    import subprocess

    dump = subprocess.run(
        ["pg_dump", f"--schema={made}", "--inserts", "--no-owner", "--no-privileges",
         f"--dbname={_libpq_url()}"], check=True, capture_output=True, text=True).stdout
    return "\n".join(line for line in dump.splitlines()
                     if not line.startswith("\\")
                     and not line.startswith(f"CREATE SCHEMA {made};"))


def _replay(made: str, script: str, schema: str) -> str:
    """Run the dump of `made` in `schema`, in one transaction; the script as run."""
    mine = script.replace(made, schema)
    admin = _schemas().admin()
    with admin.transaction():
        admin.execute(mine.encode())
    return mine


_POOL: list[SchemaPool] = []


def _schemas() -> SchemaPool:
    if not _POOL:
        _POOL.append(SchemaPool(_libpq_url()))
    return _POOL[0]


def pytest_configure(config: pytest.Config) -> None:
    """Once per run, before any test process starts: tplog's bytecode written, and the
    catalogs compacted (pgpool)."""
    if hasattr(config, "workerinput"):
        return
    _compile_tplog()
    if PG_URL:
        from tests.pgpool import compact_catalogs

        problem = compact_catalogs(_libpq_url())
        if problem:
            print(f"PostgreSQL catalogs not compacted ({problem}); the run goes on")


def _compile_tplog() -> None:
    """tplog's modules and migrations compiled once, as `pip install` leaves an installed
    copy: the suite imports the checkout's, and where PYTHONDONTWRITEBYTECODE is set (as on
    CI's machine) every tplog process the tests start compiled every module it imported
    again (70 ms a process). Into the checkout's own __pycache__ folders (git ignores them);
    a read-only checkout is left as it is."""
    import compileall

    import tplog
    from tplog.db.schema import migrations_folder

    for folder in (Path(tplog.__file__).parent, migrations_folder()):
        compileall.compile_dir(folder, quiet=2)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Each test process drops the schemas it kept for use again."""
    _WARM.close()
    if _POOL:
        _POOL[0].close()


@contextmanager
def _scratch_schema() -> Iterator[str]:
    made = f"tplog_made_{uuid.uuid4().hex[:12]}"
    _schemas().admin().execute(f'CREATE SCHEMA "{made}"')
    try:
        yield made
    finally:
        _schemas().admin().execute(f'DROP SCHEMA "{made}" CASCADE')


def _current_pg_schema(schema: str) -> str:
    """Fill the empty `schema` with what tplog made in one of its own: a plain pg_dump of it
    (definitions, guards and rows), the schema's name replaced, run in one transaction."""
    if "postgresql" not in _MADE_BY_TPLOG:
        with _scratch_schema() as made:
            result = CliRunner().invoke(app, ["--db", pg_schema_url(made), "patient", "list"])
            assert result.exit_code == 0, (result.stdout, result.stderr)
            _MADE_BY_TPLOG["postgresql"] = (made, _schema_script(made))
    made, script = _MADE_BY_TPLOG["postgresql"]
    return _replay(made, script, schema)


# What a fixture made with `built_once` wrote, per test process, fixture and backend: the
# SQLite file, or the PostgreSQL schema's script (see _current_pg_schema).
_BUILT: dict[tuple[str, str], object] = {}


def _fixture_key(fixture: Callable[[Clinic], object]) -> str:
    return f"{fixture.__module__}.{fixture.__qualname__}"


def _build(backend: str, fixture: Callable[[Clinic], object], target: Path | str) -> str | None:
    key = (backend, _fixture_key(fixture))
    if key not in _BUILT:
        if backend == "sqlite":
            import tempfile

            built = Path(tempfile.mkdtemp(prefix="tplog-built-")) / "built.db"
            _current_sqlite_file(built)
            _built_by(fixture, Clinic(url=str(built), backend="sqlite"))
            _BUILT[key] = built
        else:
            with _scratch_schema() as made:
                _current_pg_schema(made)
                _built_by(fixture, Clinic(url=pg_schema_url(made), backend="postgresql"))
                _BUILT[key] = (made, _schema_script(made))
    if backend == "sqlite":
        shutil.copy2(_BUILT[key], target)  # its 0600 mode too
        return None
    made, script = _BUILT[key]
    return _replay(made, script, str(target))


def _built_by(fixture: Callable[[Clinic], object], clinic: Clinic) -> None:
    returned = fixture(clinic)
    assert returned is None or returned is clinic, (
        f"{fixture.__name__} must return the clinic it was given to be built once")


def built_once(fixture: Callable[[Clinic], object]):
    """A fixture like `clinic` holding what `fixture(clinic)` writes through tplog: the
    commands run once per test process and backend, and each test gets a copy of the
    database they left (a file copy; on PostgreSQL the schema's dump replayed), as `clinic`
    gets a copy of an empty one. For fixtures that only write to the database: anything they
    set elsewhere (the environment, files) would not reach the tests that get the copy."""

    @pytest.fixture(params=["sqlite", "postgresql"], name=fixture.__name__)
    def copied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Clinic]:
        with new_clinic(request.param, tmp_path, built=fixture) as made:
            yield made

    return copied


@contextmanager
def new_clinic(backend: str, folder: Path, name: str = "clinic", *,
               current: bool = False,
               built: Callable[[Clinic], object] | None = None) -> Iterator[Clinic]:
    """A database that does not exist yet (SQLite) or an empty schema (PostgreSQL); with
    `current`, one at the current schema with no records yet, as tplog makes it."""
    if backend == "sqlite":
        path = folder / f"{name}.db"
        if built is not None:
            _build(backend, built, path)
        elif current:
            _current_sqlite_file(path)
        yield Clinic(url=str(path), backend="sqlite")
        return
    if not PG_URL:
        pytest.skip("TPLOG_TEST_DATABASE_URL is not set, so the PostgreSQL run is skipped")
    # A schema of the same contents a finished test left as it was made (tests/pgpool.py).
    key = (_fixture_key(built) if built is not None
           else "current" if current else None)

    def fill(schema: str) -> str | None:
        if built is not None:
            return _build(backend, built, schema)
        return _current_pg_schema(schema) if current else None

    schema = _schemas().take(key, fill)
    try:
        yield Clinic(url=pg_schema_url(schema), backend="postgresql")
    finally:
        _schemas().give_back(key, schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_clinic(request: pytest.FixtureRequest, tmp_path: Path):
    with new_clinic(request.param, tmp_path) as clinic:
        yield clinic


def assert_refused(result: object, code: int, *fragments: str) -> None:
    """A refusal: the exit code, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


@pytest.fixture(params=["sqlite", "postgresql"])
def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Clinic]:
    """A tplog database at the current schema, with no records yet."""
    with new_clinic(request.param, tmp_path, current=True) as made:
        yield made


@pytest.fixture
def sqlite_clinic(tmp_path: Path) -> Clinic:
    """For what only SQLite has (files, their modes, file locks): a current, empty database
    in the test's folder, as tplog leaves one it made (one file, 0600: a copy of the one it
    made for this test process)."""
    clinic = Clinic(url=str(tmp_path / "clinic.db"), backend="sqlite")
    _current_sqlite_file(tmp_path / "clinic.db")
    return clinic
