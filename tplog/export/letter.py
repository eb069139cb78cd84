"""What a printable visit summary says, whatever it is printed as (tplog.export.html and
tplog.export.markdown lay it out).

For the referring physician and the patient: who, when, by whom, for what (with codes), each
point's pain before → after with % change, soreness and numbness, drug and total dose, the
billing suggestion, and aftercare. One patient's visits are held together (a few at most)
so that a multi-visit summary can open with the pain trend; patients stream one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from tplog import clinical, procedure, vocab
from tplog.clinical import percent_reduction, thorax_reminder, thorax_sites
from tplog.export.select import ExportFollowUp, ExportVisit
from tplog.points import NOT_RECORDED, SIGNS, Point, as_text

# Reference, "What a trigger point injection visit records": soreness or numbness at the site
# is common afterwards; strenuous activity is avoided for a few days.
AFTERCARE = ("Aftercare: soreness or numbness at the injection sites is common for a day or "
             "two; avoid strenuous activity for a few days.")
UNRECORDED = NOT_RECORDED  # the one mark, tplog.points.NOT_RECORDED


def text(value: object) -> str:
    return as_text(value, UNRECORDED)


# A de-identified export shows no database ids (they would link it back to the records):
# its visits are numbered 1, 2, ... in its own order, and it says so.
VISITS_NUMBERED = "visits numbered within this export, not by their ids in tplog"


def deidentified(shifted_dates: bool) -> str:
    """What a de-identified summary says of itself, under its title."""
    if shifted_dates:
        return ("De-identified with dates shifted per patient: NOT HIPAA Safe Harbor "
                "(dates other than the year are kept, moved); no names, MRNs or notes; "
                "ages over 89 as 90+; " + VISITS_NUMBERED)
    return ("De-identified (HIPAA Safe Harbor): no names, MRNs or notes; dates as the year "
            "only; ages over 89 as 90+; " + VISITS_NUMBERED)


def when(visit: ExportVisit) -> str:
    return str(visit.visit_date.year) if visit.year_only else visit.visit_date.isoformat()


def change(before: int, after: int | None) -> str:
    if after is None:
        return f"{before} → {UNRECORDED}"
    percent = percent_reduction(before, after)
    points = f"{after - before:+d} points"
    if percent is None:
        return f"{before} → {after} ({points}; % change undefined: no pain before)"
    if after == before:
        return f"{before} → {after} (no change)"
    return (f"{before} → {after} ({points}, {abs(clinical.whole_percent(percent))} % "
            f"{'less' if percent > 0 else 'more'})")


def mean_change(visit: ExportVisit) -> str:
    change = visit.change
    if change is None:
        return UNRECORDED
    reduction = ("% undefined (no pain before)" if change.percent is None
                 else f"{clinical.whole_percent(change.percent)} %")
    return (f"{reduction} ({change.band or 'no band'}; {change.points:+.1f} points, mean "
            f"{float(change.pain_before):.1f} → {float(change.pain_after):.1f})")


def conditions(visit: ExportVisit) -> list[str]:
    return [f"{vocab.CONDITION_BY_KEY[k].name}"
            + (f" ({vocab.CONDITION_BY_KEY[k].icd10})" if vocab.CONDITION_BY_KEY[k].icd10
               else " (no code)") for k in visit.conditions]


def drug(point: Point) -> tuple[str, str]:
    """A point's Drug and mL cells: a mixture's drugs, each with its mL, and their total."""
    if point.injectate:
        total = sum(ml or 0 for _, ml in point.doses)
        return (" + ".join(f"{vocab.DRUG_BY_KEY[d].name} {ml:g} mL" for d, ml in point.doses
                           if d is not None), f"{total:g}")
    return (vocab.DRUG_BY_KEY[point.drug].name if point.drug else UNRECORDED,
            text(point.volume_ml))


def doses(visit: ExportVisit, rules: clinical.Rules) -> list[str]:
    # Every drug given, a mixture's parts each counted with its own.
    given = [(d, ml) for p in visit.points for d, ml in p.doses if d is not None]
    drugs = sorted({d for d, _ in given})
    volume = {d: sum(ml or 0 for key, ml in given if key == d) for d in drugs}
    lines = [f"{vocab.DRUG_BY_KEY[d].name}: {volume[d]:g} mL in total" for d in drugs
             if vocab.DRUG_BY_KEY[d].injects]
    check = visit.dose(rules)
    if check is not None:
        lines.append(f"Local anaesthetic dose: {check.summary}")
    lines += [f"Steroid: {steroid} {float(mg):g} mg"
              for steroid, mg in clinical.steroid_totals(given).items()]
    if visit.lots:
        lines.append("Lots: " + "; ".join(f"{vocab.DRUG_BY_KEY[lot.drug].name} lot {lot.lot}, "
                                          f"expires {lot.expiry}" for lot in visit.lots))
    return lines


def adverse_events(visit: ExportVisit) -> list[tuple[str, str | None]]:
    """Each adverse event after the visit: its line in tplog's words (date, kind, severity,
    outcome), and the note as entered (None in a de-identified export), for the layout to
    escape."""
    found = []
    for event in visit.adverse_events:
        day = (str(event.occurred_on.year) if visit.year_only
               else event.occurred_on.isoformat())
        details = ", ".join(d for d in (event.severity, event.outcome) if d)
        found.append((f"{day}: {event.kind_name}" + (f" ({details})" if details else ""),
                      event.note))
    return found


def notes(visit: ExportVisit, rules: clinical.Rules) -> list[str]:
    notes = [cpt.text for cpt in visit.cpt(rules)]
    notes.append(AFTERCARE)
    thorax = thorax_sites([(p.muscle, p.side) for p in visit.points])
    if thorax:
        notes.append(thorax_reminder(thorax))
    return notes


def patients(visits: Iterable[ExportVisit]) -> Iterable[list[ExportVisit]]:
    for _, group in groupby(visits, key=lambda v: v.mrn):
        yield list(group)


def peg(visit: ExportVisit | ExportFollowUp) -> str | None:
    """The visit's (or follow-up's) PEG, "5.7 of 10 (pain 6, enjoyment of life 5, general
    activity 6)", or None when not asked (reference: PEG, Krebs et al. 2009; the score is the
    mean of the three items)."""
    if visit.peg is None:
        return None
    pain, enjoyment, activity = visit.peg
    return (f"{visit.peg_score} of 10 (pain {pain}, enjoyment of life {enjoyment}, general "
            f"activity {activity})")


def pgic(value: int | None) -> str | None:
    """PGIC as "2 (much improved)" (tplog.vocab.PGIC), or None when not asked."""
    return None if value is None else f"{value} ({vocab.PGIC[value]})"


def follow_up_outcomes(follow_up: ExportFollowUp) -> str:
    """"; PEG ...; PGIC ..." for a follow-up line: what was asked, nothing when neither."""
    said = [f"{label} {text}" for label, text in (("PEG", peg(follow_up)),
                                                  ("PGIC", pgic(follow_up.pgic))) if text]
    return "".join(f"; {text}" for text in said)


def signs(point: Point) -> str:
    """The trigger point's signs beside the twitch (taut band, jump sign, referred pain), as
    recorded: "taut band yes, jump sign no"; the mark when none was."""
    found = [f"{f.label} {text(getattr(point, f.name))}" for f in SIGNS
             if f.name != "twitch_response" and getattr(point, f.name) is not None]
    return ", ".join(found) or UNRECORDED


def procedure_lines(visit: ExportVisit) -> list[str]:
    """The procedure as documented and the ranges of motion, where any was recorded."""
    lines = []
    said = procedure.lines(visit.procedure)
    if said:
        lines.append(f"Procedure: {said}")
    if visit.range_of_motion:
        lines.append("Range of motion (before → after): "
                     + "; ".join(procedure.rom_text(m) for m in visit.range_of_motion))
    return lines
