"""The checks a reviewer would run, run by the suite: the types (mypy with every function
typed and no needless `type: ignore`, as pyproject.toml configures it) and the linter."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_mypy_passes_with_every_function_typed():
    done = _run("mypy", "tplog")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_passes():
    done = _run("ruff", "check", "tplog", "tests", "alembic", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr
