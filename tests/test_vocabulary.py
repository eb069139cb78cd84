"""The vocabulary: its codes come from the clinical reference, and the CLI lists it."""

from typer.testing import CliRunner

from tests.conftest import assert_refused
from tplog import vocab
from tplog.cli import app


def run(*args):
    return CliRunner().invoke(app, list(args))


def test_muscles_cover_every_region_with_codes_only_where_verified():
    assert 50 <= len(vocab.MUSCLES) <= 60  # issue 16 added the pelvic floor, abdomen, limbs
    assert {m.region for m in vocab.MUSCLES} == set(vocab.REGION_BY_KEY)
    codes = {m.key: m.snomed for m in vocab.MUSCLES}
    # Rows of ../shared/reference/clinical.md "Body sites (SNOMED CT)".
    assert codes["infraspinatus"] == "72573008"
    assert codes["gluteus-maximus"] == "206007"
    assert codes["masseter"] == "79368004"
    for unverified in ("levator-scapulae", "rhomboids", "quadratus-lumborum", "piriformis",
                       "gluteus-minimus", "levator-ani", "splenius-capitis"):
        assert codes[unverified] is None
    assert all(m.source for m in vocab.MUSCLES if m.snomed)


def test_conditions_and_drugs():
    codes = {c.key: c.icd10 for c in vocab.CONDITIONS}
    assert codes["fibromyalgia"] == "M79.7"
    assert codes["myofascial-pain"] == "M79.18"
    assert codes["chronic-pelvic-pain"] is None  # R10.2 is no longer billable: text only
    assert vocab.DRUG_BY_KEY["lidocaine-1"].mg_per_ml == 10.0  # 1 % = 10 mg/mL
    assert vocab.DRUG_BY_KEY["bupivacaine-0.25"].mg_per_ml == 2.5
    assert {d.key for d in vocab.DRUGS} >= {"lidocaine-0.5", "lidocaine-2", "ropivacaine-0.2",
                                            "ropivacaine-0.5", "saline", "dry-needling"}


def test_listing_commands():
    muscles = run("muscles").stdout
    assert "upper-trapezius" in muscles and "31764008" in muscles
    neck = run("muscles", "--region", "neck").stdout
    assert "sternocleidomastoid" in neck and "gluteus-maximus" not in neck
    assert "M79.7" in run("conditions").stdout
    assert "bupivacaine-0.25" in run("drugs").stdout


def test_unknown_region():
    assert_refused(run("muscles", "--region", "necks"), 2, "unknown region 'necks'",
                   "did you mean neck")
