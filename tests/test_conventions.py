"""What people expect of a command-line tool: --json everywhere, quiet colours, 80 columns,
shell completion, names for MRNs, a settings file with a documented precedence, and a command
reference that is never out of date."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import assert_refused, built_once
from tplog.cli import app

ROOT = Path(__file__).resolve().parent.parent


@built_once
def seen(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--weight-kg", "60", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Ada Yonath", "--dob", "1970-01-01")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--condition", "myofascial-pain",
              "--point", "upper-trapezius:L pre=7 post=3 twitch=yes soreness=mild numbness=no",
              "--point", "rhomboids:R pre=5 drug=lidocaine-1 ml=1")
    clinic.ok("followup", "1", "--yes", "--pain", "4", "--on", "2026-03-08")
    return clinic


# Every read command, and the keys of the JSON document it prints (README "JSON output").
READ_COMMANDS = {
    ("patient", "list"): ["mrn", "name", "date_of_birth", "sex", "weight_kg", "visit_count",
                          "last_visit_date"],
    ("patient", "show", "P0001"): ["mrn", "name", "date_of_birth", "sex", "weight_kg",
                                   "visit_count", "last_visit_date", "screen"],
    ("patient", "find", "ada"): ["mrn", "name", "date_of_birth", "sex", "weight_kg",
                                 "visit_count", "last_visit_date"],
    ("history", "P0001"): ["patient", "visits", "trend"],
    ("visit", "show", "1"): ["id", "mrn", "visit_date", "practitioner", "conditions", "note",
                             "created_at", "created_by", "reduction_of_mean_percent", "band",
                             "mean_pain_change", "points", "procedure", "range_of_motion",
                             "dose_totals_mg", "dose_check", "steroids", "lots",
                             "day_visits", "cpt", "warnings", "follow_ups", "relief_days",
                             "revision", "void", "addenda", "practitioner_record", "peg",
                             "pregnant", "adverse_events"],
    ("summary",): ["by", "since", "until", "mrn", "condition", "muscle", "practitioner",
                   "groups", "outcome_measures", "adverse_events"],
    ("trend", "P0001"): ["mrn", "muscle", "sites", "range_of_motion", "peg"],
    ("audit", "log"): ["id", "occurred_at", "os_user", "practitioner", "action", "target",
                       "mrn"],
    ("muscles",): ["key", "name", "region", "snomed", "source", "over_thorax",
                   "thorax_source"],
    ("conditions",): ["key", "name", "icd10", "note"],
    ("drugs",): ["key", "name", "concentration_percent", "mg_per_ml", "injects"],
    ("db", "status"): ["database", "revision", "needed", "status"],
    ("db", "check"): ["ok", "checks"],
    ("audit", "verify"): ["holds", "events", "problems"],
    ("config", "show"): ["path", "exists", "settings"],
    ("practitioner", "list"): ["practitioners"],
    ("due", "--days", "0"): ["days", "visits"],
}


@pytest.mark.parametrize("command", list(READ_COMMANDS), ids=" ".join)
def test_every_read_command_prints_one_json_document_of_the_documented_shape(seen, command):
    document = json.loads(seen.ok(*command, "--json").stdout)
    first = document[0] if isinstance(document, list) else document
    assert list(first) == READ_COMMANDS[command]


@pytest.mark.parametrize("command", [c for c in READ_COMMANDS if c[0] not in ("config", "db")],
                         ids=" ".join)
def test_tables_fit_80_columns(seen, command):
    for line in seen.ok(*command).stdout.splitlines():
        assert len(line) <= 80, line


ESCAPE = re.compile("\x1b\\[")


def test_no_color_means_no_escape_codes(seen, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # as if on a terminal
    assert ESCAPE.search(seen.ok("history", "P0001").stdout)  # colours by default there
    assert not ESCAPE.search(seen.ok("--no-color", "history", "P0001").stdout)
    monkeypatch.setenv("NO_COLOR", "1")
    for command in (("history", "P0001"), ("summary",), ("muscles",), ("visit", "show", "1")):
        assert not ESCAPE.search(seen.ok(*command).stdout), command


def test_messages_go_to_stderr_and_data_to_stdout(seen):
    result = seen.ok("patient", "add", "Mary Somerville", "--dob", "1970-01-01")
    assert result.stdout.strip() == "P0004" and "Added patient P0004" in result.stderr


def complete(args: str, env: dict | None = None) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "tplog"], capture_output=True, text=True,
                          env={**os.environ, **(env or {}), "_TPLOG_COMPLETE": "complete_bash",
                               "COMP_WORDS": args, "COMP_CWORD": str(len(args.split()) - 1
                                                                     + args.endswith(" "))},
                          timeout=60)
    return done.stdout.split()


def test_completion_of_commands_keys_and_mrns(seen):
    assert complete("tplog hi") == ["history"]
    assert complete("tplog history P0001 --muscle upper-tr") == ["upper-trapezius"]
    assert complete("tplog log P0001 --condition fib") == ["fibromyalgia"]
    assert complete("tplog log P0001 --drug bupi") == ["bupivacaine-0.25", "bupivacaine-0.5"]
    assert complete("tplog log P0001 --point levator-s") == ["levator-scapulae:L",
                                                             "levator-scapulae:R"]
    assert complete(f"tplog --db {seen.url} history P000") == ["P0001", "P0002", "P0003"]


def test_a_unique_name_stands_for_the_mrn(seen):
    history = json.loads(seen.ok("history", "lovelace", "--json").stdout)
    assert history["patient"]["mrn"] == "P0001"
    seen.ok("log", "Grace Hopper", "--point", "deltoid:L pre=3")
    assert json.loads(seen.ok("patient", "show", "P0003", "--json").stdout)["visit_count"] == 1


def test_an_ambiguous_or_unknown_name_fails_with_the_candidates(seen):
    assert_refused(seen.run("history", "Ada"), 1, "'Ada' matches 2 patients: Ada Lovelace "
                                                  "(P0001), Ada Yonath (P0002); give the MRN")
    assert_refused(seen.run("log", "Ada", "--point", "deltoid:L pre=3"), 1, "matches 2")
    assert_refused(seen.run("history", "Lovelase"), 1, "did you mean Ada Lovelace (P0001)")
    assert seen.count("visit") == 1


def test_patient_find_is_fuzzy(seen):
    found = json.loads(seen.ok("patient", "find", "hoper", "--json").stdout)
    assert [p["name"] for p in found][:1] == ["Grace Hopper"]
    assert [p["mrn"] for p in json.loads(seen.ok("patient", "find", "P0002",
                                                 "--json").stdout)][:1] == ["P0002"]


def test_precedence_of_command_line_environment_file_and_default(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    runner = CliRunner()

    def path_of(*args):
        return runner.invoke(app, [*args, "db", "path"]).stdout.strip()

    default = path_of()
    assert default.endswith("tplog/tplog.db")
    assert runner.invoke(app, ["config", "set", "database", str(tmp_path / "file.db")]
                         ).exit_code == 0
    assert path_of() == str(tmp_path / "file.db")                   # file over default
    monkeypatch.setenv("TPLOG_DB", str(tmp_path / "env.db"))
    assert path_of() == str(tmp_path / "env.db")                    # environment over file
    assert path_of("--db", str(tmp_path / "cli.db")) == str(tmp_path / "cli.db")  # option


def test_default_drug_and_volume_from_the_file_yield_to_the_command_line(clinic, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("TPLOG_CONFIG", str(tmp_path / "config.toml"))
    clinic.ok("config", "set", "default_drug", "lidocaine-0.5")
    clinic.ok("config", "set", "default_ml", "2")
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("log", "P0001", "--point", "deltoid:L pre=3")
    clinic.ok("log", "P0001", "--point", "deltoid:R pre=3", "--drug", "saline", "--ml", "1",
              "--date", "2025-01-01")
    rows = clinic.sql("SELECT drug, volume_ml FROM injected_point ORDER BY id")
    assert rows == [("lidocaine-0.5", 2.0), ("saline", 1.0)]


def test_config_set_refuses_unknown_keys_and_bad_values(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    runner = CliRunner()
    assert_refused(runner.invoke(app, ["config", "set", "colour", "blue"]), 2,
                   "unknown config key 'colour'")
    assert_refused(runner.invoke(app, ["config", "set", "checks.sessions_per_year", "0"]), 2,
                   "checks.sessions_per_year = 0 is not allowed")
    assert_refused(runner.invoke(app, ["config", "set", "default_ml", "lots"]), 2,
                   "default_ml 'lots' is not a number")
    assert not config.exists()
    assert runner.invoke(app, ["config", "path"]).stdout.strip() == str(config)


def test_the_command_reference_is_up_to_date(tmp_path):
    generated = tmp_path / "cli.md"
    subprocess.run([sys.executable, "-m", "typer", "tplog.cli", "utils", "docs", "--name",
                    "tplog", "--output", str(generated)], check=True, capture_output=True,
                   cwd=tmp_path, timeout=120)
    assert generated.read_text() == (ROOT / "docs" / "cli.md").read_text(), \
        "docs/cli.md is out of date: python -m typer tplog.cli utils docs --name tplog " \
        "--output docs/cli.md"


def test_on_a_terminal_an_ambiguous_name_asks_which_patient(seen, tmp_path):
    from tests.terminal import converse

    code, screen = converse(["--db", seen.url, "history", "Ada"],
                            [("Which patient is 'Ada'?", "2")], tmp_path)
    assert code == 0, screen
    assert "1. Ada Lovelace (P0001)" in screen and "History of P0002 Ada Yonath" in screen
