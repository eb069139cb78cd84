"""tplog export --deidentify: HIPAA Safe Harbor (dates as the year, research ids new in every
export), and --shift-dates (not Safe Harbor: dates shifted per patient by an amount derived
from the database's own key, the same in every export of one database)."""

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import re

import pytest

from tests.conftest import assert_refused, built_once, new_clinic

FORMATS = ["csv", "json", "fhir", "html", "md"]
# What no de-identified export may hold: names, MRNs, the note, the practitioners, the dates
# of birth.
IDENTIFIERS = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "P0001", "P0002", "P0003",
               "tolerated well", "Dr Finch", "Dr Lee", "1950-12-10", "1930-01-05",
               "1912-06-23")
# The true visit dates, by MRN, in order.
VISITS = {"P0001": [dt.date(2026, 3, 1), dt.date(2026, 4, 2)],
          "P0002": [dt.date(2026, 3, 15)],
          "P0003": [dt.date(2026, 5, 20)]}
TODAY = re.compile(r"Prepared with tplog on \d{4}-\d{2}-\d{2}")
UUID = re.compile(r"urn:uuid:[0-9a-f-]{36}")


def fill(clinic):
    """The same three patients and four visits, in any database."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10", "--sex", "female")
    clinic.ok("patient", "weight", "P0001", "61.5", "--on", "2026-02-10")
    clinic.ok("patient", "add", "Grace Hopper", "--dob", "1930-01-05", "--sex", "female")
    clinic.ok("patient", "add", "Alan Turing", "--dob", "1912-06-23", "--sex", "male")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch",
              "--condition", "myofascial-pain", "--drug", "lidocaine-1", "--ml", "1",
              "--note", "tolerated well",
              "--point", "upper-trapezius:L pre=7 post=3 twitch=yes soreness=mild numbness=no",
              "--point", "rhomboids:L pre=5 drug=bupivacaine-0.25 ml=0.5")
    clinic.ok("log", "P0001", "--date", "2026-04-02", "--practitioner", "Dr Finch",
              "--point", "gluteus-medius:L pre=6 post=1 drug=saline ml=2")
    clinic.ok("log", "P0002", "--date", "2026-03-15", "--practitioner", "Dr Lee",
              "--condition", "whiplash", "--point", "sternocleidomastoid:L pre=8 post=5")
    clinic.ok("log", "P0003", "--date", "2026-05-20", "--practitioner", "Dr Lee",
              "--point", "deltoid:R pre=4 post=2")
    return clinic


@built_once
def clinic_data(clinic):
    return fill(clinic)


def export(clinic, *args):
    return clinic.ok("export", "--all", *args)


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def key_of(clinic) -> bytes:
    ((secret,),) = clinic.sql("SELECT secret FROM deidentification_key")
    return bytes.fromhex(secret)


def derived(key: bytes, purpose: str, mrn: str) -> bytes:
    """As documented: HMAC-SHA256 of the MRN under the database's key."""
    return hmac.new(key, f"{purpose}:{mrn}".encode(), hashlib.sha256).digest()


def shift_of(key: bytes, mrn: str) -> int:
    """Days back: 1-364."""
    return 1 + int.from_bytes(derived(key, "date-shift", mrn)[:8], "big") % 364


def research_id_of(key: bytes, mrn: str) -> str:
    return "R" + derived(key, "research-id", mrn)[:8].hex().upper()


def shifted_visits(clinic) -> dict[str, list[str]]:
    """Research id -> the visit dates of a --shift-dates CSV export."""
    dates: dict[str, list[str]] = {}
    for row in csv_rows(export(clinic, "--deidentify", "--shift-dates").stdout):
        seen = dates.setdefault(row["mrn"], [])
        if row["visit_date"] not in seen:
            seen.append(row["visit_date"])
    return dates


# --- Safe Harbor: --deidentify --------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_deidentify_shows_only_years_no_identifiers_and_ages_over_89_as_90_plus(clinic_data,
                                                                                 fmt):
    result = export(clinic_data, "-f", fmt, "--deidentify")
    text = result.stdout
    for identifier in IDENTIFIERS:
        assert identifier not in text, (fmt, identifier)
    # No day and no month of any date: the only one left is the day the HTML was made
    # (and FHIR's references are UUIDs).
    assert not re.search(r"\d{4}-\d{2}", UUID.sub("", TODAY.sub("", text))), fmt
    assert "2026" in text
    assert "NOT HIPAA" not in result.stderr + text and result.stderr == ""
    if fmt == "csv":
        rows = csv_rows(text)
        assert {r["visit_date"] for r in rows} == {"2026"}
        assert all(r["patient_name"] == r["date_of_birth"] == r["practitioner"]
                   == r["visit_note"] == "" for r in rows)
        assert {r["age_at_visit"] for r in rows} == {"75", "90+"}
    elif fmt == "json":
        document = json.loads(text)
        assert (document["deidentified"], document["deidentification"]) == (True,
                                                                            "safe-harbor")
        ada = document["patients"][0]
        assert [v["visit_date"] for v in ada["visits"]] == [2026, 2026]
        # Grace was 96 at her visit, Alan 113.
        assert [p["visits"][0]["age_at_visit"] for p in document["patients"]] == ["75", "90+",
                                                                                 "90+"]
        assert ada["visits"][0]["dose_check"]["weight"] == "61.5 kg weighed in 2026"
    elif fmt == "fhir":
        from fhir.resources.R4B.bundle import Bundle

        bundle = json.loads(text)
        Bundle.model_validate(bundle)
        assert bundle["meta"]["tag"][0]["code"] == "safe-harbor"
        encounters = [e["resource"] for e in bundle["entry"]
                      if e["resource"]["resourceType"] == "Encounter"]
        assert {e["period"]["start"] for e in encounters} == {"2026"}
        patients = [e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Patient"]
        assert all("birthDate" not in p and "name" not in p and "identifier" not in p
                   for p in patients)
    else:
        assert "De-identified (HIPAA Safe Harbor)" in text and "dates as the year only" in text
        assert "Visit 1: 2026" in text and "weighed in 2026" in text
        if fmt == "html":
            assert text.count("age 90+ at the first visit shown") == 2


def test_plain_deidentify_gives_new_research_ids_in_every_export(clinic_data):
    first = {r["mrn"] for r in csv_rows(export(clinic_data, "--deidentify").stdout)}
    again = {r["mrn"] for r in csv_rows(export(clinic_data, "--deidentify").stdout)}
    assert len(first) == len(again) == 3
    assert all(re.fullmatch(r"R[0-9A-F]{8}", i) for i in first | again)
    assert first.isdisjoint(again)


def test_year_only_is_still_accepted_means_the_same_and_is_not_listed(clinic_data):
    rows = csv_rows(export(clinic_data, "--deidentify", "--year-only").stdout)
    assert {r["visit_date"] for r in rows} == {"2026"}
    assert {r["age_at_visit"] for r in rows} == {"75", "90+"}
    shown = clinic_data.ok("export", "--help").stdout
    assert "--year-only" not in shown and "--shift-dates" in shown
    assert "NOT HIPAA" in " ".join(shown.split())


# --- Shifted dates: --deidentify --shift-dates ----------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_shifted_exports_are_identical_every_time_and_say_they_are_not_safe_harbor(
        clinic_data, fmt):
    first = export(clinic_data, "-f", fmt, "--deidentify", "--shift-dates")
    again = export(clinic_data, "-f", fmt, "--deidentify", "--shift-dates")
    assert TODAY.sub("", first.stdout) == TODAY.sub("", again.stdout)
    for result in (first, again):
        assert result.stderr.strip().splitlines() == [
            "Dates are shifted, not reduced to the year: this export is NOT HIPAA Safe "
            "Harbor de-identified."]
    text = first.stdout
    for identifier in IDENTIFIERS:
        assert identifier not in text, (fmt, identifier)
    key = key_of(clinic_data)
    for mrn, dates in VISITS.items():
        if fmt != "csv" or mrn == "P0001":  # the CSV has the id on every row, the others
            assert research_id_of(key, mrn) in text.upper(), (fmt, mrn)  # (FHIR: lower)
        for date in dates:
            assert (date - dt.timedelta(days=shift_of(key, mrn))).isoformat() in text
    if fmt == "json":
        document = json.loads(text)
        assert document["deidentification"] == "shifted-dates-not-safe-harbor"
        ada = document["patients"][0]
        weighed = dt.date(2026, 2, 10) - dt.timedelta(days=shift_of(key, "P0001"))
        assert ada["visits"][0]["dose_check"]["weight"] == f"61.5 kg weighed {weighed}"
    elif fmt == "fhir":
        from fhir.resources.R4B.bundle import Bundle

        bundle = json.loads(text)
        Bundle.model_validate(bundle)
        (tag,) = bundle["meta"]["tag"]
        assert tag["code"] == "shifted-dates" and "NOT HIPAA Safe Harbor" in tag["display"]
    elif fmt in ("html", "md"):
        assert "dates shifted per patient: NOT HIPAA Safe Harbor" in text


def test_shifted_dates_keep_each_patients_intervals_and_never_show_a_true_date(clinic_data):
    key = key_of(clinic_data)
    dates = shifted_visits(clinic_data)
    assert dates == {research_id_of(key, mrn): [
        (d - dt.timedelta(days=shift_of(key, mrn))).isoformat() for d in visits]
        for mrn, visits in VISITS.items()}
    for mrn, visits in VISITS.items():
        shown = [dt.date.fromisoformat(d) for d in dates[research_id_of(key, mrn)]]
        shifts = {(true - moved).days for true, moved in zip(visits, shown, strict=True)}
        (days,) = shifts  # one shift for all of a patient's visits
        assert 1 <= days <= 364
    assert all(re.fullmatch(r"R[0-9A-F]{16}", i) for i in dates)


def test_shifts_and_research_ids_differ_between_two_clinics_with_the_same_patients(
        clinic_data, tmp_path):
    with new_clinic(clinic_data.backend, tmp_path, "other") as other:
        other.ok("patient", "list")
        fill(other)
        here, there = shifted_visits(clinic_data), shifted_visits(other)
        key_here, key_there = key_of(clinic_data), key_of(other)
    assert key_here != key_there
    assert set(here).isdisjoint(there)  # no research id in common
    assert list(here.values()) != list(there.values())  # the same visits, other dates
    assert [shift_of(key_here, m) for m in VISITS] != [shift_of(key_there, m) for m in VISITS]


def test_a_restored_backup_gives_the_same_shifts(clinic_data, tmp_path):
    """The key is part of the database: a backup carries it, a restore brings it back."""
    before = export(clinic_data, "--deidentify", "--shift-dates").stdout
    clinic_data.ok("db", "backup", str(tmp_path / "monday.tplog"))
    _without_guards(clinic_data, "DELETE FROM deidentification_key")
    events = clinic_data.count("audit_event")
    result = clinic_data.run("export", "--all", "--deidentify", "--shift-dates")
    assert_refused(result, 3, "de-identification key is missing or damaged",
                   "restore the database from a backup")
    assert result.stdout == "" and clinic_data.count("audit_event") == events
    # Safe Harbor needs no key.
    assert "2026" in export(clinic_data, "--deidentify").stdout
    clinic_data.ok("db", "restore", str(tmp_path / "monday.tplog"))
    assert export(clinic_data, "--deidentify", "--shift-dates").stdout == before


def _without_guards(clinic, *statements):
    """As someone with direct database access would: past tplog's triggers."""
    if clinic.backend == "postgresql":
        statements = ("SET session_replication_role = replica", *statements)
    else:
        triggers = clinic.sql("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                              "AND tbl_name = 'deidentification_key'")
        statements = (*[f"DROP TRIGGER {name}" for (name,) in triggers], *statements)
    clinic.sql_script(statements)


@pytest.mark.parametrize("statement", [
    "UPDATE deidentification_key SET secret = '00'",
    "DELETE FROM deidentification_key",
    "INSERT INTO deidentification_key (id, secret, created_at) "
    "VALUES (2, 'ab', '2026-01-01 00:00:00')",
])
def test_the_database_refuses_to_change_or_add_a_key(clinic, statement):
    import sqlalchemy

    key = key_of(clinic)
    with pytest.raises(sqlalchemy.exc.DatabaseError,
                       match="append-only|one_key|CHECK constraint|check constraint"):
        clinic.sql(statement)
    assert key_of(clinic) == key and clinic.count("deidentification_key") == 1


# --- Refusals -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--shift-dates"], "--shift-dates goes with --deidentify"),
    (["--shift-dates", "-f", "json"], "--shift-dates goes with --deidentify"),
    (["--deidentify", "--year-only", "--shift-dates"],
     "--year-only and --shift-dates contradict each other"),
    (["--year-only", "--shift-dates"], "--year-only and --shift-dates contradict each other"),
])
def test_shift_dates_refusals_write_and_audit_nothing(clinic_data, tmp_path, args, fragment):
    events = clinic_data.count("audit_event")
    files = set(tmp_path.iterdir())
    target = tmp_path / "out.csv"
    result = clinic_data.run("export", "--all", *args, "-o", str(target))
    assert_refused(result, 2, fragment)
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == "" and set(tmp_path.iterdir()) == files
    assert clinic_data.count("audit_event") == events


def test_the_trail_says_which_de_identification_an_export_had(clinic_data):
    export(clinic_data, "--deidentify", "--shift-dates", "-f", "json")
    export(clinic_data, "--deidentify", "-f", "md")
    *_, shifted, harbor = json.loads(clinic_data.ok("audit", "log", "--json").stdout)
    assert shifted["target"] == "json export of all patients (de-identified, dates shifted) " \
                                "to stdout"
    assert harbor["target"] == "md export of all patients (de-identified) to stdout"
    assert "holds" in clinic_data.ok("audit", "verify").stdout


def test_a_days_visits_are_named_by_their_number_in_the_export_not_their_database_id(
        clinic_data):
    clinic_data.ok("log", "P0002", "--date", "2026-03-15", "--practitioner", "Dr Lee",
                   "--point", "deltoid:R pre=4 post=2 drug=lidocaine-1 ml=1")  # visit id 5
    assert "for the day (visits 3, 5;" in export(clinic_data, "-f", "md").stdout
    for flags in (["--deidentify"], ["--deidentify", "--shift-dates"]):
        text = export(clinic_data, "-f", "md", *flags).stdout
        assert "### Visit 4: " in text and text.count("for the day (visits 3, 4;") == 2
        assert "visits 3, 5" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_drug_lots_and_their_expiry_stay_out_of_a_deidentified_export(clinic, fmt):
    """A lot number names a batch a clinic's supply records tie to its patients, and its
    expiry is a date with its month, neither shifted nor a year: a de-identified export leaves
    the lots out (Safe Harbor and --shift-dates); a plain one keeps them."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--lot", "lidocaine-1=QX81734:2027-05",
              "--point", "upper-trapezius:L pre=7 post=3 drug=lidocaine-1 ml=1")
    assert "QX81734" in export(clinic, "-f", fmt).stdout
    for how in (["--deidentify"], ["--deidentify", "--shift-dates"]):
        text = export(clinic, "-f", fmt, *how).stdout
        assert "QX81734" not in text and "2027-05" not in text, (fmt, how)
        if fmt == "csv":
            assert {row["lots"] for row in csv_rows(text)} == {""}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_follow_up_into_the_next_year_does_not_date_the_visit(clinic, fmt):
    """Safe Harbor: a visit of 2025 and its follow-up of 2026 six days later put the visit in
    the last days of December. The follow-up keeps its interval and outcome; its date (even
    as the year) is left out. With --shift-dates it is shifted as the visit is."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    clinic.ok("log", "P0001", "--date", "2025-12-28",
              "--point", "upper-trapezius:L pre=8 post=3 drug=lidocaine-1 ml=1")
    clinic.ok("followup", "1", "--pain", "2", "--on", "2026-01-03", "--yes")
    text = export(clinic, "-f", fmt, "--deidentify").stdout
    assert "2026" not in TODAY.sub("", text), fmt
    assert "2025" in text and "6 day" in text if fmt in ("md", "html") else True
    if fmt == "csv":
        (row,) = csv_rows(text)
        (follow_up,) = json.loads(row["follow_ups"])
        assert (follow_up["reported_on"], follow_up["days_after"], follow_up["pain"]) == \
            (None, 6, 2)
    shifted = export(clinic, "-f", fmt, "--deidentify", "--shift-dates").stdout
    if fmt == "csv":
        (row,) = csv_rows(shifted)
        (follow_up,) = json.loads(row["follow_ups"])
        visit_day = dt.date.fromisoformat(row["visit_date"])
        assert dt.date.fromisoformat(follow_up["reported_on"]) - visit_day == \
            dt.timedelta(days=6)
