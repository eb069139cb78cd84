"""What `log` and `visit amend` share: the points, lots and encounter given on the command
line read into a visit's terms, and what the checks found said and confirmed before anything
is saved."""

from __future__ import annotations

from typing import Any

import typer

from tplog import points as point_specs
from tplog.cli.app import interactive, note
from tplog.errors import BadInput
from tplog.parse import Encounter, check_drug, parse_choice, parse_volume


def parse_points(specs: list[str], drug: str | None, ml: str | None,
                 mixtures: dict[str, str]) -> list[point_specs.Point]:
    default_drug = check_drug(drug.lower()) if drug is not None else None
    default_ml = parse_volume(ml, "--ml") if ml is not None else None
    return point_specs.parse_specs(specs, default_drug=default_drug,
                                   default_volume_ml=default_ml, mixtures=mixtures)


def parse_lots(texts: list[str] | None) -> list[Any]:
    from tplog.parse import parse_lot

    return [parse_lot(text) for text in texts or []]


def parse_encounter(text: str | None, conditions: list[str]) -> Encounter | None:
    if text is None:
        return None
    encounter: Encounter = parse_choice(text, Encounter, "--encounter")
    if "whiplash" not in conditions:
        raise BadInput(f"--encounter {encounter.value} goes with --condition whiplash")
    return encounter


def report_findings(findings: list[Any], yes: bool, *, ask_to_save: bool = False
                    ) -> str | None:
    """Every finding on stderr, before anything is saved; at a terminal, "correct?" for pain
    that went up; then (guided entry) whether to save; then the confirmation a dose over the
    limit, a same-day duplicate or a date years back needs."""
    from tplog.errors import NotConfirmed

    for finding in findings:
        note(finding.message if finding.kind == "thorax" else f"Warning: {finding.message}")
    if interactive() and not yes:
        for finding in findings:
            if finding.asked_on_a_terminal and not typer.confirm(
                    f"{finding.message}: correct?", default=True, err=True):
                raise NotConfirmed("not saved; correct the point and log it again")
    if ask_to_save and not typer.confirm("Save this visit?", default=True, err=True):
        raise NotConfirmed("not saved")
    return _confirm([f for f in findings if f.needs_confirmation], yes)


_UNCONFIRMED = {
    "dose": "the dose is over the limit (or has no limit to check against)",
    "allergy": "the patient has an allergy to a drug injected",
    "duplicate": "a visit with the same sites is already logged that day",
    "long_ago": "the date is years back",
    "steroid": "a steroid is over the clinic's 12-month threshold",
}


_QUESTIONS = {
    "dose": "Save this visit with the dose over the limit?",
    "allergy": "Save this visit injecting a drug the patient is allergic to?",
    "duplicate": "Save it as another visit (not the same one twice)?",
    "long_ago": "Save it with this date?",
    "steroid": "Save this visit with the steroid over the threshold?",
}


def _confirm(needed: list[Any], yes: bool) -> str | None:
    """How the practitioner confirmed what needs it, or NotConfirmed."""
    import sys

    from tplog.errors import NotConfirmed

    if not needed:
        return None
    if yes:
        return "confirmed with --yes"
    kinds = list(dict.fromkeys(f.kind for f in needed))
    if not sys.stdin.isatty():
        raise NotConfirmed(f"{'; '.join(_UNCONFIRMED[k] for k in kinds)} and there is no "
                           "terminal to confirm it; nothing was saved (confirm with --yes)")
    for kind in kinds:
        question = _QUESTIONS[kind]
        if kind == "dose" and not any("over the limit" in f.message for f in needed):
            question = "Save this visit with a dose that has no limit to check against?"
        if not typer.confirm(question, default=False):
            what = "the dose over the limit" if kind == "dose" else _UNCONFIRMED[kind]
            raise NotConfirmed(f"{what} was not confirmed; nothing was saved")
    return "confirmed at the prompt"
