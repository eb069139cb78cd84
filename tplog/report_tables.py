"""The reports' tables: the summary across visits (outcomes, relief, signs), the visit list,
the audit trail, and the vocabulary (muscles, conditions, drugs). Built from plain results;
never opens a session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from tplog import vocab
from tplog.fitted import (
    UNRECORDED,
    Col,
    FittedTable,
    Layout,
    cell_text,
    fixed_layout,
    number_text,
    percent_text,
    text_cells,
    volume_text,
)
from tplog.points import SIGNS
from tplog.services.views import AdverseEventRate, SummaryRow

if TYPE_CHECKING:  # start-up: a command loads only the services it runs
    from tplog.services.audit import EventView
    from tplog.services.summary import OutcomeMeasures
    from tplog.services.visit_list import VisitList


def adverse_events_table(rows: Sequence[AdverseEventRate]) -> FittedTable:
    columns = (Col("Adverse event", wrap=True), Col("Events"), Col("Per 1,000 points"))
    cells = [[Text(row.name), *text_cells(row.events, number_text(row.per_thousand_points, 2))]
             for row in rows]
    return FittedTable(fixed_layout(columns, cells), title="Adverse events",
                       caption="Events recorded after the visits summarised (voided visits "
                               "left out), per 1,000 points injected at them")


def outcome_measures(m: OutcomeMeasures) -> Text:
    """PEG change and PGIC responders, one line each (Krebs 2009; Farrar 2001)."""
    peg = ("PEG: no patient has a visit's PEG and a later one" if m.mean_peg_change is None
           else f"PEG: mean change {m.mean_peg_change:+.1f} points (0-10) from the first "
                f"visit's to the latest, over {m.patients_with_peg_change} patient(s); "
                "negative is better")
    pgic = ("PGIC: none recorded" if m.share_pgic_improved is None
            else f"PGIC: {percent_text(m.share_pgic_improved * 100)} of "
                 f"{m.follow_ups_with_pgic} follow-up(s) much or very much improved")
    return Text(f"{peg}\n{pgic}")


def _group(row: SummaryRow, by: str | None) -> Text:
    # A mixture's parts (lidocaine-1:1+triamcinolone-40:0.5) either side of spaces, so that
    # a narrow column breaks between two drugs, not inside one's key.
    return Text(row.group.replace("+", " + ") if by == "drug" else row.group)


def summary_tables(rows: Sequence[SummaryRow], by: str | None) -> Group:
    return Group(summary_table(rows, by), relief_table(rows, by), signs_table(rows, by))


# Short names of the signs beside the twitch, for the summary's columns.
SIGN_HEADERS = {"taut_band": "Taut", "jump_sign": "Jump", "referred_pain": "Referred"}


def signs_table(rows: Sequence[SummaryRow], by: str | None) -> FittedTable:
    """The reduction of mean pain of the points with and without each sign of the trigger
    point beside the twitch (taut band, jump sign, referred pain reproduced)."""
    signs = [f.name for f in SIGNS if f.name in SIGN_HEADERS]
    columns = (Col(by or "", wrap=True),
               *(Col(f"{SIGN_HEADERS[name]} {word}") for name in signs
                 for word in ("yes", "no")))
    cells = [[_group(row, by), *text_cells(*(
        percent_text(row.reduction_by_sign.get(name, (None, None))[index])
        for name in signs for index in (0, 1)))] for row in rows]
    return FittedTable(fixed_layout(columns, cells), title="Trigger point signs",
                       caption="Reduction of mean pain of points with the sign recorded yes / "
                               "no: taut band, jump sign, referred pain reproduced; "
                               f"{UNRECORDED} = no such points")


def relief_table(rows: Sequence[SummaryRow], by: str | None) -> FittedTable:
    columns = (Col(by or "", wrap=True), Col("Reduc. LTR yes"), Col("Reduc. LTR no"),
               Col("Followed up"), Col("Relief days"))
    cells = [[_group(row, by), *text_cells(
        percent_text(row.reduction_with_twitch), percent_text(row.reduction_without_twitch),
        row.visits_followed_up, number_text(row.mean_relief_days))] for row in rows]
    return FittedTable(fixed_layout(columns, cells), title="Twitch response and lasting relief",
                       caption="Reduc.: reduction of mean pain of points with a local twitch "
                               "response recorded yes / no; Relief days: mean days the "
                               "unbroken run of follow-ups at >= 30 % relief lasted")


def summary_table(rows: Sequence[SummaryRow], by: str | None) -> FittedTable:
    def layout(compact: bool, width: int) -> Layout:
        names = (("Vis.", "Pts.", "Med.", "LTR") if compact
                 else ("Visits", "Points", "Median", "Twitch"))
        columns = (Col(by or "", wrap=True), Col(names[0]), Col(names[1]), Col("Pre"),
                   Col("Post"), Col("Reduc."), Col(names[2]), Col("≥30%"), Col("≥50%"),
                   Col("Worse"), Col(names[3]))
        return columns, [[_group(row, by), *text_cells(
            row.visits, row.points, number_text(row.mean_pain_before),
            number_text(row.mean_pain_after), percent_text(row.reduction_of_mean),
            percent_text(row.median_reduction), share_text(row.share_30), share_text(row.share_50),
            share_text(row.share_worse), share_text(row.twitch_rate))] for row in rows]

    def caption(compact: bool) -> str:
        short = ("Vis./Pts.: visits/points; Med.: median; LTR: share of points with a local "
                 "twitch response; " if compact else "")
        return (f"{short}Pre/Post: mean pain 0-10; Reduc.: reduction of mean pain (points "
                "with a pain after); Median: of the points' % reductions; ≥30%, ≥50%, Worse: "
                f"share of points; {UNRECORDED} = nothing recorded to compute it from")

    return FittedTable(layout, title="Summary", caption=caption)


def visit_list(found: VisitList) -> RenderableType:
    if not found.visits:
        return Text("No visits match.")
    columns = (Col("Visit"), Col("Date"), Col("Patient", wrap=True, grow=1),
               Col("By", wrap=True, grow=1), Col("Sites"), Col("Pain"), Col("Reduc."))
    rows = [text_cells(f"{v.id} void" if v.voided else v.id, v.visit_date,
                   f"{v.mrn}\n{v.patient_name}", v.practitioner,
                   "\n".join(f"{s.muscle} {s.side}" for s in v.sites),
                   f"{number_text(v.mean_pain_before)} → {number_text(v.mean_pain_after)}",
                   # its band is in --json: the table stays within 80 columns
                   percent_text(None if v.change is None else v.change.percent))
            for v in found.visits]
    return FittedTable(fixed_layout(columns, rows),
                       title=f"{len(found.visits)} of {found.total} visit(s), newest first",
                       caption="Pain: mean before (all points) → mean after (points with a "
                               "pain after); Reduc.: of mean pain, points with both")


def share_text(value: float | None) -> str:
    return percent_text(None if value is None else value * 100)


def muscles_table(muscles: Sequence[vocab.Muscle]) -> FittedTable:
    columns = (Col("Key"), Col("Muscle", wrap=True, grow=1), Col("Region"), Col("SNOMED CT"))
    rows = [text_cells(m.key, m.name, m.region, m.snomed) for m in muscles]
    return FittedTable(fixed_layout(columns, rows),
                       caption=f"{UNRECORDED} = no verified code; shown as text only")


def conditions_table() -> FittedTable:
    columns = (Col("Key"), Col("Condition", wrap=True, grow=1), Col("ICD-10-CM"))
    rows = [[Text(c.key), Text.assemble(c.name, (f"\n{c.note}" if c.note else "", "dim")),
             Text(cell_text(c.icd10))] for c in vocab.CONDITIONS]
    return FittedTable(fixed_layout(columns, rows),
                       caption="Codes are suggestions for the record, not a claim of "
                               "coverage.")


def drugs_table() -> FittedTable:
    columns = (Col("Key"), Col("Drug", wrap=True, grow=1), Col("mg/mL"))
    rows = [text_cells(d.key, d.name, volume_text(d.mg_per_ml)) for d in vocab.DRUGS]
    return FittedTable(fixed_layout(columns, rows))


def events_table(events: Sequence[EventView]) -> FittedTable:
    def layout(compact: bool, width: int) -> Layout:
        # On a narrow terminal a moment may take two lines, its date above its time.
        columns = (Col("#"), Col("When (UTC)", wrap=compact), Col("User", wrap=True),
                   Col("Practitioner", wrap=True), Col("Action"),
                   Col("Target", wrap=True, grow=1))
        return columns, [text_cells(e.id, f"{e.occurred_at:%Y-%m-%d %H:%M:%S}", e.os_user,
                                e.practitioner, e.action, e.target) for e in events]

    return FittedTable(layout, title=f"Audit trail: {len(events)} event(s)")
