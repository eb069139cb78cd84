"""Start-up stays light: --help and --version load neither SQLAlchemy nor Alembic, and a
command on a current database does not load Alembic. Run as real processes from another
folder, so they use the installed package and its shipped migrations."""

import json
import os
import subprocess
import sys

import pytest

from tplog.cli.index import COMMANDS

PROBE = """
import json, sys
sys.argv = ["tplog", *json.loads(sys.argv[1])]
from tplog.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "alembic"})
commands = sorted(m for m in sys.modules if m.startswith("tplog.cli.")
                  and m not in ("tplog.cli.app", "tplog.cli.index"))
print(json.dumps({"code": code, "heavy": heavy, "commands": commands}), file=sys.stderr)
"""


def probe(tmp_path, *args):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report, done.stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["patient", "--help"],
                                  ["log", "--help"]])
def test_help_and_version_import_neither_sqlalchemy_nor_alembic(tmp_path, args):
    report, out = probe(tmp_path, *args)
    assert report["code"] == 0 and report["heavy"] == []
    assert "tplog" in out


def test_the_list_of_commands_loads_no_command_module(tmp_path):
    report, out = probe(tmp_path, "--help")
    assert report["commands"] == []
    for name in COMMANDS:
        assert f"  {name} " in out


def test_a_command_loads_only_its_own_module(tmp_path):
    report, _ = probe(tmp_path, "--db", str(tmp_path / "t.db"), "history", "P0001")
    assert report["code"] == 1  # no such patient: the command ran
    # its own module, the options commands share and the MRN completion it offers; not
    # exchange, reports, database...
    assert report["commands"] == ["tplog.cli.completion", "tplog.cli.options",
                                  "tplog.cli.visits"]


def test_completing_a_command_name_loads_no_command_module(tmp_path):
    env = {**os.environ, "_TPLOG_COMPLETE": "complete_bash", "COMP_WORDS": "tplog ",
           "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, "[]"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == list(COMMANDS)
    assert json.loads(done.stderr.strip().splitlines()[-1])["commands"] == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_index_says_what_each_command_says_of_itself(name):
    """`tplog --help` shows the index's line; the command's own help must begin with it."""
    from typer.main import get_command

    from tplog.cli import app

    root = get_command(app)
    command = root.get_command(None, name)
    assert command is not None and command.name == name
    first_paragraph = " ".join(command.help.split("\n\n")[0].split())
    assert first_paragraph == COMMANDS[name][1]


def test_a_current_database_is_opened_without_alembic(tmp_path):
    database = str(tmp_path / "t.db")
    first, _ = probe(tmp_path, "--db", database, "patient", "list")
    assert first["code"] == 0 and "alembic" in first["heavy"]  # a new database is migrated
    again, _ = probe(tmp_path, "--db", database, "patient", "list")
    assert again["code"] == 0 and again["heavy"] == ["sqlalchemy"]


def test_python_dash_m_tplog_from_another_folder(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tplog", "--db", str(tmp_path / "t.db"),
                           "patient", "add", "Ada Lovelace"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "P0001"


def test_an_unexpected_error_shows_no_local_variables(tmp_path):
    """Patient data lives in locals; a crash must not print them."""
    script = (
        "import sys\n"
        "from tplog.services import patients\n"
        "def boom(*a, **k):\n"
        "    secret_name = 'Ada Lovelace'\n"
        "    raise RuntimeError('unexpected')\n"
        "patients.list_patients = boom\n"
        "sys.argv = ['tplog', '--db', sys.argv[1], 'patient', 'list']\n"
        "from tplog.cli import main\n"
        "main()\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "t.db")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 1
    assert "RuntimeError" in done.stderr and "unexpected" in done.stderr
    assert "Ada Lovelace" not in done.stderr and "secret_name =" not in done.stderr


def test_version_answers_before_any_command_loads(tmp_path):
    script = ("import sys, runpy\n"
              "sys.argv = ['tplog', '--version']\n"
              "from tplog.__main__ import main\n"
              "main()\n"
              "print(sorted(m for m in ('typer', 'rich', 'sqlalchemy') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.splitlines() == ["tplog 0.1.0", "[]"], done.stderr
