"""Guided entry for `tplog log MRN` on a terminal: a prompt for each finding of each point.

Every prompt offers the previous point's answer as its default, so Enter is "same as last";
`--same-as-last` starts from the patient's previous visit (its sites, drugs and volumes) and
asks the pain again, never copying it. Answers are checked as they are typed (the same checks
as `--point`), and a bad one is asked again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import typer

from tplog import vocab
from tplog.cli.app import echo
from tplog.errors import TplogError
from tplog.points import FIELD_BY_NAME, Point, as_text

# What is typed, and offered as a default, for "not recorded" at a prompt.
TYPED_NOT_RECORDED = "-"


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A prompt's value_proc: a TplogError becomes Typer's "Error: ..." and the question again."""
    def convert(text: str) -> Any:
        try:
            return parse(text.strip())
        except TplogError as error:
            raise typer.BadParameter(error.message) from None
    return convert


def _read(name: str, text: str, what: str | None = None) -> Any:
    """An answer read as the point's field reads it (tplog.points.FIELDS)."""
    field = FIELD_BY_NAME[name]
    return field.read(text, what or field.label)


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return _checked(lambda text: None if text in ("", TYPED_NOT_RECORDED) else parse(text))


def _shown(value: Any) -> str:
    return as_text(value, TYPED_NOT_RECORDED)


def _ask(text: str, parse: Callable[[str], Any], default: Any = ...) -> Any:
    if default is ...:
        return typer.prompt(text, value_proc=parse, err=True)
    return typer.prompt(text, default=_shown(default), value_proc=parse, err=True)


def _muscle(text: str, past: Sequence[str]) -> str:
    if text.isdigit() and 1 <= int(text) <= len(past):
        return past[int(text) - 1]
    return _read("muscle", text)


def _findings(number: int, site: str, previous: Point | None) -> dict[str, Any]:
    """Twitch, pain after, soreness, numbness: defaults from the previous point."""
    return {
        "twitch_response": _ask(f"  {site} local twitch response [yes/no/-]",
                                _optional(lambda t: _read("twitch_response", t, "twitch")),
                                previous.twitch_response if previous else None),
        "pain_after": _ask(f"  {site} pain after (0-10, - = not recorded)",
                           _optional(lambda t: _read("pain_after", t)),
                           previous.pain_after if previous else None),
        "soreness": _ask(f"  {site} soreness [none/mild/moderate/severe/-]",
                         _optional(lambda t: _read("soreness", t)),
                         previous.soreness if previous else None),
        "numbness": _ask(f"  {site} numbness [yes/no/-]",
                         _optional(lambda t: _read("numbness", t)),
                         previous.numbness if previous else None),
    }


def _drug_and_volume(site: str, drug: str | None, volume: float | None
                     ) -> tuple[str | None, float | None]:
    drug = _ask(f"  {site} drug (key, - = not recorded)",
                _optional(lambda t: _read("drug", t)), drug)
    if drug is not None and not vocab.DRUG_BY_KEY[drug].injects:
        return drug, None
    volume = _ask(f"  {site} volume in mL (- = not recorded)",
                  _optional(lambda t: _read("volume_ml", t, "volume")), volume)
    return drug, volume


def ask_points(*, past_muscles: Sequence[str], last_visit: Sequence[Point] | None,
               default_drug: str | None, default_ml: float | None) -> list[Point]:
    """All the points of the visit, asked one by one."""
    points: list[Point] = []
    for earlier in last_visit or ():
        site = f"Point {len(points) + 1}: {earlier.site}"
        echo(f"{site} (as last visit; {_shown(earlier.drug)} "
                   f"{_shown(earlier.volume_ml)} mL)", err=True)
        pain_before = _ask(f"  {earlier.site} pain before (0-10)",
                           _checked(lambda t: _read("pain_before", t)))
        findings = _findings(len(points) + 1, earlier.site, None)
        points.append(Point(muscle=earlier.muscle, side=earlier.side,
                                 pain_before=pain_before, drug=earlier.drug,
                                 volume_ml=earlier.volume_ml, **findings))
    if last_visit and not typer.confirm("Another point?", default=False, err=True):
        return points
    if past_muscles:
        echo("This patient's sites so far: " + ", ".join(
            f"{n}) {key}" for n, key in enumerate(past_muscles, start=1)), err=True)
    while True:
        previous = points[-1] if points else None
        label = f"Point {len(points) + 1}"
        muscle = _ask(f"{label} muscle (number or key)",
                      _checked(lambda t: _muscle(t, past_muscles)),
                      previous.muscle if previous else ...)
        side = _ask(f"  {muscle} side [L/R]", _checked(lambda t: _read("side", t)),
                    previous.side if previous else ...)
        site = f"{muscle} {side}"
        pain_before = _ask(f"  {site} pain before (0-10)",
                           _checked(lambda t: _read("pain_before", t)),
                           previous.pain_before if previous else ...)
        findings = _findings(len(points) + 1, site, previous)
        drug, volume = _drug_and_volume(site, previous.drug if previous else default_drug,
                                        previous.volume_ml if previous else default_ml)
        points.append(Point(muscle=muscle, side=str(side), pain_before=pain_before, drug=drug,
                                 volume_ml=volume, **findings))
        if not typer.confirm("Another point?", default=False, err=True):
            return points
