"""FHIR R4 Bundle (type collection), in the shape of the clinical reference's "FHIR R4 shape of
a visit":

- Patient (identifier: the MRN under the clinic's system, `fhir.mrn_system`);
- per visit an Encounter (class AMB, `type`, the conditions as reasonCode);
- one visit-level Procedure per billing code of the day, carrying the CPT code (20552/20553 or
  20560/20561 is billed once a patient a day: a CPT on every site reads as several units), with
  the visit's note, the dose check, the amendment and the addenda as notes; per injected point
  a Procedure `partOf` it, with its body site and laterality and no CPT;
- per point an Observation of pain (LOINC 72514-3, category survey) with its before and after
  scores as components (one date, no times recorded: two Observations would read as the same
  measurement twice), with the site's bodySite;
- per follow-up an Observation of pain on its own date;
- per point with an injectate a MedicationAdministration: route, dose in mL, strength in mg/mL;
- per safety finding recorded with the visit a DetectedIssue, with how it was confirmed;
- per adverse event recorded after the visit an AdverseEvent (actual; the kind as text, no
  code verified; severity and outcome in FHIR's own code systems), its suspected cause the
  visit's injected sites.

Displays are the code systems' own (reference, "FHIR R4 shape": never tplog's label as a
display); where the reference gives none, the code is sent with no display and tplog's label
is the `text`. Resource ids come from the data; fullUrls are `urn:uuid:`s made from the ids in
this database's own namespace (deidentify.fhir_namespace), so exports of one database agree and
two databases' never collide. The tests validate every bundle with fhir.resources (R4B).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from typing import IO, Any

from tplog import clinical, vocab
from tplog import procedure as procedure_fields
from tplog.export import letter
from tplog.export.select import ExportVisit

# Code systems.
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DEIDENTIFICATION_SYSTEM = "urn:tplog:deidentification"
# The namespace of fullUrls when the caller gives none (a bundle made outside an export).
FALLBACK_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tplog:fhir")
# Reference, "Body sites and laterality": mCODE laterality-qualifier with the qualifiers
# 7771000 Left and 24028007 Right (DICOM terminology displays).
LATERALITY_URL = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
LATERALITY = {"L": ("7771000", "Left"), "R": ("24028007", "Right")}
# Reference, "Pain scale and outcome thresholds".
PAIN_LOINC = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
# FHIR R4 AdverseEvent.severity and .outcome: required bindings to FHIR's own code systems
# (codes only, no display). The kinds themselves have no verified code: text only.
EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
EVENT_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
OUTCOME_CODES = {"resolved-with-sequelae": "resolvedWithSequelae"}
# The NPI's identifier system: HL7 Terminology's NamingSystem "npi" (its preferred URI), the one
# US Core Practitioner says must be supported.
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"

# The code systems' own displays, where the reference gives them (reference, "FHIR R4 shape":
# 31764008 "Trapezius muscle structure", M79.18 "Myalgia, other site"; the ICD-10-CM and CPT
# tables for the rest). A code not here is sent without a display.
SNOMED_DISPLAY = {"31764008": "Trapezius muscle structure"}
ICD10CM_DISPLAY = {
    "M79.11": "Myalgia of mastication muscle",
    "M79.12": "Myalgia of auxiliary muscles, head and neck",
    "M79.18": "Myalgia, other site",
    "M79.7": "Fibromyalgia",
    "G43.009": "Migraine without aura, not intractable, without status migrainosus",
    "G43.109": "Migraine with aura, not intractable, without status migrainosus",
    "G43.709": "Chronic migraine without aura, not intractable, without status migrainosus",
    "M54.2": "Cervicalgia",
}
CPT_DISPLAY = {
    "20552": "Injection(s); single or multiple trigger point(s), 1 or 2 muscle(s)",
    "20553": "Injection(s); single or multiple trigger point(s), 3 or more muscles",
    "20560": "Needle insertion(s) without injection(s); 1 or 2 muscle(s)",
    "20561": "Needle insertion(s) without injection(s); 3 or more muscles",
}
# No code for these in the reference: text only (a wrong code is worse than none).
ENCOUNTER_TYPE = {"text": "Trigger point injection visit"}
ROUTE = {"text": "Intramuscular"}
# How tplog names the safety checks' findings (tplog.services.safety).
FINDING_NAMES = {
    "dose": "Local anaesthetic dose", "weight": "No weight on record",
    "reinjection": "Same site injected again soon", "sessions": "Sessions in 12 months",
    "repeat": "Repeat injection without documented relief", "thorax": "Injection over the thorax",
    "duplicate": "Possible duplicate visit", "long_ago": "Visit dated long ago",
    "worse": "Pain went up",
    # The pre-procedure screen (revision 0012; tplog.services.screening).
    "allergy": "Allergy to a drug injected", "anticoagulant": "On an anticoagulant/antiplatelet",
    "bleeding": "Bleeding disorder", "pregnancy": "Pregnant",
}


def _coding(system: str, code: str, displays: dict[str, str]) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if code in displays:
        coding["display"] = displays[code]
    return coding


def default_mrn_system(namespace: uuid.UUID) -> str:
    """The MRN's identifier system when the clinic has set none: a URI no other database
    shares (two clinics' MRN 1001 are different patients), stable across its exports."""
    return f"urn:uuid:{namespace}"


def patient_id(visit: ExportVisit, deidentified: bool) -> str:
    if deidentified:
        return visit.mrn.lower()  # the research id
    return "p-" + hashlib.sha256(visit.mrn.encode()).hexdigest()[:16]


def _date(visit: ExportVisit, value: Any) -> str:
    return str(value.year) if visit.year_only else value.isoformat()


def _instant(value: Any) -> str:
    return str(value.isoformat(timespec="seconds"))


class _Bundle:
    """The references of one bundle: `urn:uuid:`s in the database's namespace."""

    def __init__(self, namespace: uuid.UUID) -> None:
        self.namespace = namespace

    def full_url(self, resource_type: str, resource_id: str) -> str:
        return "urn:uuid:" + str(uuid.uuid5(self.namespace, f"{resource_type}/{resource_id}"))

    def ref(self, resource_type: str, resource_id: str) -> dict[str, str]:
        return {"reference": self.full_url(resource_type, resource_id)}

    def entry(self, resource: dict[str, Any]) -> dict[str, Any]:
        return {"fullUrl": self.full_url(resource["resourceType"], resource["id"]),
                "resource": resource}


def patient(visit: ExportVisit, deidentified: bool, mrn_system: str) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": patient_id(visit, deidentified)}
    if not deidentified:
        # US Core Patient: identifier (MR type), name, gender.
        resource["identifier"] = [{
            "use": "usual",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                 "code": "MR", "display": "Medical record number"}]},
            "system": mrn_system, "value": visit.mrn}]
        if visit.patient_name:
            resource["name"] = [{"text": visit.patient_name}]
        if visit.date_of_birth is not None:
            resource["birthDate"] = visit.date_of_birth.isoformat()
    resource["gender"] = visit.sex if visit.sex is not None else "unknown"
    return resource


def _practitioner(visit: ExportVisit, display: str | None) -> dict[str, Any]:
    """A reference to who injected: their name, and their NPI as a logical identifier (the
    export makes no Practitioner resource of its own)."""
    reference: dict[str, Any] = {"display": display}
    if visit.practitioner_npi:
        reference["identifier"] = {"system": NPI_SYSTEM, "value": visit.practitioner_npi}
    return reference


def _body_site(muscle_key: str, side: str) -> dict[str, Any]:
    """SNOMED CT where the reference verified it, tplog's words always, and the side as the
    mCODE laterality qualifier (reference, "Body sites (SNOMED CT) and laterality")."""
    muscle = vocab.MUSCLE_BY_KEY[muscle_key]
    site: dict[str, Any] = {"text": f"{muscle.name}, {'left' if side == 'L' else 'right'}"}
    if muscle.snomed:
        site["coding"] = [_coding(SNOMED, muscle.snomed, SNOMED_DISPLAY)]
    side_code, side_name = LATERALITY[side]
    site["extension"] = [{"url": LATERALITY_URL, "valueCodeableConcept": {
        "coding": [{"system": SNOMED, "code": side_code, "display": side_name}]}}]
    return site


def _pain_code(text: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": PAIN_LOINC[0], "display": PAIN_LOINC[1]}],
            "text": text}


def _survey() -> list[dict[str, Any]]:
    # US Core: every Observation has a category; a patient's reported pain is a survey.
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey",
                         "display": "Survey"}]}]


def _visit_notes(visit: ExportVisit, rules: clinical.Rules) -> list[dict[str, Any]]:
    """What the record says of the whole visit: its note, the dose check (each anaesthetic
    against the limit it was checked against), the amendment, the addenda."""
    notes: list[dict[str, Any]] = []
    if visit.note:
        notes.append({"text": visit.note})
    if visit.pregnant is not None:
        # Text: the reference gives the pregnancy screen no code (never invent one).
        notes.append({"text": f"Pregnant: {visit.pregnant}"})
    dose = visit.dose(rules)
    if dose is not None:
        notes.append({"text": f"Local anaesthetic dose for the day ({dose.weight_note}): "
                              f"{dose.summary}"})
    if visit.amendment is not None:
        amended: dict[str, Any] = {"text": f"Amended (revision {visit.amendment.revision})"
                                   + (f": {visit.amendment.reason}"
                                      if visit.amendment.reason else "")}
        if visit.amendment.amended_by:
            amended["authorString"] = visit.amendment.amended_by
        if visit.amendment.amended_at is not None:
            amended["time"] = _instant(visit.amendment.amended_at)
        notes.append(amended)
    for addendum in visit.addenda:
        notes.append({"authorString": addendum.practitioner,
                      "time": _instant(addendum.created_at),
                      "text": f"Addendum: {addendum.text}"})
    return notes


def visit_resources(visit: ExportVisit, deidentified: bool,
                    rules: clinical.Rules | None = None,
                    bundle: _Bundle | None = None) -> list[dict[str, Any]]:
    rules = rules or clinical.Rules()
    bundle = bundle or _Bundle(FALLBACK_NAMESPACE)
    subject = bundle.ref("Patient", patient_id(visit, deidentified))
    key = str(visit.shown_id)
    encounter_id = f"encounter-{key}"
    encounter_ref = bundle.ref("Encounter", encounter_id)
    when = _date(visit, visit.visit_date)
    encounter: dict[str, Any] = {
        "resourceType": "Encounter", "id": encounter_id, "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [ENCOUNTER_TYPE],
        "subject": subject, "period": {"start": when, "end": when},
    }
    if visit.practitioner:
        # "Name, credentials", and the NPI where the practitioner's record has one.
        encounter["participant"] = [{"individual": _practitioner(visit,
                                                                visit.practitioner_signed)}]
    if visit.conditions:
        encounter["reasonCode"] = [_condition(condition) for condition in visit.conditions]
    resources = [encounter]
    if visit.peg is not None:
        resources.append(_peg(visit, subject, encounter_ref, when))

    # The visit-level Procedures: one for the injections, one for dry needling (each has its
    # own CPT code), made only for what the visit did. The day's code goes with the day's
    # first visit: a second visit that day carries none (one code per patient per day).
    kinds = sorted({p.drug is not None and not vocab.DRUG_BY_KEY[p.drug].injects
                    for p in visit.points})
    codes = {c.dry_needling: c for c in visit.cpt(rules)}
    first_of_day = not visit.day_visits or visit.shown_id == min(visit.day_visits)
    notes = _visit_notes(visit, rules)
    documented = procedure_fields.lines(visit.procedure)  # consent, time-out, needle, ...
    if documented:
        notes = [{"text": f"Procedure: {documented}"}, *notes]
    visit_procedure: dict[bool, str] = {}
    for dry in kinds:
        procedure_id = f"procedure-{key}" + ("-dry-needling" if dry else "")
        visit_procedure[dry] = procedure_id
        code: dict[str, Any] = {"text": "Dry needling of trigger points" if dry
                                else "Trigger point injections"}
        suggestion = codes.get(dry)
        procedure: dict[str, Any] = {
            "resourceType": "Procedure", "id": procedure_id, "status": "completed",
            "code": code, "subject": subject, "encounter": encounter_ref,
            "performedDateTime": when,
            "bodySite": [_body_site(m, s) for m, s in dict.fromkeys(
                (p.muscle, p.side) for p in visit.points
                if (p.drug is not None and not vocab.DRUG_BY_KEY[p.drug].injects) == dry)],
        }
        if suggestion is not None and first_of_day:
            code["coding"] = [_coding(CPT, suggestion.code, CPT_DISPLAY)]
        elif suggestion is not None:
            procedure["note"] = [{"text": f"Billed once for the day with visit "
                                          f"{min(visit.day_visits)} (CPT {suggestion.code})"}]
        if visit.practitioner:
            procedure["performer"] = [{"actor": _practitioner(visit, visit.practitioner)}]
        if notes and dry == kinds[0]:  # the visit's notes once, on its first procedure
            procedure["note"] = procedure.get("note", []) + notes
        resources.append(procedure)
    if not kinds and notes:  # a visit with no points still keeps its record
        resources.append({"resourceType": "Procedure", "id": f"procedure-{key}",
                          "status": "completed", "code": {"text": "Trigger point injections"},
                          "subject": subject, "encounter": encounter_ref,
                          "performedDateTime": when, "note": notes})
        visit_procedure[False] = f"procedure-{key}"

    for p in visit.points:
        resources += _point_resources(visit, p, bundle, subject, encounter_ref, when,
                                      visit_procedure)
    resources += [_range_of_motion(visit, measured, subject, encounter_ref, when)
                  for measured in visit.range_of_motion]
    resources += _follow_ups(visit, bundle, subject, visit_procedure)
    resources += _detected_issues(visit, bundle, subject, when, visit_procedure)
    # The adverse events recorded after the visit (revision 0012): the sites injected are the
    # suspected cause (the visit's procedure when it has no sites).
    suspects = ([bundle.ref("Procedure", f"procedure-{key}-{p.position}") for p in visit.points]
                or [bundle.ref("Procedure", procedure_id)
                    for procedure_id in visit_procedure.values()])
    resources += [adverse_event(visit, event, number, subject=subject,
                                encounter_ref=encounter_ref, procedures=suspects)
                  for number, event in enumerate(visit.adverse_events, start=1)]
    return resources


def _point_resources(visit: ExportVisit, p: Any, bundle: _Bundle, subject: dict[str, str],
                     encounter_ref: dict[str, str], when: str,
                     visit_procedure: dict[bool, str]) -> list[dict[str, Any]]:
    key = str(visit.shown_id)
    procedure_id = f"procedure-{key}-{p.position}"
    drug = None if p.drug is None else vocab.DRUG_BY_KEY[p.drug]
    dry = drug is not None and not drug.injects
    procedure: dict[str, Any] = {
        "resourceType": "Procedure", "id": procedure_id, "status": "completed",
        "partOf": [bundle.ref("Procedure", visit_procedure[dry])],
        # Reference: no SNOMED CT code for the procedure was verified; text only.
        "code": {"text": "Dry needling of trigger point" if dry
                 else "Trigger point injection"},
        "subject": subject, "encounter": encounter_ref,
        "performedDateTime": when, "bodySite": [_body_site(p.muscle, p.side)],
    }
    # Recorded findings only: what was not recorded is left out, "none"/"no" is said.
    notes = [text for text in (
        None if p.twitch_response is None
        else f"Local twitch response: {'yes' if p.twitch_response else 'no'}",
        None if p.soreness is None else f"Soreness: {p.soreness}",
        None if p.numbness is None else f"Numbness: {'yes' if p.numbness else 'no'}",
        # The trigger point's signs (reference, FHIR shape: `note` for signs).
        *(f"{label}: {'yes' if value else 'no'}" for label, value in (
            ("Taut band", p.taut_band), ("Jump sign", p.jump_sign),
            ("Referred pain reproduced", p.referred_pain)) if value is not None),
    ) if text]
    if notes:
        procedure["note"] = [{"text": text} for text in notes]
    complications = ([{"text": f"Soreness ({p.soreness})"}]
                     if p.soreness not in (None, "none") else [])
    complications += [{"text": "Numbness"}] if p.numbness else []
    if complications:
        procedure["complication"] = complications
    resources = [procedure]
    pain: dict[str, Any] = {
        "resourceType": "Observation", "id": f"pain-{key}-{p.position}", "status": "final",
        "category": _survey(),
        "code": _pain_code("Pain before and after trigger point injection (0-10)"),
        "subject": subject, "encounter": encounter_ref, "effectiveDateTime": when,
        "bodySite": _body_site(p.muscle, p.side),
        "partOf": [bundle.ref("Procedure", procedure_id)],
        "component": [{"code": _pain_code(f"Pain {moment} injection"), "valueInteger": score}
                      for moment, score in (("before", p.pain_before),
                                            ("after", p.pain_after)) if score is not None],
    }
    resources.append(pain)
    # Reference, FHIR shape: drug and volume as a MedicationAdministration with dose in mL;
    # a mixture gives one per drug in it (ids -1, -2, ... after the point's).
    parts = [] if dry else [(part, ml) for part, ml in p.doses if part is not None]
    for number, (drug_key, volume) in enumerate(parts, start=1):
        resources.append(_administration(visit, p, bundle, subject, encounter_ref, when,
                                         procedure_id, vocab.DRUG_BY_KEY[drug_key], volume,
                                         f"-{number}" if p.injectate else ""))
    return resources


def _administration(visit: ExportVisit, p: Any, bundle: _Bundle, subject: dict[str, str],
                    encounter_ref: dict[str, str], when: str, procedure_id: str,
                    drug: vocab.Drug, volume: float | None, suffix: str) -> dict[str, Any]:
    """One drug given at a point: its own, or one of the point's mixture."""
    key = str(visit.shown_id)
    administration: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": f"medication-{key}-{p.position}{suffix}", "status": "completed",
        "subject": subject, "context": encounter_ref, "effectiveDateTime": when,
        "partOf": [bundle.ref("Procedure", procedure_id)],
    }
    medication: dict[str, Any] = {"resourceType": "Medication", "id": "injectate",
                                  "code": {"text": drug.name}}
    ingredient = drug.anaesthetic or drug.steroid
    if drug.mg_per_ml is not None and ingredient is not None:
        # Reference, "Local anaesthetic dose limits": 1 % = 10 mg/mL; a steroid's strength
        # is its labelled mg/mL (vocab).
        medication["ingredient"] = [{
            "itemCodeableConcept": {"text": ingredient}, "isActive": True,
            "strength": {"numerator": {"value": drug.mg_per_ml, "unit": "mg",
                                       "system": UCUM, "code": "mg"},
                         "denominator": {"value": 1, "unit": "mL", "system": UCUM,
                                         "code": "mL"}}}]
    # The lot and its expiry: Medication.batch holds one; with more than one lot of the
    # drug at the visit, each is said in a note instead.
    lots = [lot for lot in visit.lots if lot.drug == drug.key]
    if len(lots) == 1:
        medication["batch"] = {"lotNumber": lots[0].lot, "expirationDate": lots[0].expiry}
    administration["contained"] = [medication]
    administration["medicationReference"] = {"reference": "#injectate", "display": drug.name}
    dosage: dict[str, Any] = {"site": _body_site(p.muscle, p.side), "route": ROUTE}
    if volume is not None:
        dosage["dose"] = {"value": volume, "unit": "mL", "system": UCUM, "code": "mL"}
        if drug.steroid is not None and drug.strength_mg_per_ml is not None:
            dosage["text"] = (f"{volume:g} mL of {drug.name}: "
                              f"{volume * drug.strength_mg_per_ml:g} mg {drug.steroid}")
        elif drug.mg_per_ml is not None:
            dosage["text"] = (f"{volume:g} mL of {drug.name} ({drug.mg_per_ml:g} "
                              f"mg/mL): {volume * drug.mg_per_ml:g} mg")
    administration["dosage"] = dosage
    if lots:
        administration["note"] = [{"text": f"Lot {lot.lot}, expires {lot.expiry}"}
                                  for lot in lots]
    return administration


def _follow_ups(visit: ExportVisit, bundle: _Bundle, subject: dict[str, str],
                visit_procedure: dict[bool, str]) -> list[dict[str, Any]]:
    """Pain reported after the visit, each on its own date, part of the visit's procedure."""
    resources = []
    part_of = [bundle.ref("Procedure", visit_procedure[min(visit_procedure)])] \
        if visit_procedure else []
    for number, f in enumerate(visit.follow_ups, start=1):
        relief = ("relief not defined (no pain before)" if f.percent_relief is None
                  else f"{clinical.whole_percent(f.percent_relief)} % relief against the "
                       "visit's mean pain before")
        notes = [{"text": f"Follow-up {f.days_after} day(s) after visit {visit.shown_id}: "
                          f"{relief}"}]
        if number == len(visit.follow_ups) and visit.relief_days is not None:
            notes.append({"text": f"Relief of >= 30 % lasted {visit.relief_days} day(s)"})
        # PEG and PGIC asked at the follow-up (revision 0013): text, as the visit's PEG has
        # no code in the reference.
        if (peg := letter.peg(f)) is not None:
            notes.append({"text": f"PEG: {peg}"})
        if (pgic := letter.pgic(f.pgic)) is not None:
            notes.append({"text": f"Patient Global Impression of Change: {pgic}"})
        if f.note:
            notes.append({"text": f.note, **({"authorString": f.practitioner}
                                             if f.practitioner else {})})
        observation: dict[str, Any] = {
            "resourceType": "Observation", "id": f"follow-up-{visit.shown_id}-{number}",
            "status": "final", "category": _survey(),
            "code": _pain_code("Pain at follow-up (0-10)"), "subject": subject,
            "valueInteger": f.pain, "note": notes,
        }
        if f.reported_on is not None:  # left out under Safe Harbor (the interval is said)
            observation["effectiveDateTime"] = _date(visit, f.reported_on)
        if part_of:
            observation["partOf"] = part_of
        resources.append(observation)
    return resources


def _detected_issues(visit: ExportVisit, bundle: _Bundle, subject: dict[str, str], when: str,
                     visit_procedure: dict[bool, str]) -> list[dict[str, Any]]:
    """The safety checks' findings recorded with the visit, and how each was confirmed."""
    resources = []
    for number, warning in enumerate(visit.warnings, start=1):
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue", "id": f"finding-{visit.shown_id}-{number}",
            "status": "final",
            "code": {"text": FINDING_NAMES.get(warning.kind, warning.kind)},
            "patient": subject, "identifiedDateTime": when,
            "implicated": [bundle.ref("Procedure", procedure_id)
                           for procedure_id in visit_procedure.values()],
        }
        if warning.message:
            issue["detail"] = warning.message
        if warning.confirmation:
            issue["mitigation"] = [{"action": {"text": f"Saved after the practitioner "
                                                       f"confirmed: {warning.confirmation}"}}]
        resources.append(issue)
    return resources


# Reference, "Outcome measures that are free to use": PEG, three 0-10 items, the score their
# mean (Krebs et al. 2009). The reference gives no LOINC code for it: text only.
PEG_ITEMS = (("pain", "PEG: pain on average (0-10)"),
             ("enjoyment", "PEG: interference with enjoyment of life (0-10)"),
             ("activity", "PEG: interference with general activity (0-10)"))


# UCUM units of a range of motion (degrees; jaw opening in millimetres).
UCUM = "http://unitsofmeasure.org"
_UCUM_UNITS = {"degrees": ("deg", "degrees"), "mm": ("mm", "mm")}


def _range_of_motion(visit: ExportVisit, measured: Any, subject: dict[str, str],
                     encounter_ref: dict[str, str], when: str) -> dict[str, Any]:
    """A range of motion as an exam Observation, before and after as components. The
    reference verifies no LOINC code for these movements: text only, no normal range."""
    movement = vocab.MOVEMENT_BY_KEY[measured.movement]
    side = {"L": " (left)", "R": " (right)"}.get(measured.side or "", "")
    code, unit = _UCUM_UNITS[movement.unit]
    return {
        "resourceType": "Observation", "id": f"rom-{visit.shown_id}-{measured.position}",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "exam",
                                  "display": "Exam"}]}],
        "code": {"text": f"Range of motion: {movement.name}{side}"},
        "subject": subject, "encounter": encounter_ref, "effectiveDateTime": when,
        "component": [{"code": {"text": f"{movement.name}{side} {moment} injection"},
                       "valueQuantity": {"value": value, "unit": unit, "system": UCUM,
                                         "code": code}}
                      for moment, value in (("before", measured.value_before),
                                            ("after", measured.value_after))
                      if value is not None],
    }


def _peg(visit: ExportVisit, subject: dict[str, str], encounter_ref: dict[str, str],
         when: str) -> dict[str, Any]:
    assert visit.peg is not None
    return {
        "resourceType": "Observation", "id": f"peg-{visit.shown_id}", "status": "final",
        "code": {"text": "PEG score: mean of pain, enjoyment of life and general activity "
                         "(0-10; Krebs et al. 2009)"},
        "category": _survey(), "subject": subject, "encounter": encounter_ref,
        "effectiveDateTime": when, "valueQuantity": {"value": visit.peg_score},
        "component": [{"code": {"text": label}, "valueInteger": value}
                      for (_, label), value in zip(PEG_ITEMS, visit.peg, strict=True)],
    }
def adverse_event(visit: ExportVisit, event: Any, number: int, *, subject: dict[str, str],
                  encounter_ref: dict[str, str],
                  procedures: list[dict[str, str]]) -> dict[str, Any]:
    """An AdverseEvent (actual) after the visit, its procedures the suspected cause. R4's
    AdverseEvent has no note: the note (left out when de-identified) follows the kind in
    the event's text."""
    text = event.kind_name if event.kind != "other" else "Other adverse event"
    if event.note:
        text += f": {event.note}"
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent", "id": f"adverse-event-{visit.shown_id}-{number}",
        "actuality": "actual", "event": {"text": text}, "subject": subject,
        "encounter": encounter_ref, "date": _date(visit, event.occurred_on),
    }
    if procedures:
        resource["suspectEntity"] = [{"instance": procedure} for procedure in procedures]
    if event.severity:
        resource["severity"] = {"coding": [{"system": EVENT_SEVERITY, "code": event.severity}],
                                "text": event.severity}
    if event.outcome:
        resource["outcome"] = {"coding": [{"system": EVENT_OUTCOME, "code": OUTCOME_CODES.get(
            event.outcome, event.outcome)}], "text": event.outcome}
    return resource


def _condition(key: str) -> dict[str, Any]:
    condition = vocab.CONDITION_BY_KEY[key]
    concept: dict[str, Any] = {"text": condition.name}
    if condition.icd10:
        concept["coding"] = [_coding(ICD10CM, condition.icd10, ICD10CM_DISPLAY)]
    return concept


def _meta(deidentified: bool, shifted_dates: bool) -> str:
    """A de-identified bundle is tagged with how (a tag, not a security label: HL7's labels
    have no code for "Safe Harbor" or for "shifted dates")."""
    if not deidentified:
        return ""
    code, display = (("shifted-dates", "De-identified, dates shifted per patient: NOT HIPAA "
                      "Safe Harbor") if shifted_dates
                     else ("safe-harbor", "De-identified: HIPAA Safe Harbor"))
    display += "; encounters numbered within this export, not by their ids in tplog"
    tag = {"system": DEIDENTIFICATION_SYSTEM, "code": code, "display": display}
    return f'"meta": {json.dumps({"tag": [tag]})}, '


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: clinical.Rules | None = None, namespace: uuid.UUID | None = None,
          mrn_system: str | None = None) -> None:
    """`namespace`: the database's (deidentify.fhir_namespace); `mrn_system`: the clinic's
    identifier system for MRNs (config `fhir.mrn_system`; by default `urn:uuid:` of the
    namespace, which no other database shares)."""
    namespace = namespace or FALLBACK_NAMESPACE
    bundle = _Bundle(namespace)
    system = mrn_system or default_mrn_system(namespace)
    out.write('{"resourceType": "Bundle", "type": "collection", '
              + _meta(deidentified, shifted_dates) + '"entry": [')
    first, last_patient = True, None
    for visit in visits:
        resources = visit_resources(visit, deidentified, rules, bundle)
        if visit.mrn != last_patient:
            resources.insert(0, patient(visit, deidentified, system))
            last_patient = visit.mrn
        for resource in resources:
            out.write(("" if first else ",") + "\n  " + json.dumps(bundle.entry(resource),
                                                                  ensure_ascii=False))
            first = False
        if on_point is not None:
            for _ in visit.points:
                on_point()
    out.write("\n]}\n")
