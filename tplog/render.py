"""Rich tables built from plain results (tplog.services.views). Never opens a session.

Unrecorded findings show as an em dash, distinct from "no" and "none". Tables are kept narrow
enough for an 80-column terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tplog import clinical, vocab
from tplog.points import NOT_RECORDED, Point
from tplog.services.audit import EventView
from tplog.services.trends import SiteTrend, TrendPoint, visit_trend
from tplog.services.views import PatientView, SummaryRow, VisitView
from tplog.services.visit_list import VisitList

UNRECORDED = NOT_RECORDED  # the one mark, tplog.points.NOT_RECORDED


def _text(value: object) -> str:
    return UNRECORDED if value is None else str(value)


def _cells(*values: object) -> list[Text]:
    """Table cells as plain Text: a name or note with [brackets] is not rich markup."""
    return [Text(_text(v)) for v in values]


def _yes_no(value: bool | None) -> str:
    return UNRECORDED if value is None else ("yes" if value else "no")


def _percent(value: float | None) -> str:
    return UNRECORDED if value is None else f"{clinical.whole_percent(value)}%"


def _reduction(percent: float | None, band: str | None) -> str:
    if percent is None:
        return band or UNRECORDED  # 0 -> 3 has no % but is worse
    return f"{clinical.whole_percent(percent)}% {band}"


def _number(value: float | None, digits: int = 1) -> str:
    return UNRECORDED if value is None else f"{value:.{digits}f}"


def _volume(value: float | None) -> str:
    return UNRECORDED if value is None else f"{value:g}"


def _table(*headers: str, keep_whole: int = 0, **options: object) -> Table:
    """A compact table whose cells wrap rather than cut: a clinical value is never hidden.

    Column `keep_whole` (a key such as a muscle) is never broken; the others fold to fit.
    """
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False,
                  **options)  # type: ignore[arg-type]
    for number, header in enumerate(headers):
        table.add_column(header, overflow="fold", no_wrap=number == keep_whole)
    return table


def condition_label(key: str) -> str:
    condition = vocab.CONDITION_BY_KEY.get(key)
    if condition is None:
        return key
    return f"{condition.name} ({condition.icd10})" if condition.icd10 else condition.name


def patients_table(patients: Sequence[PatientView]) -> Table:
    merged = any(p.merged_into for p in patients)
    table = _table("MRN", "Name", "Born", "Sex", "kg", "Visits", "Last visit",
                   *(["Merged into"] if merged else []), title=f"{len(patients)} patient(s)")
    for p in patients:
        table.add_row(*_cells(p.mrn, p.name, p.date_of_birth, p.sex, _volume(p.weight_kg),
                              p.visit_count, p.last_visit_date,
                              *([p.merged_into] if merged else [])))
    return table


def patient_panel(p: PatientView) -> Table:
    table = Table(show_header=False, box=box.SIMPLE, title=f"Patient {p.mrn}")
    table.add_column(style="bold")
    table.add_column()
    for label, value in (("MRN", p.mrn), ("Name", p.name), ("Date of birth", p.date_of_birth),
                         ("Sex", p.sex), ("Weight (kg)", _volume(p.weight_kg)),
                         ("Visits", p.visit_count), ("Last visit", p.last_visit_date)):
        table.add_row(*_cells(label, value))
    return table


def _pain(before: int, after: int | None) -> str:
    # Farrar 2001: the absolute change (about 2 points is important) beside the %.
    return f"{before} → {_text(after)}" + ("" if after is None else f" ({after - before:+d})")


def _moment(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def points_table(points: Sequence[Point]) -> Table:
    table = _table("Site", "Pain", "Reduc.", "LTR", "Sore", "Numb", "Drug", "mL",
                   caption="Reduc.: % reduction in pain and its IMMPACT band; "
                           "LTR: local twitch response")
    for p in points:
        table.add_row(*_cells(f"{p.muscle} {p.side}", _pain(p.pain_before, p.pain_after),
                              _reduction(p.percent_reduction, p.band),
                              _yes_no(p.twitch_response),
                              p.soreness, _yes_no(p.numbness), p.drug, _volume(p.volume_ml)))
    return table


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


def visit_block(visit: VisitView, *, aftercare: bool = True) -> RenderableType:
    """A visit; aftercare=False where the thorax caution was shown already (at logging)."""
    heading = Text.assemble(
        (f"Visit {visit.id}", "bold"), f"  {visit.visit_date}  {visit.mrn} {visit.patient_name}",
        f"  by {visit.practitioner}")
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
    lines.append(points_table(visit.points))
    lines.append(Text(f"Reduction of mean pain: {change_text(visit)}"))
    lines += [Text(line) for line in dose_lines(visit)]
    lines += [Text(cpt.text, style="dim") for cpt in visit.cpt]
    for warning in visit.warnings:
        if warning.kind != "thorax":  # the aftercare line below says it from the points
            confirmed = f"; {warning.confirmation}" if warning.confirmation else ""
            lines.append(Text(f"Warning when logged: {warning.message}{confirmed}",
                              style="yellow"))
    # The caution as it was given when logged (it knows the day's other visits), else from
    # the points (an imported visit was not checked).
    recorded = [w.message for w in visit.warnings if w.kind == "thorax"]
    thorax = clinical.thorax_sites([(p.muscle, p.side) for p in visit.points])
    if thorax and aftercare:
        lines.append(Text(recorded[0] if recorded else clinical.thorax_reminder(thorax),
                          style="bold"))
    for follow_up in visit.follow_ups:
        relief = visit.relief_at(follow_up)
        lines.append(Text(
            f"Follow-up {follow_up.reported_on} ({visit.days_after(follow_up)} days): pain "
            f"{follow_up.pain}/10, relief {_percent(relief)} of the pain before"
            + (f": {follow_up.note}" if follow_up.note else "")))
    if visit.relief_days == 0:
        lines.append(Text("Relief (>= 30 %) had lapsed by the first follow-up."))
    elif visit.relief_days is not None:
        lines.append(Text(f"Relief (>= 30 %) lasted at least {visit.relief_days} day(s): "
                          "to the last follow-up before it fell below 30 %."))
    elif visit.follow_ups:
        lines.append(Text("Relief: undefined (no pain before the injections to compare)."))
    if visit.note:
        lines.append(Text(f"Note: {visit.note}"))
    for addendum in visit.addenda:
        lines.append(Text(f"Addendum {_moment(addendum.created_at)}, signed "
                          f"{addendum.practitioner} ({addendum.created_by}): {addendum.text}"))
    if visit.revisions:
        lines.append(revisions_table(visit))
    return Group(*lines)


def revisions_table(visit: VisitView) -> Table:
    table = _table("Rev.", "When", "By", "Reason", "What changed",
                   title=f"Revisions of visit {visit.id}")
    for r in visit.revisions:
        table.add_row(*_cells(r.number, _moment(r.created_at), r.created_by,
                              r.reason or "logged", "\n".join(r.changes)))
    return table


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
             f"last {_number(trend[-1].pain_after)}"))


def trend_table(trends: Sequence[SiteTrend], mrn: str) -> RenderableType:
    if not trends:
        return Text(f"No injected points for {mrn} match.")
    table = _table("Site", "Visits", "Before", "After", "First", "Last",
                   title=f"Pain by site for {mrn}, oldest visit first",
                   caption="Before/After: pain 0-10 at each visit; First/Last: before → after")
    for t in trends:
        first, last = t.visits[0], t.visits[-1]
        table.add_row(*_cells(f"{t.muscle} {t.side}", len(t.visits),
                              sparkline([v.pain_before for v in t.visits]),
                              sparkline([v.pain_after for v in t.visits]),
                              f"{first.pain_before:g} → {_number(first.pain_after, 0)}",
                              f"{last.pain_before:g} → {_number(last.pain_after, 0)}"))
    return table


def history(visits: Sequence[VisitView], patient: PatientView) -> RenderableType:
    title = Text(f"History of {patient.mrn} {patient.name}: {len(visits)} visit(s), newest first",
                 style="bold")
    if not visits:
        return Group(title, Text("No visits match."))
    parts: list[RenderableType] = [title, trend_lines(visit_trend(visits)), Text("")]
    for visit in visits:
        parts += [visit_block(visit), Text("")]
    parts.append(Text(f"{UNRECORDED} = not recorded", style="dim"))
    return Group(*parts)


def summary_tables(rows: Sequence[SummaryRow], by: str | None) -> Group:
    return Group(summary_table(rows, by), relief_table(rows, by))


def relief_table(rows: Sequence[SummaryRow], by: str | None) -> Table:
    table = _table(by or "", "Reduc. LTR yes", "Reduc. LTR no", "Followed up",
                   "Relief days", title="Twitch response and lasting relief",
                   caption="Reduc.: reduction of mean pain of points with a local twitch "
                           "response recorded yes / no; Relief days: mean days the unbroken "
                           "run of follow-ups at >= 30 % relief lasted")
    for row in rows:
        table.add_row(Text(row.group), _percent(row.reduction_with_twitch),
                      _percent(row.reduction_without_twitch), str(row.visits_followed_up),
                      _number(row.mean_relief_days))
    return table


def summary_table(rows: Sequence[SummaryRow], by: str | None) -> Table:
    table = _table(by or "", "Visits", "Points", "Pre", "Post", "Reduc.", "Median",
                   "≥30%", "≥50%", "Worse", "Twitch", title="Summary",
                   caption="Pre/Post: mean pain 0-10; Reduc.: reduction of mean pain (points "
                           "with a pain after); Median: of the points' % reductions; ≥30%, "
                           "≥50%, Worse: share of points; "
                           f"{UNRECORDED} = nothing recorded to compute it from")
    for row in rows:
        table.add_row(Text(row.group), str(row.visits), str(row.points),
                      _number(row.mean_pain_before), _number(row.mean_pain_after),
                      _percent(row.reduction_of_mean), _percent(row.median_reduction),
                      _share(row.share_30), _share(row.share_50), _share(row.share_worse),
                      _share(row.twitch_rate))
    return table


def visit_list(found: VisitList) -> RenderableType:
    if not found.visits:
        return Text("No visits match.")
    table = _table("Visit", "Date", "Patient", "By", "Sites", "Pain", "Reduc.", keep_whole=4,
                   title=f"{len(found.visits)} of {found.total} visit(s), newest first",
                   caption="Pain: mean before (all points) → mean after (points with a pain "
                           "after); Reduc.: of mean pain, points with both")
    for v in found.visits:
        change = v.change  # its band is in --json: the table stays within 80 columns
        table.add_row(*_cells(f"{v.id} void" if v.voided else v.id, v.visit_date,
                              f"{v.mrn}\n{v.patient_name}", v.practitioner,
                              "\n".join(f"{s.muscle} {s.side}" for s in v.sites),
                              f"{_number(v.mean_pain_before)} → {_number(v.mean_pain_after)}",
                              _percent(None if change is None else change.percent)))
    return table


def _share(value: float | None) -> str:
    return _percent(None if value is None else value * 100)


def muscles_table(muscles: Sequence[vocab.Muscle]) -> Table:
    table = _table("Key", "Muscle", "Region", "SNOMED CT",
                   caption=f"{UNRECORDED} = no verified code; shown as text only")
    for m in muscles:
        table.add_row(m.key, m.name, m.region, _text(m.snomed))
    return table


def conditions_table() -> Table:
    table = _table("Key", "Condition", "ICD-10-CM",
                   caption="Codes are suggestions for the record, not a claim of coverage.")
    for c in vocab.CONDITIONS:
        table.add_row(c.key, c.name + (f"\n[dim]{c.note}[/dim]" if c.note else ""),
                      _text(c.icd10))
    return table


def drugs_table() -> Table:
    table = _table("Key", "Drug", "mg/mL")
    for d in vocab.DRUGS:
        table.add_row(d.key, d.name, _volume(d.mg_per_ml))
    return table


def events_table(events: Sequence[EventView]) -> Table:
    table = _table("#", "When (UTC)", "User", "Practitioner", "Action", "Target",
                   title=f"Audit trail: {len(events)} event(s)")
    for e in events:
        table.add_row(*_cells(e.id, f"{e.occurred_at:%Y-%m-%d %H:%M:%S}", e.os_user,
                              e.practitioner, e.action, e.target))
    return table
