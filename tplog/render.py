"""A patient and their visits as rich tables and lines (a visit, its revisions, the history,
the trends), built from plain results (tplog.services.views). Never opens a session. The
tables are tplog.fitted's; the reports across visits are tplog.report_tables'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text

from tplog import clinical, procedure, vocab
from tplog.fitted import (
    ABBREVIATIONS,
    SHORT_SORENESS,
    UNRECORDED,
    Col,
    FittedTable,
    Layout,
    cell_text,
    fixed_layout,
    number_text,
    percent_text,
    reduction_text,
    text_cells,
    volume_text,
    yes_no,
)
from tplog.points import SIGNS, Point
from tplog.services.views import (
    PatientView,
    ScreenView,
    VisitView,
    peg_score,
)

if TYPE_CHECKING:  # start-up: a command loads only the services it runs
    from tplog.services.trends import MotionTrend, PegPoint, SiteTrend, TrendPoint


POINTS_LEGEND = ("Reduc.: % reduction in pain and its IMMPACT band; LTR: local twitch "
                 "response")


def condition_label(key: str) -> str:
    condition = vocab.CONDITION_BY_KEY.get(key)
    if condition is None:
        return key
    return f"{condition.name} ({condition.icd10})" if condition.icd10 else condition.name


def patients_table(patients: Sequence[PatientView]) -> FittedTable:
    merged = any(p.merged_into for p in patients)
    columns = (Col("MRN"), Col("Name", wrap=True, grow=1), Col("Born"), Col("Sex"), Col("kg"),
               Col("Visits"), Col("Last visit"), *([Col("Merged into")] if merged else []))
    rows = [text_cells(p.mrn, p.name, p.date_of_birth, p.sex, volume_text(p.weight_kg),
                       p.visit_count, p.last_visit_date, *([p.merged_into] if merged else []))
            for p in patients]
    return FittedTable(fixed_layout(columns, rows), title=f"{len(patients)} patient(s)")


def patient_panel(p: PatientView) -> FittedTable:
    rows = [[Text(label, style="bold"), Text(cell_text(value))] for label, value in (
        ("MRN", p.mrn), ("Name", p.name), ("Date of birth", p.date_of_birth), ("Sex", p.sex),
        ("Weight (kg)", volume_text(p.weight_kg)), ("Visits", p.visit_count),
        ("Last visit", p.last_visit_date))]
    return FittedTable(fixed_layout((Col(""), Col("", wrap=True, grow=1)), rows),
                       title=f"Patient {p.mrn}", show_header=False)


def screen_lines(screen: ScreenView) -> Group:
    """A patient's pre-procedure screen as it stands, one line per question."""
    return Group(Text("Pre-procedure screen", style="bold"),
                 *(Text(line) for line in screen.lines))


def _pain(before: int, after: int | None) -> str:
    # Farrar 2001: the absolute change (about 2 points is important) beside the %.
    return f"{before} → {cell_text(after)}" + ("" if after is None else f" ({after - before:+d})")


def _moment(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def points_legend(compact: bool = False) -> str:
    return POINTS_LEGEND + (f" ({ABBREVIATIONS})" if compact else "")


def points_table(points: Sequence[Point], *, legend: bool = True) -> FittedTable:
    """A visit's points. The % and its band share a cell that is never broken (shortened on a
    narrow terminal: subst., mod.), so a band never reads as a row of its own."""

    def layout(compact: bool, width: int) -> Layout:
        # On a narrow terminal the change in pain may go under the pain: "(-10)".
        columns = (Col("Site"), Col("Pain", wrap=compact), Col("Reduc."),
                   Col("LTR"), Col("Sore"), Col("Numb"), Col("Drug"), Col("mL"))
        rows = []
        for p in points:
            soreness = cell_text(p.soreness)
            rows.append(text_cells(f"{p.muscle} {p.side}", _pain(p.pain_before, p.pain_after),
                               reduction_text(p.percent_reduction, p.band, short=compact),
                               yes_no(p.twitch_response),
                               SHORT_SORENESS.get(soreness, soreness) if compact else soreness,
                               yes_no(p.numbness), *_injectate(p)))
        return columns, rows

    return FittedTable(layout, caption=points_legend if legend else None)


def _injectate(point: Point) -> tuple[str | None, str]:
    """The Drug and mL cells: a mixture's drugs one a line, each with its mL, and the total."""
    if not point.injectate:
        return point.drug, volume_text(point.volume_ml)
    total = sum(ml or 0 for _, ml in point.doses)
    return "\n".join(f"{drug} {ml:g} mL" for drug, ml in point.doses), volume_text(total)


def injectate_lines(visit: VisitView) -> list[str]:
    """Each steroid's mg at the visit and in the 12 months to it, and the drugs' lots."""
    lines = [f"Steroid: {dose.text}" for dose in visit.steroids]
    if visit.lots:
        lines.append("Lots: " + "; ".join(f"{lot.drug} lot {lot.lot} expires {lot.expiry}"
                                          for lot in visit.lots))
    return lines


def sign_lines(points: Sequence[Point]) -> str | None:
    """The trigger point signs beside the twitch (taut band, jump sign, referred pain), where
    any was recorded: "Signs: 1 taut band yes, jump sign no; 2 referred pain reproduced yes"."""
    said = []
    for p in points:
        found = [f"{f.label} {yes_no(getattr(p, f.name))}" for f in SIGNS
                 if f.name != "twitch_response" and getattr(p, f.name) is not None]
        if found:
            said.append(f"{p.position} {p.muscle} {p.side}: {', '.join(found)}")
    return ("Signs: " + "; ".join(said)) if said else None


def dose_lines(visit: VisitView) -> list[str]:
    """This visit's mg of each anaesthetic, and the day's total against the limits."""
    lines = [f"Dose: {anaesthetic} {mg:g} mg this visit" for anaesthetic, mg
             in visit.dose_totals.items()]
    if visit.dose is not None:
        day = (f"the day's visits {', '.join(map(str, visit.day_visits))}"
               if len(visit.day_visits) > 1 else "the day")
        lines.append(f"Dose checked for {day} ({visit.dose.day}): {visit.dose.summary}")
        if visit.dose_unconfirmed:
            lines.append("NOT CONFIRMED: by the records now this dose is over the limit (or has "
                         "no limit to check against), and no confirmation was recorded for it")
    return lines


def change_text(visit: VisitView) -> str:
    """The change in mean pain: % reduction of the mean, its band, and the points."""
    change = visit.change
    if change is None:
        return UNRECORDED + " (needs pain after)"
    reduction = ("% undefined (no pain before)" if change.percent is None
                 else f"{clinical.whole_percent(change.percent)}%")
    return (f"{reduction} {change.band or ''} ({change.points:+.1f} points: mean "
            f"{float(change.pain_before):.1f} → {float(change.pain_after):.1f})")


def _thorax(visit: VisitView) -> tuple[list[str], bool]:
    """The visit's sites over the thorax, and whether they (or the day's) are on both
    sides of the chest."""
    sites = clinical.thorax_sites([(p.muscle, p.side) for p in visit.points])
    recorded = [w.message for w in visit.warnings if w.kind == "thorax"]
    both = any("BOTH sides" in message for message in recorded) or \
        {site.rsplit(" ", 1)[1] for site in sites} == {"L", "R"}
    return sites, both


def peg_text(items: tuple[int, int, int]) -> str:
    """"5.7 (pain 6, enjoyment 5, activity 6)": the score (their mean) and the items."""
    return (f"{peg_score(items)} (pain {items[0]}, enjoyment {items[1]}, "
            f"activity {items[2]})")


def visit_block(visit: VisitView, *, aftercare: bool = True) -> RenderableType:
    """One visit in full. aftercare=False where the findings (warnings, the thorax caution)
    were shown on stderr as they were checked, just before (log, amend): once is enough."""
    return Group(*_visit_lines(visit, findings=aftercare, in_history=False))


def _visit_lines(visit: VisitView, *, findings: bool, in_history: bool
                 ) -> list[RenderableType]:
    """A visit's lines. In a history, the legend, the CPT rule and disclaimer and the
    aftercare advice are left to the end (history_notes), said once for all the visits."""
    heading = Text.assemble(
        (f"Visit {visit.id}", "bold"), f"  {visit.visit_date}  {visit.mrn} {visit.patient_name}",
        f"  by {visit.practitioner_signed}")
    if visit.revision > 1:
        heading.append(f"  (revision {visit.revision}, amended)", style="yellow")
    lines: list[RenderableType] = [heading]
    if visit.void is not None:
        lines.append(Text(f"VOID: entered in error, voided {_moment(visit.void.voided_at)} by "
                          f"{visit.void.voided_by} ({visit.void.practitioner}): "
                          f"{visit.void.reason}", style="bold red"))
    if visit.conditions:
        lines.append(Text("Conditions: " + "; ".join(condition_label(c)
                                                     for c in visit.conditions)))
    if visit.pregnant is not None:
        lines.append(Text(f"Pregnant: {visit.pregnant}"))
    said = procedure.lines(visit.procedure)
    if said:
        lines.append(Text(f"Procedure: {said}"))
    lines.append(points_table(visit.points, legend=not in_history))
    signs = sign_lines(visit.points)
    if signs:
        lines.append(Text(signs, style="dim" if in_history else ""))
    if visit.range_of_motion:
        lines.append(Text("Range of motion (before → after): " + "; ".join(
            procedure.rom_text(m) for m in visit.range_of_motion)))
    lines.append(Text(f"Reduction of mean pain: {change_text(visit)}"))
    if visit.peg is not None:
        lines.append(Text(f"PEG {peg_text(visit.peg)}"))
    record = visit.practitioner_record
    if record is not None and record.npi and not in_history:
        lines.append(Text(f"Practitioner: {record.signed}, NPI {record.npi}", style="dim"))
    lines += [Text(line) for line in dose_lines(visit)]
    lines += [Text(line) for line in injectate_lines(visit)]
    lines += [Text(cpt.short if in_history else cpt.text, style="dim") for cpt in visit.cpt]
    for warning in visit.warnings if findings else ():
        if warning.kind != "thorax":  # the aftercare line below says it from the points
            confirmed = f"; {warning.confirmation}" if warning.confirmation else ""
            lines.append(Text(f"Warning when logged: {warning.message}{confirmed}",
                              style="yellow"))
    sites, both = _thorax(visit)
    if sites and in_history:
        lines.append(Text(f"Injected over the thorax: {', '.join(sites)}"
                          + (" (BOTH sides of the chest)" if both else ""), style="bold"))
    elif sites and findings:
        # The caution as it was given when logged (it knows the day's other visits), else
        # from the points (an imported visit was not checked).
        recorded = [w.message for w in visit.warnings if w.kind == "thorax"]
        lines.append(Text(recorded[0] if recorded else clinical.thorax_reminder(sites),
                          style="bold"))
    for follow_up in visit.follow_ups:
        relief = visit.relief_at(follow_up)
        lines.append(Text(
            f"Follow-up {follow_up.reported_on} ({visit.days_after(follow_up)} days): pain "
            f"{follow_up.pain}/10, relief {percent_text(relief)} of the pain before"
            + (f"; PEG {peg_text(follow_up.peg)}" if follow_up.peg is not None else "")
            + (f"; PGIC {follow_up.pgic} {vocab.PGIC[follow_up.pgic]}"
               if follow_up.pgic is not None else "")
            + (f": {follow_up.note}" if follow_up.note else "")))
    if visit.relief_days == 0:
        lines.append(Text("Relief (>= 30 %) had lapsed by the first follow-up."))
    elif visit.relief_days is not None:
        lines.append(Text(f"Relief (>= 30 %) lasted at least {visit.relief_days} day(s): "
                          "to the last follow-up before it fell below 30 %."))
    elif visit.follow_ups:
        lines.append(Text("Relief: undefined (no pain before the injections to compare)."))
    for event in visit.adverse_events:
        lines.append(Text(f"Adverse event {event.id}: {event.described} (recorded by "
                          f"{event.practitioner})", style="bold red"))
    if visit.note:
        lines.append(Text(f"Note: {visit.note}"))
    for addendum in visit.addenda:
        lines.append(Text(f"Addendum {_moment(addendum.created_at)}, signed "
                          f"{addendum.practitioner} ({addendum.created_by}): {addendum.text}"))
    if visit.revisions:
        lines.append(revisions_table(visit))
    return lines


def revisions_table(visit: VisitView) -> FittedTable:
    def layout(compact: bool, width: int) -> Layout:
        # On a narrow terminal a moment may take two lines, its date above its time.
        columns = (Col("Rev."), Col("When", wrap=compact), Col("By", wrap=True),
                   Col("Reason", wrap=True, grow=1), Col("What changed", wrap=True, grow=2))
        return columns, [text_cells(r.number, _moment(r.created_at), r.created_by,
                                r.reason or "logged", "\n".join(r.changes))
                         for r in visit.revisions]

    return FittedTable(layout, title=f"Revisions of visit {visit.id}")


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """Pain 0-10 as bars, one a visit; a dot where nothing was recorded."""
    return "".join("·" if v is None else SPARKS[min(7, round(v / 10 * 7))] for v in values)


def trend_lines(trend: Sequence[TrendPoint]) -> Group:
    first, last = trend[0].visit_date, trend[-1].visit_date
    return Group(
        Text(f"Pain trend, {len(trend)} visit(s) {first} → {last} (0-10, oldest first)"),
        Text(f"  before {sparkline([t.pain_before for t in trend])}  "
             f"last {trend[-1].pain_before:.1f}"),
        Text(f"  after  {sparkline([t.pain_after for t in trend])}  "
             f"last {number_text(trend[-1].pain_after)}"))


def peg_trend(pegs: Sequence[PegPoint]) -> Text:
    """PEG scores over time (0-10, oldest first; Krebs et al. 2009)."""
    return Text(f"PEG, {len(pegs)} time(s) {pegs[0].day} → {pegs[-1].day} (0-10, oldest "
                f"first): {sparkline([p.score for p in pegs])}  first {pegs[0].score}, last "
                f"{pegs[-1].score}")


def trend_table(trends: Sequence[SiteTrend], mrn: str) -> RenderableType:
    if not trends:
        return Text(f"No injected points for {mrn} match.")
    columns = (Col("Site"), Col("Visits"), Col("Before"), Col("After"), Col("First"),
               Col("Last"))
    rows = []
    for t in trends:
        first, last = t.visits[0], t.visits[-1]
        rows.append(text_cells(f"{t.muscle} {t.side}", len(t.visits),
                           sparkline([v.pain_before for v in t.visits]),
                           sparkline([v.pain_after for v in t.visits]),
                           f"{first.pain_before:g} → {number_text(first.pain_after, 0)}",
                           f"{last.pain_before:g} → {number_text(last.pain_after, 0)}"))
    return FittedTable(fixed_layout(columns, rows),
                       title=f"Pain by site for {mrn}, oldest visit first",
                       caption="Before/After: pain 0-10 at each visit; First/Last: before → "
                               "after")


def motion_table(trends: Sequence[MotionTrend], mrn: str) -> FittedTable:
    """Each range of motion across the visits: its first and last values (no normal values
    are shown: the reference gives none)."""
    def values(before: int | None, after: int | None) -> str:
        return f"{cell_text(before)} → {cell_text(after)}"

    columns = (Col("Movement"), Col("Unit"), Col("Visits"), Col("First"), Col("Last"))
    rows = [text_cells(t.movement + (f" {t.side}" if t.side else ""),
                   vocab.MOVEMENT_BY_KEY[t.movement].unit, len(t.visits),
                   f"{t.visits[0][0]}: {values(*t.visits[0][1:])}",
                   f"{t.visits[-1][0]}: {values(*t.visits[-1][1:])}") for t in trends]
    return FittedTable(fixed_layout(columns, rows),
                       title=f"Range of motion for {mrn}, oldest visit first",
                       caption="First/Last: the visit's date, before → after the injections")


def history(visits: Sequence[VisitView], patient: PatientView, *,
            brief: bool = False) -> RenderableType:
    title = Text(f"History of {patient.mrn} {patient.name}: {len(visits)} visit(s), newest first",
                 style="bold")
    if not visits:
        return Group(title, Text("No visits match."))
    if brief:
        return Group(title, brief_table(visits))
    from tplog.services.trends import visit_trend

    parts: list[RenderableType] = [title, trend_lines(visit_trend(visits)), Text("")]
    for visit in visits:
        parts += [*_visit_lines(visit, findings=True, in_history=True), Text("")]
    parts += history_notes(visits)
    return Group(*parts)


def history_notes(visits: Sequence[VisitView]) -> list[Text]:
    """What every visit of a history shares, said once at its end: the legend, the CPT
    counting rule with its disclaimer, and the aftercare advice over the thorax."""
    notes = [Text(f"{POINTS_LEGEND} (on a narrow terminal {ABBREVIATIONS}); {UNRECORDED} = "
                  "not recorded", style="dim")]
    rules = dict.fromkeys(cpt.rule for visit in visits for cpt in visit.cpt)
    notes += [Text(f"CPT suggestions: {rule}. {clinical.CPT_DISCLAIMER}", style="dim")
              for rule in rules]
    over = [(visit.id, _thorax(visit)[1]) for visit in visits if _thorax(visit)[0]]
    if over:
        text = (f"Aftercare after injections over the thorax (visit(s) "
                f"{', '.join(str(number) for number, _ in over)}): "
                f"{clinical.THORAX_AFTERCARE}")
        both = [str(number) for number, both in over if both]
        if both:
            text += (f" BOTH sides of the chest (visit(s) {', '.join(both)}): "
                     f"{clinical.BOTH_SIDES_AFTERCARE}")
        notes.append(Text(text, style="bold"))
    return notes


def _sites(visit: VisitView) -> list[str]:
    """A visit's sites, a muscle injected on both sides once (upper-trapezius L+R)."""
    sides: dict[str, list[str]] = {}
    for p in visit.points:
        sides.setdefault(p.muscle, [])
        if p.side not in sides[p.muscle]:
            sides[p.muscle].append(p.side)
    return [f"{muscle} {'+'.join(found)}" for muscle, found in sides.items()]


def visit_identity(visit: VisitView, *, name: bool = True) -> str:
    """Which visit this is, as asked before it is voided or given a follow-up: the patient,
    the date and the sites (the id alone is easy to mistype for another patient's)."""
    who = f"{visit.mrn} {visit.patient_name}" if name else visit.mrn
    voided = " (voided)" if visit.void is not None else ""
    return (f"visit {visit.id}{voided}: {who}, {visit.visit_date.isoformat()}, "
            f"{', '.join(_sites(visit)) or 'no sites'}")


def _sites_within(sites: Sequence[str], room: int) -> str:
    """As many whole sites as fit the room, then how many more: a brief line stays one line
    and never cuts a muscle's key."""
    for shown in range(len(sites), 0, -1):
        rest = len(sites) - shown
        text = ", ".join(sites[:shown]) + (f" +{rest} more" if rest else "")
        if cell_len(text) <= room:
            return text
    return f"{len(sites)} sites"


def brief_table(visits: Sequence[VisitView]) -> FittedTable:
    """One line a visit: date, sites, mean pain before → after, the band, the visit."""

    def layout(compact: bool, width: int) -> Layout:
        columns = (Col("Date"), Col("Sites", grow=1), Col("Mean pain"), Col("Change"),
                   Col("Visit"))
        others = []
        for v in visits:
            change = v.change
            pain = (f"{float(v.mean_pain_before):.1f} → " +
                    (UNRECORDED if change is None else f"{float(change.pain_after):.1f}"))
            found = UNRECORDED if change is None else reduction_text(change.percent, change.band,
                                                                 short=compact)
            others.append((str(v.visit_date), pain, found,
                           f"{v.id}" + (" void" if v.void is not None else "")))
        taken = [max([cell_len(row[n]) for row in others] + [cell_len(columns[c].header)])
                 for n, c in enumerate((0, 2, 3, 4))]
        room = width - sum(taken) - (1 if compact else 2) * (len(columns) - 1)
        rows = [text_cells(date, _sites_within(_sites(v), max(room, cell_len("Sites"))), pain,
                       found, number)
                for v, (date, pain, found, number) in zip(visits, others, strict=True)]
        return columns, rows

    return FittedTable(layout, caption=lambda compact: (
        "Mean pain 0-10 before → after (points with a pain after); Change: reduction of mean "
        "pain and its IMMPACT band" + (f" ({ABBREVIATIONS})" if compact else "")
        + f"; {UNRECORDED} = not recorded"))


