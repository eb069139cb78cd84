"""The wheel carries the migrations, so `pip install .` (not editable) can create and
upgrade databases from any folder."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_alembic_migrations(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("tplog-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"tplog/migrations/env.py", "tplog/migrations/script.py.mako",
            "tplog/migrations/versions/0001_initial_schema.py",
            "tplog/migrations/versions/0002_history_and_summary_indexes.py"} <= names
    assert not any(name.startswith("tests/") for name in names)
