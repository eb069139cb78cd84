"""The printable visit summary as one description, laid out twice: as HTML by a Jinja2
template (tplog/export/templates/summary.html.j2, tplog.export.html) and as a PDF letter by
fpdf2 (tplog.export.pdf). Both show exactly what `document` puts here, in the same order, so
the two cannot drift apart: the wording lives here and in tplog.export.letter, the layout
there.

A summary carries the whole record of each visit, as `tplog visit show` does: the points,
the dose against the limit it was checked against, the warnings recorded when it was logged
and how each was confirmed, that it was amended (when, by whom, why), the follow-ups with the
relief they show and how long relief lasted, and the addenda.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tplog import clinical, vocab
from tplog.export import bodychart, letter, trendchart
from tplog.export.select import ExportVisit
from tplog.points import Point

TITLE = "Trigger point injection visit summary"
# The points table's columns, in both layouts (PDF widths in tplog.export.pdf).
COLUMNS = ("#", "Muscle", "Side", "Pain before → after (change)", "Band", "Twitch",
           "Signs", "Soreness", "Numbness", "Drug", "mL")
SIGN_OFF = "Signature: ______________________________    Date: ______________"


@dataclass(frozen=True)
class Letterhead:
    """Who sends the letter: the clinic and the practitioner, as configured ([clinic])."""

    clinic: str | None = None
    address: tuple[str, ...] = ()
    practitioner: str | None = None  # the name with the credentials after it
    npi: str | None = None

    @property
    def lines(self) -> list[str]:
        """Everything under the clinic's name, one line each."""
        lines = list(self.address)
        if self.practitioner:
            lines.append(self.practitioner + (f" · NPI {self.npi}" if self.npi else ""))
        elif self.npi:
            lines.append(f"NPI {self.npi}")
        return lines


@dataclass(frozen=True)
class Fact:
    label: str
    text: str


@dataclass(frozen=True)
class VisitPart:
    anchor: str  # the HTML id: visit-ID
    heading: str  # Visit ID: DATE
    amended: str | None  # that it was amended: when, by whom, why
    facts: tuple[Fact, ...]  # date, practitioner, conditions, reduction, dose
    rows: tuple[tuple[str, ...], ...]  # the points, in COLUMNS order
    chart: str  # the body chart, inline SVG (tplog.export.bodychart)
    points: tuple[Point, ...]  # what the chart marks (the PDF draws it: tplog.export.pdf_chart)
    record: tuple[Fact, ...]  # warnings, follow-ups, relief, adverse events, note, addenda
    notes: tuple[str, ...]  # the billing suggestion, the thorax caution


@dataclass(frozen=True)
class PatientPart:
    who: str  # Ada Lovelace (MRN P0001), or Research id R...
    running: str  # the line on every page: Ada Lovelace · MRN P0001
    details: str  # sex, born, age
    trend: str | None  # the pain trend across visits (inline SVG), two visits or more
    visits: tuple[VisitPart, ...]
    aftercare: str = letter.AFTERCARE  # said once for all the visits, after them


@dataclass(frozen=True)
class Summary:
    title: str  # the page's <title> and the PDF's: names the patient and the dates
    letterhead: Letterhead
    prepared: str  # Prepared with tplog on DATE[. De-identified ...]
    patients: tuple[PatientPart, ...]
    paper: str  # a4 or letter
    sign_off: str = SIGN_OFF


def letterhead(clinic: Any) -> Letterhead:
    """From config.Clinic (Settings.letterhead); an empty letterhead without one."""
    if clinic is None:
        return Letterhead()
    who = clinic.practitioner
    if who and clinic.credentials:
        who = f"{who}, {clinic.credentials}"
    return Letterhead(clinic=clinic.name,
                      address=tuple(line.strip() for line in (clinic.address or "").split("\n")
                                    if line.strip()),
                      practitioner=who, npi=clinic.npi)


def _who(visit: ExportVisit) -> tuple[str, str]:
    if visit.deidentified:
        return f"Research id {visit.mrn}", f"Research id {visit.mrn}"
    return (f"{visit.patient_name or ''} (MRN {visit.mrn})",
            f"{visit.patient_name or ''} · MRN {visit.mrn}")


def span(visits: Sequence[ExportVisit]) -> str:
    """The dates the visits cover: one date, or FIRST to LAST."""
    first, last = letter.when(visits[0]), letter.when(visits[-1])
    return first if first == last else f"{first} to {last}"


def title(patients: Sequence[Sequence[ExportVisit]]) -> str:
    """The summary's title: the patient (research id when de-identified) and the dates."""
    if not patients:
        return f"{TITLE}: no visits"
    visits = sorted((v for group in patients for v in group), key=lambda v: v.visit_date)
    if len(patients) == 1:
        return f"{TITLE}: {_who(patients[0][0])[1]}, {span(visits)}"
    return f"{TITLE}: {len(patients)} patients, {span(visits)}"


def file_name(patients: Sequence[Sequence[ExportVisit]], extension: str) -> str:
    """A default file name naming the patient (research id when de-identified) and dates in
    ASCII letters, digits and dashes only (any system, any shell), e.g.
    visit-summary_Mary-Major_P0001_2025-01-01_to_2025-02-01.pdf."""
    visits = sorted((v for group in patients for v in group), key=lambda v: v.visit_date)
    if not visits:
        parts = ["no-visits"]
    elif len(patients) > 1:
        parts = [f"{len(patients)} patients"]
    elif visits[0].deidentified:
        parts = [f"Research id {visits[0].mrn}"]
    else:
        parts = [visits[0].patient_name or "", visits[0].mrn]
    if visits:
        parts.append(span(visits).replace(" to ", "_to_"))
    slugs = [re.sub(r"[^A-Za-z0-9_.-]+", "-", unicodedata.normalize("NFKD", part)
                    .encode("ascii", "ignore").decode()).strip("-.") for part in parts]
    return f"visit-summary_{'_'.join(slug for slug in slugs if slug)[:150]}.{extension}"


def _percent(value: float | None) -> str:
    return letter.UNRECORDED if value is None else f"{clinical.whole_percent(value)} %"


def _date(visit: ExportVisit, day: dt.date) -> str:
    """A date of the visit's record as its dates are shown (the year only, de-identified)."""
    return str(day.year) if visit.year_only else day.isoformat()


def _moment(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _amended(visit: ExportVisit) -> str | None:
    amendment = visit.amendment
    if amendment is None:
        return None
    said = f"Amended: revision {amendment.revision}"
    if amendment.amended_at is not None:
        said += f", {_moment(amendment.amended_at)}"
    if amendment.amended_by:
        said += f", by {amendment.amended_by}"
    if amendment.reason:
        said += f"; reason: {amendment.reason}"
    return said


def _record(visit: ExportVisit) -> list[Fact]:
    """What `visit show` says after the points: findings when logged, follow-ups and how
    long relief lasted, adverse events, the note, the addenda."""
    record = []
    for warning in visit.warnings:
        if warning.kind == "thorax":  # the caution is said from the points (letter.notes)
            continue
        message = warning.message or f"a {warning.kind.replace('_', ' ')} finding"
        confirmed = f"; {warning.confirmation}" if warning.confirmation else ""
        record.append(Fact("Warning when logged", message + confirmed))
    for follow_up in visit.follow_ups:
        record.append(Fact(
            "Follow-up" if follow_up.reported_on is None
            else f"Follow-up {_date(visit, follow_up.reported_on)}",
            f"{follow_up.days_after} days after: pain {follow_up.pain}/10, relief "
            f"{_percent(follow_up.percent_relief)} of the pain before"
            + letter.follow_up_outcomes(follow_up)
            + (f": {follow_up.note}" if follow_up.note else "")))
    if visit.relief_days == 0 and visit.follow_ups:
        record.append(Fact("Relief", "(>= 30 %) had lapsed by the first follow-up."))
    elif visit.relief_days is not None and visit.follow_ups:
        record.append(Fact("Relief", f"(>= 30 %) lasted at least {visit.relief_days} day(s): "
                                     "to the last follow-up before it fell below 30 %."))
    elif visit.follow_ups:
        record.append(Fact("Relief", "undefined (no pain before the injections to compare)."))
    # Adverse events recorded after the visit (revision 0012), their notes as entered (left
    # out when de-identified).
    for line, text in letter.adverse_events(visit):
        record.append(Fact("Adverse event", line + (f": {text}" if text else "")))
    if visit.note:
        record.append(Fact("Note", visit.note))
    for addendum in visit.addenda:
        record.append(Fact(f"Addendum {_moment(addendum.created_at)}",
                           f"signed {addendum.practitioner} ({addendum.created_by}): "
                           f"{addendum.text}"))
    return record


def _rows(visit: ExportVisit) -> tuple[tuple[str, ...], ...]:
    return tuple((str(p.position), vocab.MUSCLE_BY_KEY[p.muscle].name,
                  "left" if p.side == "L" else "right",
                  letter.change(p.pain_before, p.pain_after), letter.text(p.band),
                  letter.text(p.twitch_response), letter.signs(p), letter.text(p.soreness),
                  letter.text(p.numbness), *letter.drug(p)) for p in visit.points)


def visit_part(visit: ExportVisit, rules: clinical.Rules) -> VisitPart:
    facts = [Fact("Date", letter.when(visit))]
    if visit.practitioner:
        # "Name, credentials" and the NPI from the practitioner's record (revision 0013).
        facts.append(Fact("Practitioner", (visit.practitioner_signed or "")
                          + (f" (NPI {visit.practitioner_npi})" if visit.practitioner_npi
                             else "")))
    facts.append(Fact("Conditions", "; ".join(letter.conditions(visit)) or letter.UNRECORDED))
    facts.append(Fact("Reduction of mean pain", letter.mean_change(visit)))
    if (peg := letter.peg(visit)) is not None:
        facts.append(Fact("PEG", peg))
    if visit.pregnant is not None:  # asked at the visit (part of the pre-procedure screen)
        facts.append(Fact("Pregnant", visit.pregnant))
    for line in [*letter.doses(visit, rules), *letter.procedure_lines(visit)]:
        label, _, text = line.partition(": ")
        facts.append(Fact(label, text))
    return VisitPart(anchor=f"visit-{visit.shown_id}",
                     heading=f"Visit {visit.shown_id}: {letter.when(visit)}",
                     amended=_amended(visit), facts=tuple(facts), rows=_rows(visit),
                     chart=bodychart.svg(visit.points), points=tuple(visit.points),
                     record=tuple(_record(visit)),
                     notes=tuple(note for note in letter.notes(visit, rules)
                                 if note != letter.AFTERCARE))


def patient_part(visits: Sequence[ExportVisit], rules: clinical.Rules) -> PatientPart:
    first = visits[0]
    who, running = _who(first)
    details = [f"sex {letter.text(first.sex)}"]
    if first.date_of_birth is not None:
        details.append(f"born {first.date_of_birth.isoformat()}")
    if first.age_at_visit is not None:
        details.append(f"age {first.age_at_visit} at the first visit shown")
    details.append(f"{len(visits)} visit(s), {span(visits)}")
    trend = trendchart.svg(trendchart.of_visits(visits)) if len(visits) > 1 else None
    return PatientPart(who=who, running=running, details=", ".join(details), trend=trend,
                       visits=tuple(visit_part(v, rules) for v in visits))


def document(visits: Iterable[ExportVisit], *, deidentified: bool, shifted_dates: bool,
             rules: clinical.Rules, clinic: Any = None, paper: str | None = None,
             on_point: Callable[[], Any] | None = None) -> Summary:
    """The summary of the visits (held whole: a letter is a few visits, and its title names
    the dates it covers before the first visit is laid out)."""
    patients = [group for group in letter.patients(visits) if group]
    prepared = f"Prepared with tplog on {dt.date.today().isoformat()}"
    if deidentified:
        prepared += f". {letter.deidentified(shifted_dates)}"
    parts = []
    for group in patients:
        parts.append(patient_part(group, rules))
        if on_point is not None:
            for visit in group:
                for _ in visit.points:
                    on_point()
    return Summary(title=title(patients), letterhead=letterhead(clinic), prepared=prepared,
                   patients=tuple(parts),
                   paper=paper or (clinic.paper if clinic is not None else None) or "a4")
