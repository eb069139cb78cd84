"""Issue 16, injectates: a point's mixture of drugs (each with its mL, or a mixture named in
the config file), corticosteroids with their mg and the patient's 12-month total, and each
drug's lot number and expiry; the dose check counts every local anaesthetic of a mixture."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import assert_refused, built_once
from tests.terminal import PROCEDURE, SIGNS, converse
from tests.test_migrations import _step, seed_at
from tplog import db

MIXTURE = "lidocaine-1:2+triamcinolone-40:0.5"
WRITTEN = ("visit", "visit_revision", "injected_point", "injectate_lot", "audit_event")


@built_once
def ada_on_record(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1970-01-01", "--weight-kg", "60")


@pytest.fixture
def ada(ada_on_record, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[mixtures]\nlido-kenalog = "lidocaine-1:1 + triamcinolone-40:1"\n')
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    return ada_on_record


def shown(clinic, visit_id=1, *args):
    return json.loads(clinic.ok("visit", "show", str(visit_id), "--json", *args).stdout)


def written(clinic):
    return {table: clinic.count(table) for table in WRITTEN}


def test_a_mixture_is_saved_shown_and_counted(ada):
    result = ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
                    f"upper-trapezius:L pre=7 post=3 drug={MIXTURE}",
                    "--point", "deltoid:R pre=5 drug=lidocaine-1 ml=1")
    # At log time: each drug with its mL, the steroid's mg and its 12-month total.
    assert "triamcinolone-40 0.5 mL" in result.stdout
    assert "Steroid: triamcinolone 20 mg at this visit, 20 mg in the 12 months" in result.stdout
    visit = shown(ada)
    mixed, single = visit["points"]
    assert (mixed["drug"], mixed["volume_ml"], mixed["injectate"]) == (None, None, MIXTURE)
    assert mixed["components"] == [{"drug": "lidocaine-1", "volume_ml": 2.0},
                                   {"drug": "triamcinolone-40", "volume_ml": 0.5}]
    # A point of one drug is stored as it always was.
    assert (single["drug"], single["volume_ml"], single["injectate"]) == \
        ("lidocaine-1", 1.0, None)
    assert visit["dose_totals_mg"] == {"lidocaine": 30.0}  # (2 + 1) mL x 10 mg/mL
    assert visit["steroids"] == [{"steroid": "triamcinolone", "visit_mg": 20.0,
                                  "twelve_month_mg": 20.0, "threshold_mg": None}]
    text = ada.ok("visit", "show", "1").stdout
    assert "lidocaine-1 2 mL" in text and "Steroid: triamcinolone 20 mg" in text
    assert "holds" in ada.ok("audit", "verify").stdout


def test_a_named_mixture_from_the_config_file(ada):
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           "upper-trapezius:L pre=7 drug=lido-kenalog")
    assert shown(ada)["points"][0]["injectate"] == "lidocaine-1:1+triamcinolone-40:1"


def test_one_drug_with_its_ml_reads_as_drug_and_ml(ada):
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           "upper-trapezius:L pre=7 drug=bupivacaine-0.25:2")
    point = shown(ada)["points"][0]
    assert (point["drug"], point["volume_ml"], point["injectate"]) == \
        ("bupivacaine-0.25", 2.0, None)


def test_the_12_month_steroid_total_counts_earlier_visits(ada):
    ada.ok("log", "P0001", "--date", "2025-10-01", "--point",
           "deltoid:L pre=5 drug=lidocaine-1:1+methylprednisolone-40:1")  # over 12 months ago
    ada.ok("log", "P0001", "--date", "2026-06-01", "--point",
           "deltoid:L pre=5 drug=lidocaine-1:1+methylprednisolone-40:1")
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           "deltoid:R pre=5 drug=lidocaine-1:1+methylprednisolone-80:0.5")
    (steroid,) = shown(ada, 3)["steroids"]
    assert (steroid["visit_mg"], steroid["twelve_month_mg"]) == (40.0, 80.0)
    # History gives each visit's steroid as `visit show` does, with its 12-month total.
    history = json.loads(ada.ok("history", "P0001", "--json").stdout)["visits"]
    assert [[(s["visit_mg"], s["twelve_month_mg"]) for s in v["steroids"]]
            for v in history] == [[(40.0, 80.0)], [(40.0, 80.0)], [(40.0, 40.0)]]
    assert ada.ok("history", "P0001").stdout.count(
        "Steroid: methylprednisolone 40 mg at this visit, 80 mg in the 12 months") == 2
    ada.ok("visit", "void", "2", "--reason", "wrong patient", "--yes")
    assert shown(ada, 3)["steroids"][0]["twelve_month_mg"] == 40.0


@pytest.mark.parametrize(("drug", "fragments"), [
    ("lidocane-1:1+triamcinolone-40:1", ("unknown drug 'lidocane-1'",
                                         "did you mean lidocaine-1")),
    ("lidocaine-1:1+triamcinolone-40:0", ("volume of triamcinolone-40 '0' is not allowed",)),
    ("lidocaine-1:1+triamcinolone-40:abc", ("volume of triamcinolone-40 'abc'",)),
    ("lidocaine-1:1++triamcinolone-40:1", ("has an empty component (number 2)",)),
    ("lidocaine-1:1+", ("has an empty component (number 2)",)),
    ("lidocaine-1+triamcinolone-40:1", ("component 'lidocaine-1' has no volume",)),
    ("lidocaine-1:1+dry-needling:1", ("dry-needling injects nothing",)),
    ("lidocaine-1:1+lidocaine-1:1", ("lidocaine-1 is given twice",)),
])
def test_a_bad_mixture_is_refused_and_nothing_is_written(ada, drug, fragments):
    before = written(ada)
    result = ada.run("log", "P0001", "--date", "2026-11-02", "--point",
                     f"upper-trapezius:L pre=7 drug={drug}")
    assert_refused(result, 2, "point 1:", *fragments)
    assert len(result.stderr.strip().splitlines()) == 1
    assert written(ada) == before


def test_ml_with_a_mixture_is_refused(ada):
    before = written(ada)
    assert_refused(ada.run("log", "P0001", "--point",
                           f"deltoid:L pre=7 drug={MIXTURE} ml=2"),
                   2, "ml=2 is not used with a mixture")
    assert_refused(ada.run("log", "P0001", "--point", "deltoid:L pre=7 drug=lidocaine-1:2 ml=2"),
                   2, "the volume is given twice")
    assert written(ada) == before


def test_a_mixture_whose_lidocaine_passes_the_days_limit_needs_confirmation(ada):
    # 60 kg: 4.5 mg/kg x 60 = 270 mg of lidocaine. 20 mL of 1 % (200 mg) earlier that day,
    # then a mixture with 8 mL of 1 % (80 mg): 280 mg, over the limit.
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           "deltoid:L pre=5 drug=lidocaine-1 ml=20")
    before = written(ada)
    spec = "upper-trapezius:R pre=6 drug=lidocaine-1:8+triamcinolone-40:1"
    result = ada.run("log", "P0001", "--date", "2026-11-02", "--point", spec)
    assert_refused(result, 5, "over the limit", "nothing was saved")
    assert "lidocaine 280 mg of 270 mg" in result.stderr
    assert written(ada) == before
    # Without the mixture's lidocaine the same day is within the limit.
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           "upper-trapezius:R pre=6 drug=triamcinolone-40:1")
    saved = ada.ok("log", "P0001", "--date", "2026-11-02", "--point", spec, "--yes")
    assert "Saved visit 3" in saved.stderr
    assert shown(ada, 3)["warnings"][0]["confirmation"] == "confirmed with --yes"


def test_lots_are_saved_per_visit_and_shown(ada):
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           f"upper-trapezius:L pre=7 drug={MIXTURE}",
           "--lot", "lidocaine-1=AB123:2026-11", "--lot", "triamcinolone-40=K-9/1:2027-01-31")
    assert shown(ada)["lots"] == [
        {"drug": "lidocaine-1", "lot": "AB123", "expiry": "2026-11"},
        {"drug": "triamcinolone-40", "lot": "K-9/1", "expiry": "2027-01-31"}]
    assert "lidocaine-1 lot AB123 expires 2026-11" in ada.ok("visit", "show", "1").stdout
    assert "holds" in ada.ok("audit", "verify").stdout


@pytest.mark.parametrize(("lot", "fragments"), [
    ("lidocaine-1=AB123:2026-10", ("expired on 2026-10-31, before the visit (2026-11-02)",)),
    ("lidocaine-1=AB123:2026-11-01", ("expired on 2026-11-01",)),
    ("lidocaine-1=AB123", ("--lot 'lidocaine-1=AB123' is not understood",
                           "DRUG=LOT:EXPIRY")),
    ("AB123:2027-05", ("is not understood",)),
    ("lidocaine-1=:2027-05", ("lot '' is not allowed",)),
    ("lidocaine-1=A B:2027-05", ("lot 'A B' is not allowed",)),
    ("lidocaine-1=-AB1:2027-05", ("lot '-AB1' is not allowed", "starting with a letter or digit")),
    ("lidocaine-1=AB123:2027-13", ("there is no month 13",)),
    ("lidocaine-1=AB123:05-2027", ("expiry '05-2027' is not allowed", "YYYY-MM")),
    ("lidocane-1=AB123:2027-05", ("unknown drug 'lidocane-1'", "did you mean lidocaine-1")),
    ("bupivacaine-0.5=AB123:2027-05", ("no point of the visit injects bupivacaine-0.5",)),
])
def test_a_bad_or_expired_lot_is_refused_and_nothing_is_written(ada, lot, fragments):
    before = written(ada)
    result = ada.run("log", "P0001", "--date", "2026-11-02", "--point",
                     f"upper-trapezius:L pre=7 drug={MIXTURE}", "--lot", lot)
    assert_refused(result, 2, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1
    assert written(ada) == before


def test_amend_a_point_with_a_mixture(ada):
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point", "deltoid:L pre=7 post=3",
           "--point", f"deltoid:R pre=6 drug={MIXTURE}",
           "--lot", "triamcinolone-40=K9:2027-01")
    ada.ok("visit", "amend", "1", "--reason", "the steroid went into the left too",
           "--set", "1 drug=lido-kenalog")
    left, right = shown(ada)["points"]
    assert (left["drug"], left["volume_ml"], left["injectate"]) == \
        (None, None, "lidocaine-1:1+triamcinolone-40:1")
    assert right["injectate"] == MIXTURE and left["pain_after"] == 3
    assert shown(ada)["lots"][0]["lot"] == "K9"  # carried over
    changes = shown(ada, 1, "--revisions")["revisions"][1]["changes"]
    assert changes == ["deltoid L: mixture not recorded → lidocaine-1:1+triamcinolone-40:1"]
    # Back to one drug; a volume with a mixture is refused.
    before = written(ada)
    assert_refused(ada.run("visit", "amend", "1", "--reason", "x", "--set", "2 ml=2"), 2,
                   "point 2: ml=2 is not used with a mixture")
    assert written(ada) == before
    ada.ok("visit", "amend", "1", "--reason", "plain lidocaine after all",
           "--set", "2 drug=lidocaine-1:3")
    right = shown(ada)["points"][1]
    assert (right["drug"], right["volume_ml"], right["injectate"]) == ("lidocaine-1", 3.0, None)
    # The lots are replaced by --lot; a lot of a drug no longer injected is refused.
    ada.ok("visit", "amend", "1", "--reason", "the lidocaine's lot",
           "--lot", "lidocaine-1=L1:2027-02", "--lot", "triamcinolone-40=K9:2027-01")
    assert [lot["lot"] for lot in shown(ada)["lots"]] == ["L1", "K9"]
    before = written(ada)
    assert_refused(ada.run("visit", "amend", "1", "--reason", "x", "--lot",
                           "dexamethasone-4=D1:2027-01"),
                   2, "no point of the visit injects dexamethasone-4")
    assert written(ada) == before
    assert "holds" in ada.ok("audit", "verify").stdout


def test_csv_round_trip_keeps_mixtures_and_lots(ada, tmp_path):
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           f"upper-trapezius:L pre=7 post=3 drug={MIXTURE}",
           "--point", "deltoid:R pre=5 drug=lidocaine-1 ml=1",
           "--lot", "lidocaine-1=AB123:2027-05", "--lot", "triamcinolone-40=K9:2027-01-31")
    first = tmp_path / "first.csv"
    ada.ok("export", "P0001", "--format", "csv", "-o", str(first))
    rows = list(csv.DictReader(io.StringIO(first.read_text())))
    assert (rows[0]["drug"], rows[0]["volume_ml"], rows[0]["injectate"]) == ("", "", MIXTURE)
    assert rows[1]["lots"] == "lidocaine-1=AB123:2027-05;triamcinolone-40=K9:2027-01-31"
    # Into an empty database and out again: the same file.
    from tests.conftest import new_clinic

    with new_clinic(ada.backend, tmp_path, "other", current=True) as other:
        other.ok("import", str(first))
        second = tmp_path / "second.csv"
        other.ok("export", "--all", "--format", "csv", "-o", str(second))
        assert second.read_text() == first.read_text()
        assert "holds" in other.ok("audit", "verify").stdout
        assert "1 visit(s) were already there" in other.ok("import", str(first)).stdout + \
            other.ok("import", str(first)).stderr


def test_import_refuses_a_bad_mixture_or_an_expired_lot(ada, tmp_path):
    from tplog.export.csv_format import HEADER

    row = dict.fromkeys(HEADER, "") | {
        "mrn": "P0001", "patient_name": "Ada Lovelace", "date_of_birth": "1970-01-01",
        "visit": "1", "visit_date": "2026-03-01", "practitioner": "Dr Finch", "point": "1",
        "muscle": "deltoid", "side": "L", "pain_before": "6", "injectate": "lidocaine-1:1+x:1"}
    source = tmp_path / "bad.csv"
    expired = {**row, "visit": "2", "visit_date": "2026-03-02", "injectate": MIXTURE,
               "lots": "lidocaine-1=AB1:2026-02"}
    source.write_text("\n".join([",".join(HEADER), *(",".join(r[h] for h in HEADER)
                                                     for r in (row, expired))]) + "\n")
    before = written(ada)
    result = ada.run("import", str(source))
    assert_refused(result, 2, "unknown drug 'x'", "expired on 2026-02-28")
    assert written(ada) == before


def test_a_csv_from_before_the_new_columns_still_imports(ada, tmp_path):
    from tplog.export.csv_format import HEADER

    # The header as published before revision 0011 (the columns before it, none of its own).
    earlier = [h for h in HEADER if h not in ("lots", "injectate")]
    values = {"mrn": "P0001", "patient_name": "Ada Lovelace", "date_of_birth": "1970-01-01",
              "visit": "1", "visit_date": "2026-03-01", "practitioner": "Dr Finch",
              "point": "1", "muscle": "deltoid", "side": "L", "pain_before": "6",
              "drug": "lidocaine-1", "volume_ml": "1"}
    source = tmp_path / "old.csv"
    source.write_text(",".join(earlier) + "\n"
                      + ",".join(values.get(h, "") for h in earlier) + "\n")
    ada.ok("import", str(source))
    point = shown(ada)["points"][0]
    assert (point["drug"], point["volume_ml"], point["injectate"]) == ("lidocaine-1", 1.0, None)


def test_exports_carry_mixtures_steroids_and_lots(ada, tmp_path):
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           f"upper-trapezius:L pre=7 post=3 drug={MIXTURE}",
           "--lot", "triamcinolone-40=K9:2027-01")
    document = json.loads(ada.ok("export", "P0001", "--format", "json").stdout)
    visit = document["patients"][0]["visits"][0] if "patients" in document else document
    assert visit["steroid_mg"] == {"triamcinolone": 20.0}
    assert visit["lots"] == [{"drug": "triamcinolone-40", "lot": "K9", "expiry": "2027-01"}]
    assert visit["points"][0]["injectate"] == MIXTURE
    bundle = json.loads(ada.ok("export", "P0001", "--format", "fhir").stdout)
    given = [e["resource"] for e in bundle["entry"]
             if e["resource"]["resourceType"] == "MedicationAdministration"]
    assert [(g["id"], g["medicationReference"]["display"], g["dosage"]["dose"]["value"],
             g["dosage"]["dose"]["unit"]) for g in given] == [
        ("medication-1-1-1", "Lidocaine 1 %", 2.0, "mL"),
        ("medication-1-1-2", "Triamcinolone acetonide 40 mg/mL", 0.5, "mL")]
    assert given[1]["dosage"]["text"] == (
        "0.5 mL of Triamcinolone acetonide 40 mg/mL: 20 mg triamcinolone")
    assert given[1]["note"] == [{"text": "Lot K9, expires 2027-01"}]
    assert given[1]["contained"][0]["batch"] == {"lotNumber": "K9", "expirationDate": "2027-01"}
    assert "batch" not in given[0]["contained"][0]  # no lot of lidocaine was given
    text = ada.ok("export", "P0001", "--format", "md").stdout
    assert "Lidocaine 1 % 2 mL + Triamcinolone acetonide 40 mg/mL 0.5 mL" in text
    assert "Steroid: triamcinolone 20 mg" in text and "lot K9, expires 2027-01" in text
    # The HTML and the PDF are laid out from one description (export/summary.py).
    html = ada.ok("export", "P0001", "--format", "html").stdout
    assert "Lidocaine 1 % 2 mL + Triamcinolone acetonide 40 mg/mL 0.5 mL" in html
    assert "<dt>Steroid:</dt><dd>triamcinolone 20 mg</dd>" in html
    assert "lot K9, expires 2027-01" in html
    from pypdf import PdfReader

    out = tmp_path / "summary.pdf"
    ada.ok("export", "P0001", "--format", "pdf", "-o", str(out))
    printed = "".join("".join(page.extract_text() or "" for page in PdfReader(out).pages)
                      .split())
    for said in ("Triamcinoloneacetonide40mg/mL0.5mL", "Steroid:triamcinolone20mg",
                 "lotK9,expires2027-01"):
        assert said in printed, said


def test_a_steroid_threshold_is_off_by_default_and_asks_when_set(ada, tmp_path, monkeypatch):
    settings = json.loads(ada.ok("config", "show", "--json").stdout)
    found = settings.get("settings", settings)
    assert found["steroid_limits.triamcinolone"] is None
    ada.ok("log", "P0001", "--date", "2026-11-01", "--point",
           "deltoid:L pre=5 drug=triamcinolone-40:1")
    config = tmp_path / "limits.toml"
    config.write_text("[steroid_limits]\ntriamcinolone = 60\n")
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    before = written(ada)
    result = ada.run("log", "P0001", "--date", "2026-11-02", "--point",
                     "deltoid:R pre=5 drug=triamcinolone-40:1")
    assert_refused(result, 5, "triamcinolone 40 mg at this visit, 80 mg in the 12 months",
                   "threshold is 60 mg", "nothing was saved")
    assert written(ada) == before
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           "deltoid:R pre=5 drug=triamcinolone-40:1", "--yes")
    assert shown(ada, 2)["steroids"][0]["threshold_mg"] == 60.0


@pytest.mark.parametrize(("document", "fragment"), [
    ('[mixtures]\nlidocaine-1 = "lidocaine-1:1+saline:1"\n', "mixture name 'lidocaine-1'"),
    ('[mixtures]\nbad = "lidocaine-1:1"\n', "has one drug"),
    ('[mixtures]\nbad = "lidocaine-1:1+kenalog:1"\n', "unknown drug 'kenalog'"),
    ("[steroid_limits]\nprednisone = 10\n", "unknown key 'steroid_limits.prednisone'"),
])
def test_a_bad_config_section_is_refused(clinic, tmp_path, monkeypatch, document, fragment):
    config = tmp_path / "config.toml"
    config.write_text(document)
    monkeypatch.setenv("TPLOG_CONFIG", str(config))
    assert_refused(clinic.run("log", "P0001", "--point", "deltoid:L pre=5"), 2, fragment)


def test_guided_entry_takes_a_mixture_or_a_named_one(ada, tmp_path):
    point = [("side", "L"), ("pain before", "6"), ("twitch", ""), *SIGNS, ("pain after", "2"),
             ("soreness", ""), ("numbness", "")]
    script = [("Visit date", "2026-11-02"), ("Conditions", "-"), *PROCEDURE,
              ("Point 1 muscle", "deltoid"), *point, ("drug", "lidocaine-1:1+kenalog:1"),
              ("drug", MIXTURE), ("Another point?", "y"),
              ("Point 2 muscle", "infraspinatus"), *point, ("drug", "lido-kenalog"),
              ("Another point?", "n"), ("Note on the visit", "-"), ("Save this visit?", "y")]
    code, screen = converse(["--db", ada.url, "log", "P0001"], script, tmp_path)
    assert code == 0, screen
    assert "unknown drug 'kenalog'" in screen
    assert [p["injectate"] for p in shown(ada)["points"]] == \
        [MIXTURE, "lidocaine-1:1+triamcinolone-40:1"]


def test_the_migration_keeps_a_database_with_data_and_the_trail_holds(empty_clinic):
    seed_at(empty_clinic, "0001")
    _step(empty_clinic, "upgrade", "0009")
    points = empty_clinic.sql("SELECT id, drug, volume_ml FROM injected_point")
    result = empty_clinic.ok("db", "upgrade")
    assert f"to {db.SCHEMA_HEAD}" in result.stderr
    assert empty_clinic.sql("SELECT id, drug, volume_ml FROM injected_point") == points
    assert empty_clinic.sql("SELECT injectate FROM injected_point") == [(None,)]
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    if empty_clinic.backend == "postgresql":  # the seed gave ids by hand: move the sequences
        empty_clinic.sql_script([f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                                 f"(SELECT max(id) FROM {t}))"
                                 for t in ("patient", "visit", "visit_revision",
                                           "injected_point")])
    empty_clinic.ok("log", "P0001", "--date", "2026-11-02", "--point",
                    f"deltoid:R pre=5 drug={MIXTURE}", "--lot", "lidocaine-1=A1:2027-01",
                    "--yes")  # no weight nor date of birth: no limit to check against
    empty_clinic.ok("visit", "amend", "1", "--reason", "a mixture after all",
                    "--set", "1 drug=lidocaine-1:1+dexamethasone-4:1", "--yes")
    assert "holds" in empty_clinic.ok("audit", "verify").stdout
    # A lot edited outside tplog breaks the trail; so does a mixture.
    from tests.test_audit import _without_guards

    _without_guards(empty_clinic, "UPDATE injectate_lot SET lot = 'A2'")
    assert_refused(empty_clinic.run("audit", "verify"), 4, "has been changed since")


def test_summary_by_drug_groups_a_mixture_as_its_own(ada):
    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           f"upper-trapezius:L pre=7 post=3 drug={MIXTURE}",
           "--point", "deltoid:R pre=5 post=4 drug=lidocaine-1 ml=1")
    groups = json.loads(ada.ok("summary", "--by", "drug", "--json").stdout)["groups"]
    assert sorted(g["group"] for g in groups) == ["lidocaine-1", MIXTURE]


def test_a_narrow_summary_by_drug_breaks_a_mixture_between_its_drugs(ada):
    """On 80 columns the group column is narrow: a mixture's name breaks at its `+`, each
    drug's key whole on a line (it broke inside `triamcinolone-40:0.5`)."""
    from typer.testing import CliRunner

    from tplog.cli import app

    ada.ok("log", "P0001", "--date", "2026-11-02", "--point",
           "upper-trapezius:L pre=7 post=3 drug=bupivacaine-0.25:2+dexamethasone-4:0.5",
           "--point", f"deltoid:R pre=5 post=4 drug={MIXTURE}")
    result = CliRunner().invoke(app, ["--db", ada.url, "summary", "--by", "drug"],
                                env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    for key in ("bupivacaine-0.25:2", "dexamethasone-4:0.5", "lidocaine-1:2",
                "triamcinolone-40:0.5"):
        assert sum(key in line for line in lines) == 3, (key, result.stdout)  # 3 tables


def test_the_demo_logs_a_mixture(_isolated_home):
    import re

    from typer.testing import CliRunner

    from tplog.cli import app

    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.stderr
    demo_db = re.search(r"not your records\): (\S+)", result.stderr).group(1)
    shown_visit = CliRunner().invoke(app, ["--db", demo_db, "visit", "show", "4", "--json"])
    points = json.loads(shown_visit.stdout)["points"]
    assert [p["injectate"] for p in points if p["injectate"]] == [
        "lidocaine-1:2+triamcinolone-40:1"]
