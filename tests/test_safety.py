"""Safety checks when logging: the dose asks for confirmation; the rest warn and are saved."""

import json

import pytest

from tests.conftest import assert_refused, built_once
from tests.terminal import converse

# Lidocaine 2 % is 20 mg/mL; for 60 kg the limit is 4.5 mg/kg x 60 = 270 mg (13.5 mL).
OVER = "deltoid:L pre=6 post=2 drug=lidocaine-2 ml=13.6"
AT = "deltoid:L pre=6 post=2 drug=lidocaine-2 ml=13.5"


@built_once
def patient(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01")
    clinic.ok("patient", "weight", "P0001", "60", "--on", "2024-01-01")
    return clinic


def saved(clinic, number=1):
    return json.loads(clinic.ok("visit", "show", str(number), "--json").stdout)


def test_a_dose_at_the_limit_saves_without_asking(patient):
    result = patient.ok("log", "P0001", "--point", AT)
    assert "over the limit" not in result.stderr
    assert saved(patient)["warnings"] == []


def test_a_dose_over_the_limit_without_a_terminal_saves_nothing(patient):
    result = patient.run("log", "P0001", "--point", OVER)
    assert_refused(result, 5, "the dose is over the limit", "there is no terminal",
                   "confirm with --yes")
    assert ("Warning: local anaesthetic dose on " in result.stderr
            and "lidocaine 272 mg of 270 mg = 1.01 (4.5 mg/kg x 60 kg (60 kg weighed 2024-01-01)"
            in result.stderr)
    # Only the patient and the weight were written (two events); no visit.
    assert patient.count("visit") == 0 and patient.count("audit_event") == 2


def test_yes_confirms_and_the_warning_is_saved_with_the_visit(patient):
    result = patient.ok("log", "P0001", "--point", OVER, "--yes")
    assert "lidocaine 272 mg of 270 mg" in result.stderr
    (warning,) = saved(patient)["warnings"]
    assert warning["kind"] == "dose" and warning["confirmation"] == "confirmed with --yes"
    assert "272 mg" in warning["message"]
    assert "Warning when logged: local anaesthetic dose" in patient.ok("visit", "show", "1").stdout


def _on_a_terminal(database, answer, tmp_path):
    """`tplog log` with a dose over the limit, on a pseudo-terminal, answering the question."""
    return converse(["--db", database, "log", "P0001", "--point", OVER],
                    [("Save this visit with the dose over the limit?", answer)], tmp_path)


def test_the_terminal_prompt_confirms(patient, tmp_path):
    code, screen = _on_a_terminal(patient.url, "y", tmp_path)
    assert code == 0, screen
    assert saved(patient)["warnings"][0]["confirmation"] == "confirmed at the prompt"


def test_the_terminal_prompt_declined_saves_nothing(patient, tmp_path):
    code, screen = _on_a_terminal(patient.url, "n", tmp_path)
    assert code == 5 and "was not confirmed; nothing was saved" in screen
    assert patient.count("visit") == 0


def test_unknown_weight_is_checked_as_a_50_kg_adult(clinic):
    clinic.ok("patient", "add", "No Weight", "--dob", "1960-05-05")
    # 50 kg x 4.5 mg/kg = 225 mg; 11.3 mL of 2 % = 226 mg.
    result = clinic.run("log", "P0001", "--point", "deltoid:L pre=5 drug=lidocaine-2 ml=11.3")
    assert_refused(result, 5, "no weight on record, a 50 kg adult assumed",
                   "Warning: no weight on record for P0001")
    saved_ok = clinic.ok("log", "P0001", "--point", "deltoid:L pre=5 drug=lidocaine-2 ml=11.25")
    # Said on every log, and kept with the visit.
    assert "Warning: no weight on record for P0001" in saved_ok.stderr
    assert [w["kind"] for w in saved(clinic)["warnings"]] == ["weight"]


def test_dose_limits_can_be_set_in_the_config_file(patient, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("[dose_limits.lidocaine]\nmg_per_kg = 5\n")
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    patient.ok("log", "P0001", "--point", OVER)  # 272 mg is within 5 x 60 = 300 mg
    config.write_text("[dose_limits.lidocaine]\nmg_per_kg = 4\n")
    result = patient.run("log", "P0001", "--point", AT)  # 270 mg over 240 mg
    assert_refused(result, 5, f"4 mg/kg x 60 kg (60 kg weighed 2024-01-01); set in {config}")


@pytest.fixture
def injected(patient):
    patient.ok("log", "P0001", "--date", "2026-03-01", "--point", "deltoid:L pre=6 post=2",
               "--point", "masseter:R pre=4")
    return patient


@pytest.mark.parametrize("date, site, flagged", [
    ("2026-03-15", "deltoid:L", True),    # 14 days: inside the interval
    ("2026-03-01", "deltoid:L", True),    # the same day
    ("2026-03-16", "deltoid:L", False),   # 15 days: outside
    ("2026-03-05", "deltoid:R", False),   # the other side
    ("2026-03-05", "rhomboids:L", False),  # another muscle
])
def test_reinjection_inside_and_outside_the_interval(injected, date, site, flagged):
    result = injected.ok("log", "P0001", "--date", date, "--point", f"{site} pre=5")
    message = "deltoid L was injected on 2026-03-01"
    assert (message in result.stderr) is flagged
    kinds = [w["kind"] for w in saved(injected, 2)["warnings"]]
    assert ("reinjection" in kinds) is flagged


def test_reinjection_ignores_a_voided_visit_and_follows_the_config(injected, tmp_path,
                                                                   monkeypatch):
    injected.ok("visit", "void", "1", "--yes", "--reason", "wrong patient")
    result = injected.ok("log", "P0001", "--date", "2026-03-05", "--point", "deltoid:L pre=5")
    assert "was injected on" not in result.stderr
    config = tmp_path / "config.toml"
    config.write_text("[checks]\nreinjection_days = 3\n")
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    result = injected.ok("log", "P0001", "--date", "2026-03-09", "--point", "deltoid:L pre=5")
    assert "was injected on" not in result.stderr  # 4 days after visit 2, beyond 3
    result = injected.ok("log", "P0001", "--date", "2026-03-11", "--point", "deltoid:L pre=5")
    assert "deltoid L was injected on 2026-03-09, 2 day(s) before" in result.stderr


def test_more_than_three_sessions_in_twelve_months_is_flagged(patient):
    for date in ("2024-06-01", "2024-11-01", "2025-03-10"):
        result = patient.ok("log", "P0001", "--yes", "--date", date, "--point", "rhomboids:L pre=5")
        assert "sessions in the 12 months" not in result.stderr
    result = patient.ok("log", "P0001", "--yes",
                        "--date", "2025-05-31", "--point", "masseter:L pre=5")
    assert "4 sessions in the 12 months to 2025-05-31, more than 3" in result.stderr
    assert [w["kind"] for w in saved(patient, 4)["warnings"]] == ["sessions"]
    # On 2025-06-02 the 2024-06-01 session has rolled out of the window, 2025-05-31 is in.
    result = patient.ok("log", "P0001", "--yes",
                        "--date", "2025-06-02", "--point", "masseter:R pre=5")
    assert "4 sessions in the 12 months to 2025-06-02" in result.stderr
    result = patient.ok("log", "P0001", "--yes",
                        "--date", "2026-05-01", "--point", "deltoid:R pre=5")
    assert "sessions in the 12 months" not in result.stderr  # 2025-05-31, 06-02 and this


def test_injections_over_the_thorax_get_an_aftercare_reminder(patient):
    result = patient.ok("log", "P0001", "--point", "rhomboids:L pre=5",
                        "--point", "deltoid:R pre=4")
    assert "Caution: injected over the thorax (rhomboids L): pneumothorax risk" in \
        result.stderr
    assert "pneumothorax risk" in patient.ok("visit", "show", "1").stdout
    assert [w["kind"] for w in saved(patient)["warnings"]] == ["thorax"]
    quiet = patient.ok("log", "P0001", "--point", "deltoid:R pre=4", "--date", "2025-01-01")
    assert "pneumothorax" not in quiet.stderr


@pytest.mark.parametrize("text, fragment", [
    ("practitioner = ", "is not valid TOML"),
    ("colour = 'blue'\n", "unknown key 'colour'"),
    ("[checks]\nreinjection_days = 'two weeks'\n",
     "checks.reinjection_days = 'two weeks' is not allowed"),
    ("[checks]\nsessions_per_year = 0\n", "checks.sessions_per_year = 0 is not allowed"),
    ("[dose_limits.procaine]\nmax_mg = 1\n", "unknown key 'dose_limits.procaine'"),
    ("[dose_limits.lidocaine]\nmax_mg = -5\n", "dose_limits.lidocaine.max_mg = -5"),
])
def test_a_bad_config_file_is_refused_naming_the_file_and_key(patient, tmp_path, monkeypatch,
                                                              text, fragment):
    config = tmp_path / "config.toml"
    config.write_text(text)
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    result = patient.run("log", "P0001", "--point", "deltoid:L pre=5")
    assert_refused(result, 2, f"config file {config}", fragment)
    assert patient.count("visit") == 0


def test_the_config_file_names_the_default_practitioner(patient, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('practitioner = "Dr Config"\n')
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    patient.ok("log", "P0001", "--point", "deltoid:L pre=5")
    assert saved(patient)["practitioner"] == "Dr Config"
    monkeypatch.setenv("TPLOG_PRACTITIONER", "Dr Env")
    patient.ok("log", "P0001", "--point", "deltoid:L pre=5", "--date", "2025-01-01")
    assert saved(patient, 2)["practitioner"] == "Dr Env"


def test_an_amendment_with_new_points_is_checked_like_a_new_visit(injected):
    # Visit 1 (2026-03-01): deltoid L, masseter R. Amending it must not count it against
    # itself, but a dose over the limit in the new points must be confirmed.
    result = injected.ok("visit", "amend", "--replace-points",
                         "1", "--reason", "deltoid side", "--point",
                         "deltoid:R pre=6 post=2", "--point", "masseter:R pre=4")
    assert "was injected on" not in result.stderr and "sessions" not in result.stderr
    refused = injected.run("visit", "amend", "--replace-points",
                           "1", "--reason", "volume", "--point", OVER)
    assert_refused(refused, 5, "the dose is over the limit")
    assert injected.count("visit_revision") == 2
    injected.ok("visit", "amend", "--replace-points",
                "1", "--reason", "volume", "--point", OVER, "--yes")
    warnings = saved(injected)["warnings"]
    (warning,) = [w for w in warnings if w["kind"] == "dose"]
    assert warning["confirmation"] == "confirmed with --yes"
    injected.ok("visit", "amend", "1", "--reason", "note only", "--note", "fine")
    assert [w["kind"] for w in saved(injected)["warnings"]] == ["dose"]  # same points, same
