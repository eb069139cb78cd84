"""FHIR R4 Bundle (type collection), in the shape of the clinical reference's "FHIR R4 shape of
a visit": Patient; an Encounter per visit; per injected point a Procedure, Observations of
pain before and after (LOINC 72514-3, partOf the Procedure) and a MedicationAdministration;
an AdverseEvent for each adverse event recorded after the visit.

Ids are derived from the data (the MRN's hash, the visit's id), so exporting the same data
twice gives the same ids; references are `urn:uuid:`s of entries in the same bundle.
The tests validate every resource with fhir.resources (R4B models).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from typing import IO, Any

from tplog import clinical, vocab
from tplog.export.select import ExportVisit

# Code systems (reference: codes and where they come from).
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
MRN_SYSTEM = "urn:tplog:mrn"
DEIDENTIFICATION_SYSTEM = "urn:tplog:deidentification"
# Reference, "Body sites and laterality": mCODE laterality-qualifier with SNOMED CT qualifiers.
LATERALITY_URL = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
LATERALITY = {"L": ("7771000", "Left"), "R": ("24028007", "Right")}
PAIN_LOINC = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
# FHIR R4 AdverseEvent.severity and .outcome: required bindings to FHIR's own code systems
# (codes only, no display). The kinds themselves have no verified code: text only.
EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
EVENT_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
OUTCOME_CODES = {"resolved-with-sequelae": "resolvedWithSequelae"}


def _full_url(resource_type: str, resource_id: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"tplog:{resource_type}/{resource_id}"))


def _ref(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": _full_url(resource_type, resource_id)}


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": _full_url(resource["resourceType"], resource["id"]), "resource": resource}


def patient_id(visit: ExportVisit, deidentified: bool) -> str:
    if deidentified:
        return visit.mrn.lower()  # the research id
    return "p-" + hashlib.sha256(visit.mrn.encode()).hexdigest()[:16]


def _date(visit: ExportVisit, value: Any) -> str:
    return str(value.year) if visit.year_only else value.isoformat()


def patient(visit: ExportVisit, deidentified: bool) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": patient_id(visit, deidentified)}
    if not deidentified:
        resource["identifier"] = [{"system": MRN_SYSTEM, "value": visit.mrn}]
        if visit.patient_name:
            resource["name"] = [{"text": visit.patient_name}]
        if visit.date_of_birth is not None:
            resource["birthDate"] = visit.date_of_birth.isoformat()
    if visit.sex is not None:
        resource["gender"] = visit.sex
    return resource


def visit_resources(visit: ExportVisit, deidentified: bool,
                    rules: clinical.Rules | None = None) -> list[dict[str, Any]]:
    subject = _ref("Patient", patient_id(visit, deidentified))
    key = str(visit.shown_id)
    encounter_id = f"encounter-{key}"
    when = _date(visit, visit.visit_date)
    encounter: dict[str, Any] = {
        "resourceType": "Encounter", "id": encounter_id, "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "subject": subject, "period": {"start": when, "end": when},
    }
    if visit.practitioner:
        encounter["participant"] = [{"individual": {"display": visit.practitioner}}]
    if visit.conditions:
        encounter["reasonCode"] = [_condition(key) for key in visit.conditions]
    resources = [encounter]
    codes = {c.dry_needling: c.code for c in visit.cpt(rules or clinical.Rules())}
    for p in visit.points:
        procedure_id = f"procedure-{key}-{p.position}"
        muscle = vocab.MUSCLE_BY_KEY[p.muscle]
        dry = p.drug is not None and not vocab.DRUG_BY_KEY[p.drug].injects
        code: dict[str, Any] = {"text": "Dry needling of trigger point" if dry
                                else "Trigger point injection"}
        if dry in codes:
            code["coding"] = [{"system": CPT, "code": codes[dry]}]
        side = "left" if p.side == "L" else "right"
        body_site: dict[str, Any] = {"text": f"{muscle.name}, {side}"}
        if muscle.snomed:
            body_site["coding"] = [{"system": SNOMED, "code": muscle.snomed,
                                    "display": muscle.name}]
        side_code, side_name = LATERALITY[p.side]
        body_site["extension"] = [{"url": LATERALITY_URL, "valueCodeableConcept": {
            "coding": [{"system": SNOMED, "code": side_code, "display": side_name}]}}]
        procedure: dict[str, Any] = {
            "resourceType": "Procedure", "id": procedure_id, "status": "completed",
            "code": code, "subject": subject, "encounter": _ref("Encounter", encounter_id),
            "performedDateTime": when, "bodySite": [body_site],
        }
        # Recorded findings only: what was not recorded is left out, "none"/"no" is said.
        notes = [text for text in (
            None if p.twitch_response is None
            else f"Local twitch response: {'yes' if p.twitch_response else 'no'}",
            None if p.soreness is None else f"Soreness: {p.soreness}",
            None if p.numbness is None else f"Numbness: {'yes' if p.numbness else 'no'}",
        ) if text]
        if notes:
            procedure["note"] = [{"text": text} for text in notes]
        complications = ([{"text": f"Soreness ({p.soreness})"}]
                         if p.soreness not in (None, "none") else [])
        complications += [{"text": "Numbness"}] if p.numbness else []
        if complications:
            procedure["complication"] = complications
        resources.append(procedure)
        for moment, pain in (("before", p.pain_before), ("after", p.pain_after)):
            if pain is None:
                continue
            resources.append({
                "resourceType": "Observation", "id": f"pain-{key}-{p.position}-{moment}",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": PAIN_LOINC[0],
                                     "display": PAIN_LOINC[1]}],
                         "text": f"Pain {moment} trigger point injection (0-10)"},
                "subject": subject, "encounter": _ref("Encounter", encounter_id),
                "effectiveDateTime": when, "valueInteger": pain,
                "partOf": [_ref("Procedure", procedure_id)],
            })
        if p.drug is not None and not dry:
            administration: dict[str, Any] = {
                "resourceType": "MedicationAdministration",
                "id": f"medication-{key}-{p.position}", "status": "completed",
                "medicationCodeableConcept": {"text": vocab.DRUG_BY_KEY[p.drug].name},
                "subject": subject, "context": _ref("Encounter", encounter_id),
                "effectiveDateTime": when, "partOf": [_ref("Procedure", procedure_id)],
            }
            if p.volume_ml is not None:
                administration["dosage"] = {"dose": {"value": p.volume_ml, "unit": "mL",
                                                     "system": UCUM, "code": "mL"}}
            resources.append(administration)
    procedures = [_ref("Procedure", f"procedure-{key}-{p.position}") for p in visit.points]
    resources += [adverse_event(visit, event, number, subject=subject,
                                encounter_id=encounter_id, procedures=procedures)
                  for number, event in enumerate(visit.adverse_events, start=1)]
    return resources


def adverse_event(visit: ExportVisit, event: Any, number: int, *, subject: dict[str, str],
                  encounter_id: str, procedures: list[dict[str, str]]) -> dict[str, Any]:
    """An AdverseEvent (actual) after the visit, its procedures the suspected cause. R4's
    AdverseEvent has no note: the note (left out when de-identified) follows the kind in
    the event's text."""
    text = event.kind_name if event.kind != "other" else "Other adverse event"
    if event.note:
        text += f": {event.note}"
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent", "id": f"adverse-event-{visit.shown_id}-{number}",
        "actuality": "actual", "event": {"text": text}, "subject": subject,
        "encounter": _ref("Encounter", encounter_id),
        "date": _date(visit, event.occurred_on),
        "suspectEntity": [{"instance": procedure} for procedure in procedures],
    }
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
        concept["coding"] = [{"system": ICD10CM, "code": condition.icd10,
                              "display": condition.name}]
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
          rules: clinical.Rules | None = None) -> None:
    out.write('{"resourceType": "Bundle", "type": "collection", '
              + _meta(deidentified, shifted_dates) + '"entry": [')
    first, last_patient = True, None
    for visit in visits:
        resources = visit_resources(visit, deidentified, rules)
        if visit.mrn != last_patient:
            resources.insert(0, patient(visit, deidentified))
            last_patient = visit.mrn
        for resource in resources:
            out.write(("" if first else ",") + "\n  " + json.dumps(_entry(resource),
                                                                  ensure_ascii=False))
            first = False
        if on_point is not None:
            for _ in visit.points:
                on_point()
    out.write("\n]}\n")
