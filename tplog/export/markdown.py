"""The visit summary as Markdown, for a record system or a message.

Every text a person entered (the patient's name and MRN, the practitioner, the note) is
escaped, so that a renderer shows it as the text it is: no HTML, link, image, heading, list,
emphasis, code, table or block quote comes out of a record. tplog's own words (the names of
muscles, drugs and conditions, the doses, the notes on billing) are fixed in the code and hold
no markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import IO, Any

from tplog import clinical, vocab
from tplog.export import letter
from tplog.export.select import ExportVisit

# HTML as entities (read as text by every Markdown, also in a table cell); the punctuation that
# starts emphasis, a link or image, a heading, a list, code, a table cell or strikethrough
# with a backslash (CommonMark: any ASCII punctuation may be escaped so).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                          **{c: "\\" + c for c in "\\`*_[]()#+-!|~"}})
_LINE_BREAKS = re.compile(r"\r\n?|\n")
# What else starts a block at the beginning of a line: "1." (a list) and "=" (the line under
# a heading).
_LINE_START = re.compile(r"^(\d+(?=\.)|(?==))")


# What GitHub-flavoured Markdown turns into a link with no markup at all (its autolink
# extension): a scheme's "://", "www." and an e-mail's "@". Written as entities, they show the
# same and link nowhere.
_AUTOLINKS = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|\b(w)(?=ww\.)|(@)")


def _no_autolinks(text: str) -> str:
    return _AUTOLINKS.sub(lambda found: f"&#{ord(found.group()):d};", text)


def _text(value: str) -> str:
    """Stored text as Markdown on one line: escaped, its line breaks as spaces (a line break
    would end a heading, a list item or a table cell)."""
    return _no_autolinks(" ".join(_LINE_BREAKS.split(value.translate(_ESCAPES))))


def _paragraph(value: str) -> str:
    """Stored text as one Markdown paragraph, its lines kept as hard line breaks (a backslash
    at the end of a line). Blank lines are left out (they would end the paragraph), and no
    line can start another block: every mark that would is escaped."""
    lines = [_no_autolinks(_LINE_START.sub(r"\1\\", line.strip()))
             for line in _LINE_BREAKS.split(value.translate(_ESCAPES)) if line.strip()]
    return "\\\n".join(lines)


def _md_cell(value: str) -> str:
    # tplog's own words and numbers: only a | would end the cell.
    return value.replace("|", "\\|").replace("\n", " ")


def _md_visit(visit: ExportVisit, rules: clinical.Rules) -> str:
    lines = [f"### Visit {visit.shown_id}: {letter.when(visit)}", ""]
    if visit.practitioner:
        lines.append(f"- Practitioner: {_text(visit.practitioner_signed or '')}"
                     + (f" (NPI {visit.practitioner_npi})" if visit.practitioner_npi else ""))
    lines.append("- Conditions: " + ("; ".join(letter.conditions(visit)) or letter.UNRECORDED))
    lines.append("- Reduction of mean pain: " + letter.mean_change(visit))
    if (peg := letter.peg(visit)) is not None:
        lines.append(f"- PEG: {peg}")
    if visit.pregnant is not None:  # asked at the visit (part of the pre-procedure screen)
        lines.append(f"- Pregnant: {visit.pregnant}")
    lines += [f"- {line}" for line in letter.doses(visit, rules)]
    lines += [f"- {line}" for line in letter.procedure_lines(visit)]
    lines += ["", "| # | Muscle | Side | Pain before → after (change) | Band | Twitch | "
              "Signs | Soreness | Numbness | Drug | mL |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in visit.points:
        lines.append("| " + " | ".join(_md_cell(c) for c in (
            str(p.position), vocab.MUSCLE_BY_KEY[p.muscle].name,
            "left" if p.side == "L" else "right", letter.change(p.pain_before, p.pain_after),
            letter.text(p.band), letter.text(p.twitch_response), letter.signs(p),
            letter.text(p.soreness), letter.text(p.numbness), *letter.drug(p))) + " |")
    lines.append("")
    events = letter.adverse_events(visit)
    if events:
        lines += ["Adverse events:", ""]
        lines += [f"- {_text(line)}" + (f": {_text(note)}" if note else "")
                  for line, note in events]
        lines.append("")
    if visit.note:
        lines += [f"Note: {_paragraph(visit.note)}", ""]
    lines += _md_record(visit)
    lines += [f"_{n}_" for n in letter.notes(visit, rules)]
    return "\n".join(lines) + "\n"


def _day(visit: ExportVisit, value: Any) -> str:
    return str(value.year) if visit.year_only else value.isoformat()


def _md_record(visit: ExportVisit) -> list[str]:
    """The rest of the record: follow-ups with their relief, addenda, the amendment, and the
    safety findings recorded with the visit with how each was confirmed."""
    lines: list[str] = []
    if visit.follow_ups:
        lines.append("Follow-ups:")
        for f in visit.follow_ups:
            relief = ("relief not defined (no pain before)" if f.percent_relief is None
                      else f"{clinical.whole_percent(f.percent_relief)} % relief")
            said = f": {_text(f.note)}" if f.note else ""
            by = f" ({_text(f.practitioner)})" if f.practitioner else ""
            day = "" if f.reported_on is None else f"{_day(visit, f.reported_on)}, "
            lines.append(f"- {day}{f.days_after} day(s) after: "
                         f"pain {f.pain}, {relief}{letter.follow_up_outcomes(f)}{said}{by}")
        if visit.relief_days is not None:
            lines.append(f"- Relief of at least 30 % lasted {visit.relief_days} day(s)")
        lines.append("")
    if visit.addenda:
        lines.append("Addenda:")
        lines += [f"- {a.created_at:%Y-%m-%d %H:%M} UTC, {_text(a.practitioner)}: "
                  f"{_text(a.text)}" for a in visit.addenda]
        lines.append("")
    amendment = visit.amendment
    if amendment is not None:
        when = ("" if amendment.amended_at is None
                else f" on {amendment.amended_at:%Y-%m-%d %H:%M} UTC")
        by = f" by {_text(amendment.amended_by)}" if amendment.amended_by else ""
        why = f": {_text(amendment.reason)}" if amendment.reason else ""
        lines += [f"Amended (revision {amendment.revision}){when}{by}{why}", ""]
    if visit.warnings:
        lines.append("Recorded when saved:")
        for w in visit.warnings:
            what = _text(w.message) if w.message else w.kind
            confirmed = (f" (confirmed: {_text(w.confirmation)})" if w.confirmation else "")
            lines.append(f"- {w.kind}: {what}{confirmed}" if w.message
                         else f"- {what}{confirmed}")
        lines.append("")
    return lines


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: clinical.Rules | None = None) -> None:
    out.write("# Trigger point injection visit summary\n\n")
    if deidentified:
        out.write(f"_{letter.deidentified(shifted_dates)}._\n\n")
    for patient_visits in letter.patients(visits):
        first = patient_visits[0]
        who = (f"Research id {_text(first.mrn)}" if deidentified
               else f"{_text(first.patient_name or '')} (MRN {_text(first.mrn)})")
        out.write(f"## {who}\n\n")
        for visit in patient_visits:
            out.write(_md_visit(visit, rules or clinical.Rules()) + "\n")
            if on_point is not None:
                for _ in visit.points:
                    on_point()
