"""Issue 15: the FHIR export in the reference's "FHIR R4 shape of a visit": one CPT-coded
visit-level Procedure, the code systems' own displays, US Core's must-haves that tplog can
fill, fullUrls in a namespace of the database's own, the clinic's MRN system."""

import json
import re

import pytest

from tests.conftest import assert_refused, built_once, new_clinic

CPT = "http://www.ama-assn.org/go/cpt"


def _log_three_sites(clinic):
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10", "--sex", "female",
              "--weight-kg", "61.5")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch",
              "--condition", "myofascial-pain", "--drug", "lidocaine-1", "--ml", "1",
              "--point", "upper-trapezius:L pre=7 post=3", "--point", "deltoid:R pre=6 post=2",
              "--point", "infraspinatus:L pre=5 post=5")
    # A second visit the same day: the day's code is billed once, with the first visit.
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Finch", "--yes",
              "--point", "rhomboids:R pre=4 post=2 drug=lidocaine-1 ml=1")
    return clinic


@built_once
def three_sites(clinic):
    return _log_three_sites(clinic)


def _bundle(clinic, *args):
    from fhir.resources.R4B.bundle import Bundle

    bundle = json.loads(clinic.ok("export", "--all", "-f", "fhir", *args).stdout)
    Bundle.model_validate(bundle)  # every bundle, with the R4B models
    return bundle


def _resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _codings(resource):
    return re.findall(r'"system": "([^"]+)", "code": "([^"]+)"', json.dumps(resource))


def test_one_cpt_coded_procedure_per_visit_and_sites_part_of_it(three_sites):
    bundle = _bundle(three_sites)
    url = {id(e["resource"]): e["fullUrl"] for e in bundle["entry"]}
    procedures = _resources(bundle, "Procedure")
    coded = [p for p in procedures if (CPT, "20553") in _codings(p)
             or any(system == CPT for system, _ in _codings(p))]
    # Three sites, three muscles, 20553 once: on the first visit's Procedure, none else.
    assert [(p["id"], p["code"]["coding"]) for p in coded] == [("procedure-1", [{
        "system": CPT, "code": "20553",
        "display": "Injection(s); single or multiple trigger point(s), 3 or more muscles"}])]
    sites = [p for p in procedures if "partOf" in p]
    assert len(sites) == 4
    assert [s["partOf"][0]["reference"] for s in sites[:3]] == [url[id(coded[0])]] * 3
    second = [p for p in procedures if p["id"] == "procedure-2"][0]
    assert "coding" not in second["code"]
    assert "Billed once for the day with visit 1 (CPT 20553)" in second["note"][0]["text"]
    assert sites[3]["partOf"][0]["reference"] == url[id(second)]


def test_displays_are_the_code_systems_own_never_tplogs_labels(three_sites):
    bundle = _bundle(three_sites)
    text = json.dumps(bundle)
    displays = set(re.findall(r'"display": "([^"]+)"', text))
    assert "Trapezius muscle structure" in displays  # SNOMED CT 31764008
    assert "Myalgia of auxiliary muscles, head and neck" in displays  # M79.12
    for label in ("Upper trapezius", "Deltoid", "Infraspinatus", "Myofascial pain syndrome"):
        assert label not in displays, label
    procedures = _resources(bundle, "Procedure")
    deltoid = [p for p in procedures if p["bodySite"][0]["text"] == "Deltoid, right"][0]
    # 35259002: the reference gives no display for it; the code alone, the label in text.
    assert deltoid["bodySite"][0]["coding"] == [{"system": "http://snomed.info/sct",
                                                 "code": "35259002"}]


def test_us_core_must_haves_tplog_can_fill(three_sites):
    bundle = _bundle(three_sites)
    patient = _resources(bundle, "Patient")[0]
    assert patient["identifier"][0]["value"] == "P0001" and patient["identifier"][0]["system"]
    assert patient["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert patient["name"] == [{"text": "Ada Lovelace"}] and patient["gender"] == "female"
    for encounter in _resources(bundle, "Encounter"):
        assert encounter["type"] == [{"text": "Trigger point injection visit"}]
    observations = _resources(bundle, "Observation")
    assert observations
    for observation in observations:
        assert observation["category"][0]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey", "display": "Survey"}


def test_pain_before_and_after_are_told_apart_with_site_and_side(three_sites):
    pains = _resources(_bundle(three_sites), "Observation")
    first = pains[0]
    assert [(c["code"]["text"], c["valueInteger"]) for c in first["component"]] == [
        ("Pain before injection", 7), ("Pain after injection", 3)]
    assert first["bodySite"]["coding"][0]["code"] == "31764008"
    assert first["bodySite"]["extension"][0]["valueCodeableConcept"]["coding"][0] == {
        "system": "http://snomed.info/sct", "code": "7771000", "display": "Left"}


def test_medication_has_route_dose_and_strength(three_sites):
    administration = _resources(_bundle(three_sites), "MedicationAdministration")[0]
    dosage = administration["dosage"]
    assert dosage["route"] == {"text": "Intramuscular"}  # no route code in the reference
    assert dosage["dose"] == {"value": 1.0, "unit": "mL",
                              "system": "http://unitsofmeasure.org", "code": "mL"}
    medication = administration["contained"][0]
    assert administration["medicationReference"]["reference"] == "#" + medication["id"]
    strength = medication["ingredient"][0]["strength"]
    assert (strength["numerator"]["value"], strength["numerator"]["code"],
            strength["denominator"]["value"], strength["denominator"]["code"]) == (
        10.0, "mg", 1, "mL")  # lidocaine 1 % = 10 mg/mL (reference)
    assert dosage["text"] == "1 mL of Lidocaine 1 % (10 mg/mL): 10 mg"


def _full_urls(bundle):
    return [e["fullUrl"] for e in bundle["entry"]]


def test_full_urls_are_the_databases_own(three_sites, tmp_path):
    first = _full_urls(_bundle(three_sites))
    assert first == _full_urls(_bundle(three_sites))  # stable across exports
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", url) for url in first)
    with new_clinic(three_sites.backend, tmp_path, "other") as other:
        other.ok("patient", "list")
        _log_three_sites(other)
        theirs = _full_urls(_bundle(other))
        assert len(theirs) == len(first) and not set(theirs) & set(first)
        # The same MRN in another clinic is another patient: the default systems differ.
        systems = [_resources(_bundle(c), "Patient")[0]["identifier"][0]["system"]
                   for c in (three_sites, other)]
        assert systems[0] != systems[1] and all(s.startswith("urn:uuid:") for s in systems)


def test_the_mrn_system_comes_from_the_config(three_sites):
    three_sites.ok("config", "set", "fhir.mrn_system", "https://clinic.example/mrn")
    assert "https://clinic.example/mrn" in three_sites.ok("config", "show").stdout
    patient = _resources(_bundle(three_sites), "Patient")[0]
    assert patient["identifier"][0]["system"] == "https://clinic.example/mrn"


@pytest.mark.parametrize("value", ["not a uri", "clinic/mrn", "https://", "http:// x"])
def test_a_mrn_system_that_is_no_absolute_uri_is_refused(clinic, value):
    result = clinic.run("config", "set", "fhir.mrn_system", value)
    assert_refused(result, 2, "fhir.mrn_system", "give an absolute URI")
    shown = json.loads(clinic.ok("config", "show", "--json").stdout)
    assert not shown["exists"] and shown["settings"]["fhir.mrn_system"] is None


def test_a_deidentified_bundle_has_no_mrn_and_validates(three_sites):
    bundle = _bundle(three_sites, "--deidentify")
    patient = _resources(bundle, "Patient")[0]
    assert "identifier" not in patient and "name" not in patient
    assert "P0001" not in json.dumps(bundle)


def test_a_damaged_database_key_refuses_the_bundle_and_records_nothing(three_sites):
    """fullUrls come from the key revision 0007 stored: without it they could not be the
    same as in earlier exports, so the export is refused before it is recorded."""
    from tests.test_deidentify import _without_guards

    _without_guards(three_sites, "DELETE FROM deidentification_key")
    events = three_sites.count("audit_event")
    result = three_sites.run("export", "--all", "-f", "fhir")
    assert_refused(result, 3, "key is missing or damaged",
                   "FHIR fullUrls cannot be the same as in earlier exports",
                   "restore the database from a backup")
    assert result.stdout == "" and three_sites.count("audit_event") == events
    assert three_sites.ok("export", "--all", "-f", "json").stdout  # other formats need no key


def test_the_procedure_signs_and_ranges_of_motion_are_in_the_bundle(clinic):
    """Issue 16: what the physician documented reaches FHIR too: the procedure as a note on
    the visit's Procedure, the signs as notes on the site's, each range of motion as an exam
    Observation (text only: the reference verifies no LOINC code) in UCUM units."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10", "--sex", "female")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--consent", "written", "--time-out",
              "--needle", "25G 1.5in", "--aspirated",
              "--point", "upper-trapezius:L pre=7 post=3 taut=yes jump=no referred=yes",
              "--rom", "cervical-rotation:L before=50 after=70",
              "--rom", "jaw-opening before=30")
    bundle = _bundle(clinic)
    procedures = {p["id"]: p for p in _resources(bundle, "Procedure")}
    visit_notes = [n["text"] for n in procedures["procedure-1"]["note"]]
    assert any(text.startswith("Procedure: consent written, time-out done") and
               "aspirated before injecting" in text and "needle 25G" in text
               for text in visit_notes), visit_notes
    site_notes = [n["text"] for n in procedures["procedure-1-1"]["note"]]
    assert {"Taut band: yes", "Jump sign: no", "Referred pain reproduced: yes"} <= \
        set(site_notes)
    observations = {o["id"]: o for o in _resources(bundle, "Observation")}
    neck, jaw = observations["rom-1-1"], observations["rom-1-2"]
    assert neck["code"] == {"text": "Range of motion: Cervical rotation (left)"}
    assert "coding" not in neck["code"]
    assert neck["category"][0]["coding"][0]["code"] == "exam"
    assert [(c["valueQuantity"]["value"], c["valueQuantity"]["code"])
            for c in neck["component"]] == [(50, "deg"), (70, "deg")]
    assert [(c["valueQuantity"]["value"], c["valueQuantity"]["code"])
            for c in jaw["component"]] == [(30, "mm")]


def test_the_practitioners_npi_is_an_identifier_of_who_injected(clinic):
    """US Core: the NPI under its identifier system (HL7 Terminology's NamingSystem npi); a
    practitioner with no record, or none, is named only; a de-identified bundle names no one."""
    clinic.ok("patient", "add", "Ada Lovelace", "--dob", "1950-12-10")
    clinic.ok("practitioner", "add", "Dr Lee", "--credentials", "MD", "--npi", "1234567893")
    clinic.ok("log", "P0001", "--date", "2026-03-01", "--practitioner", "Dr Lee",
              "--point", "deltoid:L pre=6 post=2 drug=lidocaine-1 ml=1")
    clinic.ok("log", "P0001", "--date", "2026-03-08", "--practitioner", "Dr Park",
              "--point", "deltoid:L pre=5 post=2 drug=lidocaine-1 ml=1")
    bundle = _bundle(clinic)
    npi = {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
    encounters = _resources(bundle, "Encounter")
    assert [e["participant"][0]["individual"] for e in encounters] == [
        {"display": "Dr Lee, MD", "identifier": npi}, {"display": "Dr Park"}]
    performers = [p["performer"][0]["actor"] for p in _resources(bundle, "Procedure")
                  if "performer" in p]
    assert performers == [{"display": "Dr Lee", "identifier": npi}, {"display": "Dr Park"}]
    hidden = json.dumps(_bundle(clinic, "--deidentify"))
    assert "1234567893" not in hidden and "Dr Lee" not in hidden
