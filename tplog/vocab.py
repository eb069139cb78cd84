"""The clinical vocabulary: muscles by region, conditions, drugs, with their codes and sources.

Every code here comes from ../shared/reference/clinical.md (the project's clinical reference);
the source is named next to it. Where the reference marks a code unverified, the entry has no
code: a wrong code in an export is worse than none.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from tplog.errors import shown


@dataclass(frozen=True)
class Region:
    key: str
    name: str


@dataclass(frozen=True)
class Muscle:
    key: str
    name: str
    region: str
    snomed: str | None  # SNOMED CT body structure code, only where the reference verified it
    source: str | None  # where the code comes from
    # Over the chest wall or the lung apex: pneumothorax is possible. `thorax_source` says
    # where that comes from (the reference's complications list, or the anatomy).
    thorax_source: str | None = None
    # For billing, the parts of one muscle are one muscle (CPT 20552/20553 count muscles).
    billing_muscle: str | None = None

    # A muscle of mastication: myalgia there is M79.11 (reference, "Diagnosis codes").
    masticatory: bool = False

    @property
    def over_thorax(self) -> bool:
        return self.thorax_source is not None

    @property
    def counted_as(self) -> str:
        return self.billing_muscle or self.key


@dataclass(frozen=True)
class Condition:
    key: str
    name: str
    icd10: str | None  # ICD-10-CM, None where the reference does not let us ship one
    note: str = ""
    # False for keys kept only because older visits hold them: they are shown, not entered.
    enterable: bool = True


@dataclass(frozen=True)
class Drug:
    key: str
    name: str
    concentration_percent: float | None  # None: no injectate (saline has no anaesthetic dose)
    injects: bool = True  # dry needling injects nothing, so it takes no volume
    anaesthetic: str | None = None  # the local anaesthetic whose dose limit applies
    # A corticosteroid: which one (its dose in mg is counted per patient), and its strength
    # in mg/mL as the product is labelled (a steroid's strength is given in mg/mL, not %).
    steroid: str | None = None
    strength_mg_per_ml: float | None = None

    @property
    def mg_per_ml(self) -> float | None:
        if self.strength_mg_per_ml is not None:
            return self.strength_mg_per_ml
        # Reference, "Local anaesthetic dose limits": x % = x g / 100 mL, so 1 % = 10 mg/mL.
        return None if self.concentration_percent is None else self.concentration_percent * 10


REGIONS: tuple[Region, ...] = (
    Region("head-face", "Head and face"),
    Region("neck", "Neck"),
    Region("shoulder", "Shoulder"),
    Region("upper-back", "Upper back"),
    Region("chest", "Chest"),
    Region("lower-back", "Lower back"),
    Region("hip-pelvis", "Hip and pelvis"),
    Region("pelvic-floor", "Pelvic floor"),
    Region("abdomen", "Abdomen"),
    Region("forearm", "Forearm"),
    Region("thigh", "Thigh"),
    Region("leg", "Lower leg"),
)

_DICOM = "DICOM CID 6116 Muscular Anatomy"
_TG263 = "HL7 mCODE CM_TG263"
_TOTALSEG = "TotalSegmentator SNOMED mapping"

# Why a muscle is flagged as over the thorax (reference, "What a trigger point injection visit
# records", complications: pneumothorax after injections over the thorax).
_THORAX = "reference: listed among the muscles over the thorax"
_PECTORAL = ("reference: Physical Medicine & Rehabilitation: Principles and Practice, the "
             "injection technique stresses the closeness of the thoracic cavity")
_PARASPINAL = ("reference: the thoracic paraspinals; tplog's key does not record the level, "
               "so it is flagged at every level rather than reassure falsely")
_ANATOMY = ("not in the reference's list; flagged from anatomy (issue 11): it lies against "
            "the chest wall or over the lung apex")
# External oblique (issue 16): not in the reference's list either; its upper slips arise on the
# outer surfaces of ribs 5-12, over the pleura's costodiaphragmatic recess, and tplog's key does
# not record whether the point was over the ribs or the flank, so it is flagged rather than
# reassure falsely (as the paraspinals are). Rectus abdominis is not flagged: below its
# attachment to costal cartilages 5-7 it lies over the abdominal cavity, not the pleura.
_OVER_LOWER_RIBS = ("not in the reference's list; flagged from anatomy (issue 16): its upper "
                    "slips lie on ribs 5-12, over the lowest part of the pleura")
# Pelvic floor and limb muscles added in issue 16: the reference's "Body sites" table verifies
# no code for any of them (levator ani is listed unverified), so they ship as text only.

MUSCLES: tuple[Muscle, ...] = (
    Muscle("masseter", "Masseter", "head-face", "79368004", _TG263, masticatory=True),
    Muscle("temporalis", "Temporalis", "head-face", "52927003", _TG263,
           masticatory=True),
    Muscle("medial-pterygoid", "Medial pterygoid", "head-face", None, None,
           masticatory=True),  # not in the reference: text only
    Muscle("lateral-pterygoid", "Lateral pterygoid", "head-face", None, None,
           masticatory=True),  # not in the reference: text only
    # The three parts of the trapezius share the whole muscle's code; the text names the part.
    Muscle("upper-trapezius", "Upper trapezius", "neck", "31764008", _DICOM,
           thorax_source=_THORAX, billing_muscle="trapezius"),
    Muscle("sternocleidomastoid", "Sternocleidomastoid", "neck", "22823000", _DICOM),
    Muscle("anterior-scalene", "Scalenus anterior", "neck", "50755001", _DICOM,
           thorax_source=_THORAX),
    Muscle("splenius-capitis", "Splenius capitis", "neck", None, None),  # unverified
    Muscle("suboccipitals", "Suboccipital muscles", "neck", None, None),  # unverified
    Muscle("levator-scapulae", "Levator scapulae", "neck", None, None),  # unverified
    Muscle("supraspinatus", "Supraspinatus", "shoulder", "6423006", _DICOM,
           thorax_source=_ANATOMY),
    Muscle("infraspinatus", "Infraspinatus", "shoulder", "72573008", _DICOM),
    Muscle("subscapularis", "Subscapularis", "shoulder", "90588001", _DICOM,
           thorax_source=_ANATOMY),
    Muscle("teres-major", "Teres major", "shoulder", "1193009", _DICOM),
    Muscle("teres-minor", "Teres minor", "shoulder", "51159009", _DICOM),
    Muscle("deltoid", "Deltoid", "shoulder", "35259002", _DICOM),
    Muscle("middle-trapezius", "Middle trapezius", "upper-back", "31764008", _DICOM,
           thorax_source=_THORAX, billing_muscle="trapezius"),
    Muscle("lower-trapezius", "Lower trapezius", "upper-back", "31764008", _DICOM,
           thorax_source=_THORAX, billing_muscle="trapezius"),
    # Rhomboids: no verified code.
    Muscle("rhomboids", "Rhomboids", "upper-back", None, None, thorax_source=_THORAX),
    Muscle("latissimus-dorsi", "Latissimus dorsi", "upper-back", "15665001", _DICOM,
           thorax_source=_THORAX),
    Muscle("pectoralis-major", "Pectoralis major", "chest", "60005003", _DICOM,
           thorax_source=_PECTORAL),
    Muscle("pectoralis-minor", "Pectoralis minor", "chest", "18686000", _DICOM,
           thorax_source=_PECTORAL),
    Muscle("serratus-anterior", "Serratus anterior", "chest", "18346003", _DICOM,
           thorax_source=_THORAX),
    Muscle("intercostals", "Intercostal muscles", "chest", None, None,
           thorax_source=_THORAX),
    Muscle("erector-spinae", "Erector spinae", "lower-back", "44947003", _DICOM,
           thorax_source=_PARASPINAL),
    Muscle("iliocostalis", "Iliocostalis", "lower-back", "57651003", _DICOM,
           thorax_source=_PARASPINAL),
    Muscle("longissimus", "Longissimus", "lower-back", "88340001", _DICOM,
           thorax_source=_PARASPINAL),
    # Not in the reference's table: text only. A paraspinal like the erector spinae.
    Muscle("multifidus", "Multifidus", "lower-back", None, None, thorax_source=_PARASPINAL),
    Muscle("quadratus-lumborum", "Quadratus lumborum", "lower-back", None, None),  # unverified
    Muscle("gluteus-maximus", "Gluteus maximus", "hip-pelvis", "206007",
           "FHIR R4 body-site value set example"),
    Muscle("gluteus-medius", "Gluteus medius", "hip-pelvis", "78333006", _TOTALSEG),
    # 75297007 has one inconsistent source; the reference says treat it as unverified.
    Muscle("gluteus-minimus", "Gluteus minimus", "hip-pelvis", None, None),
    Muscle("piriformis", "Piriformis", "hip-pelvis", None, None),  # unverified
    Muscle("iliopsoas", "Iliopsoas", "hip-pelvis", "68455001", _TOTALSEG),
    Muscle("tensor-fasciae-latae", "Tensor fasciae latae", "hip-pelvis", None, None),
    Muscle("levator-ani", "Levator ani", "pelvic-floor", None, None),  # unverified
    # Iliococcygeus and pubococcygeus are parts of the levator ani: for billing they are the
    # one muscle, as the parts of the trapezius are (reference, "Left and right").
    Muscle("iliococcygeus", "Iliococcygeus (levator ani)", "pelvic-floor", None, None,
           billing_muscle="levator-ani"),
    Muscle("pubococcygeus", "Pubococcygeus (levator ani)", "pelvic-floor", None, None,
           billing_muscle="levator-ani"),
    Muscle("coccygeus", "Coccygeus", "pelvic-floor", None, None),
    Muscle("obturator-internus", "Obturator internus", "pelvic-floor", None, None),
    Muscle("rectus-abdominis", "Rectus abdominis", "abdomen", None, None),
    Muscle("external-oblique", "External oblique", "abdomen", None, None,
           thorax_source=_OVER_LOWER_RIBS),
    # No code in the reference for the limb muscles below: text only.
    Muscle("brachioradialis", "Brachioradialis", "forearm", None, None),
    Muscle("forearm-flexors", "Wrist and finger flexors", "forearm", None, None),
    Muscle("forearm-extensors", "Wrist and finger extensors", "forearm", None, None),
    Muscle("adductors", "Hip adductors", "thigh", None, None),
    Muscle("hamstrings", "Hamstrings", "thigh", None, None),
    Muscle("vastus-medialis", "Vastus medialis", "thigh", None, None),
    Muscle("vastus-lateralis", "Vastus lateralis", "thigh", None, None),
    Muscle("tibialis-anterior", "Tibialis anterior", "leg", None, None),
    Muscle("gastrocnemius", "Gastrocnemius", "leg", None, None),
    Muscle("soleus", "Soleus", "leg", None, None),
)

# ICD-10-CM codes: reference, "Diagnosis codes (ICD-10-CM)". A code is a suggestion for the
# record, never a coverage claim (Noridian A57701 covers only some of these). The order of a
# visit's conditions is kept: the first is the primary diagnosis on a claim.
CONDITIONS: tuple[Condition, ...] = (
    # Entered as `myofascial-pain`, it becomes the code of each region injected (M79.11 /
    # M79.12 / M79.18: reference); visits logged before that hold this key, shown as before.
    Condition("myofascial-pain", "Myofascial pain syndrome", "M79.18",
              "entered, becomes the code of each region injected: M79.11 masticatory, "
              "M79.12 head and neck, M79.18 other sites"),
    Condition("myofascial-pain-mastication", "Myalgia of mastication muscle", "M79.11"),
    Condition("myofascial-pain-head-neck", "Myalgia of auxiliary muscles, head and neck",
              "M79.12"),
    Condition("myofascial-pain-other-site", "Myalgia, other site", "M79.18"),
    Condition("fibromyalgia", "Fibromyalgia", "M79.7"),
    Condition("tension-headache", "Tension-type headache", "G44.209"),
    Condition("tension-headache-episodic", "Episodic tension-type headache", "G44.219"),
    Condition("tension-headache-chronic", "Chronic tension-type headache", "G44.229"),
    # A single "migraine" hid the aura distinction (reference): older visits keep the key.
    Condition("migraine", "Migraine without aura", "G43.009",
              "older visits only; enter migraine-with-aura or migraine-without-aura",
              enterable=False),
    Condition("migraine-without-aura", "Migraine without aura", "G43.009"),
    Condition("migraine-with-aura", "Migraine with aura", "G43.109"),
    Condition("migraine-chronic", "Chronic migraine without aura", "G43.709"),
    # The 7th character is the encounter: A initial, D subsequent, S sequela (reference).
    # Entered as `whiplash`, it takes --encounter (default: initial for the patient's first
    # whiplash visit, subsequent after). Visits logged before that hold `whiplash`, which was
    # always coded A: shown without a code, since A may be wrong for them.
    Condition("whiplash", "Whiplash (sprain of cervical spine ligaments)", None,
              "entered, takes --encounter; on older visits the encounter was not recorded"),
    Condition("whiplash-initial", "Whiplash, initial encounter", "S13.4XXA"),
    Condition("whiplash-subsequent", "Whiplash, subsequent encounter", "S13.4XXD"),
    Condition("whiplash-sequela", "Whiplash, sequela", "S13.4XXS",
              "injections months after the injury are usually the sequela"),
    # R10.2 may have become non-billable on 2025-10-01 (R10.20-R10.24): shipped without a code.
    Condition("chronic-pelvic-pain", "Chronic pelvic pain syndrome", None,
              "R10.2 was split on 2025-10-01; code it by hand"),
    Condition("neck-pain", "Neck pain (cervicalgia)", "M54.2"),
    Condition("low-back-pain", "Low back pain, unspecified", "M54.50"),
)

DRUGS: tuple[Drug, ...] = (
    Drug("lidocaine-0.5", "Lidocaine 0.5 %", 0.5, anaesthetic="lidocaine"),
    Drug("lidocaine-1", "Lidocaine 1 %", 1.0, anaesthetic="lidocaine"),
    Drug("lidocaine-2", "Lidocaine 2 %", 2.0, anaesthetic="lidocaine"),
    Drug("bupivacaine-0.25", "Bupivacaine 0.25 %", 0.25, anaesthetic="bupivacaine"),
    Drug("bupivacaine-0.5", "Bupivacaine 0.5 %", 0.5, anaesthetic="bupivacaine"),
    Drug("ropivacaine-0.2", "Ropivacaine 0.2 %", 0.2, anaesthetic="ropivacaine"),
    Drug("ropivacaine-0.5", "Ropivacaine 0.5 %", 0.5, anaesthetic="ropivacaine"),
    # Reference, "What a trigger point injection visit records": a steroid in the injectate
    # (triamcinolone, methylprednisolone, dexamethasone) is documented with its mg. The
    # strengths are those the injectable products are sold in (triamcinolone acetonide 10 and
    # 40 mg/mL, methylprednisolone acetate 40 and 80 mg/mL, dexamethasone sodium phosphate 4
    # and 10 mg/mL); the reference names no RxNorm code for them, so none is shipped.
    Drug("triamcinolone-10", "Triamcinolone acetonide 10 mg/mL", None,
         steroid="triamcinolone", strength_mg_per_ml=10),
    Drug("triamcinolone-40", "Triamcinolone acetonide 40 mg/mL", None,
         steroid="triamcinolone", strength_mg_per_ml=40),
    Drug("methylprednisolone-40", "Methylprednisolone acetate 40 mg/mL", None,
         steroid="methylprednisolone", strength_mg_per_ml=40),
    Drug("methylprednisolone-80", "Methylprednisolone acetate 80 mg/mL", None,
         steroid="methylprednisolone", strength_mg_per_ml=80),
    Drug("dexamethasone-4", "Dexamethasone sodium phosphate 4 mg/mL", None,
         steroid="dexamethasone", strength_mg_per_ml=4),
    Drug("dexamethasone-10", "Dexamethasone sodium phosphate 10 mg/mL", None,
         steroid="dexamethasone", strength_mg_per_ml=10),
    Drug("saline", "Normal saline 0.9 %", None),
    Drug("dry-needling", "Dry needling (no injectate)", None, injects=False),
)

@dataclass(frozen=True)
class Movement:
    """A range of motion tplog records (`--rom`), in the regions tplog treats."""

    key: str
    name: str
    region: str
    unit: str  # "degrees", or "mm" for jaw opening (the distance between the incisors)
    sided: bool  # measured left and right (rotation, side-bend, a limb), else once
    # A guard against typing slips (700 for 70), NOT a normal value: the clinical reference
    # gives no normal ranges of motion, so tplog ships none.
    most: int


MOVEMENTS: tuple[Movement, ...] = (
    Movement("cervical-rotation", "Cervical rotation", "neck", "degrees", True, 180),
    Movement("cervical-flexion", "Cervical flexion", "neck", "degrees", False, 180),
    Movement("cervical-extension", "Cervical extension", "neck", "degrees", False, 180),
    Movement("cervical-side-bend", "Cervical side-bend", "neck", "degrees", True, 180),
    Movement("shoulder-flexion", "Shoulder flexion", "shoulder", "degrees", True, 180),
    Movement("shoulder-abduction", "Shoulder abduction", "shoulder", "degrees", True, 180),
    Movement("shoulder-external-rotation", "Shoulder external rotation", "shoulder",
             "degrees", True, 180),
    Movement("lumbar-flexion", "Lumbar flexion", "lower-back", "degrees", False, 180),
    Movement("hip-internal-rotation", "Hip internal rotation", "hip-pelvis", "degrees", True,
             180),
    Movement("jaw-opening", "Jaw opening", "head-face", "mm", False, 100),
)
MOVEMENT_BY_KEY = {m.key: m for m in MOVEMENTS}

REGION_BY_KEY = {r.key: r for r in REGIONS}
MUSCLE_BY_KEY = {m.key: m for m in MUSCLES}
MUSCLE_BY_NAME = {m.name.lower(): m.key for m in MUSCLES}  # "upper trapezius" as typed
CONDITION_BY_KEY = {c.key: c for c in CONDITIONS}
# A code typed for a condition (clinicians think in codes): the enterable key it names. Where
# two keys share a code (M79.18), the specific one wins.
CONDITION_BY_CODE = {c.icd10.upper(): c.key for c in CONDITIONS
                     if c.icd10 and c.enterable and c.key != "myofascial-pain"}
DRUG_BY_KEY = {d.key: d for d in DRUGS}
STEROIDS = tuple(dict.fromkeys(d.steroid for d in DRUGS if d.steroid is not None))


def closest(value: str, keys: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The vocabulary keys nearest to a mistyped or cut-short value, best first: keys that
    start with it (`bupi`), then keys with a part that starts with it (`trap` in
    upper-trapezius), then the ones spelled most alike (`trapezus`)."""
    wanted = value.strip().lower()
    if not wanted:
        return []
    started = [k for k in keys if k.startswith(wanted)]
    parts = [k for k in keys if k not in started
             and any(part.startswith(wanted) for part in re.split(r"[-\s]", k))]
    alike = [k for k in difflib.get_close_matches(wanted, keys, n=n, cutoff=0.5)
             if k not in started and k not in parts]
    return (started + parts + alike)[:n]


def unknown_key_message(kind: str, value: str, keys: list[str], command: str) -> str:
    """`unknown muscle 'x'; did you mean a, b? (see `tplog muscles`)`."""
    near = closest(value, keys)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return f"unknown {kind} {shown(value)}{hint} (the full list: tplog {command})"


# Patient Global Impression of Change, 1-7 (reference, "Outcome measures that are free to use":
# 7 points from "very much improved" to "very much worse", the anchor in Farrar et al. 2001,
# Pain 94:149-158). The five between are the scale's usual wording (Guy's Clinical Global
# Impression of Improvement, whose seven steps PGIC asks the patient).
PGIC = {
    1: "very much improved",
    2: "much improved",
    3: "minimally improved",
    4: "no change",
    5: "minimally worse",
    6: "much worse",
    7: "very much worse",
}
# --- pre-procedure screen and adverse events --------------------------------------------------

@dataclass(frozen=True)
class AdverseEventKind:
    key: str
    name: str


# Reference, "What a trigger point injection visit records": adverse events (vasovagal,
# haematoma, signs of anaesthetic toxicity, pneumothorax, infection, allergy). No code was
# verified for any of them: exports carry the text only.
ADVERSE_EVENT_KINDS: tuple[AdverseEventKind, ...] = (
    AdverseEventKind("vasovagal", "Vasovagal reaction"),
    AdverseEventKind("haematoma", "Haematoma (bleeding)"),
    AdverseEventKind("anaesthetic-toxicity", "Signs of local anaesthetic toxicity"),
    AdverseEventKind("pneumothorax", "Pneumothorax"),
    AdverseEventKind("infection", "Infection at the site"),
    AdverseEventKind("allergic-reaction", "Allergic reaction"),
    AdverseEventKind("other", "Other (described in the note)"),
)
ADVERSE_EVENT_BY_KEY = {k.key: k for k in ADVERSE_EVENT_KINDS}
# What a clinician may type for a kind (US spelling, the plain word).
ADVERSE_EVENT_ALIASES = {"hematoma": "haematoma", "bleeding": "haematoma",
                         "bruising": "haematoma", "anesthetic-toxicity": "anaesthetic-toxicity",
                         "last": "anaesthetic-toxicity", "toxicity": "anaesthetic-toxicity",
                         "allergy": "allergic-reaction", "vasovagal-reaction": "vasovagal",
                         "syncope": "vasovagal"}


def allergy_drugs(substance: str) -> tuple[str, ...]:
    """The drug keys an allergy to `substance` rules out: a drug key (lidocaine-1), a drug's
    name (Lidocaine 1 %), or a local anaesthetic itself (lidocaine: every lidocaine-*). Any
    other text (penicillin, latex) names no drug tplog injects: ()."""
    wanted = " ".join(substance.lower().replace("anesthetic", "anaesthetic").split())
    return tuple(d.key for d in DRUGS
                 if wanted in (d.key, d.name.lower()) or wanted == d.anaesthetic)
