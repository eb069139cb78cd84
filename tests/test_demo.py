"""tplog demo: a throwaway database, never the user's, filled through the real services."""

import re
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from tplog.cli import app


def test_demo_shows_history_and_summary_in_a_throwaway_database(_isolated_home):
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.stderr
    assert "History of P0001" in result.stdout and "Summary" in result.stdout
    assert "upper-trapezius" in result.stdout
    demo_db = Path(re.search(r"not your records\): (\S+)", result.stderr).group(1))
    assert demo_db.exists()
    assert not (_isolated_home / "data" / "tplog" / "tplog.db").exists()
    connection = sqlite3.connect(demo_db)
    assert connection.execute("SELECT count(*) FROM patient").fetchone() == (3,)
    assert connection.execute("SELECT count(*) FROM visit").fetchone() == (6,)
    connection.close()
    # The suggested next commands work on the demo database.
    follow = CliRunner().invoke(app, ["--db", str(demo_db), "summary", "--by", "region"])
    assert follow.exit_code == 0 and "neck" in follow.stdout
    assert f"tplog --db {demo_db} patient list" in result.stderr
