"""Guided entry for `tplog log MRN` on a terminal: the visit's date, conditions and note
(those not given on the command line), then a prompt for each finding of each point.

The date defaults to today, the conditions to the previous visit's, the note to none. The
muscle, twitch, soreness, numbness, drug and volume prompts offer the previous point's answer,
so Enter is "same as last"; the side and the pain (before and after) have no default and are
asked every time, since a copied side or pain score is a wrong record that looks right.
`--same-as-last` starts from the patient's previous visit (its sites, drugs, volumes and
conditions) and asks the pain again, never copying it. Answers are checked as they are typed
(the same checks as `--point`, `--date`, `--condition`, `--note`), and a bad one is asked again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import typer

from tplog import procedure, vocab
from tplog.cli.app import echo
from tplog.errors import BadInput, TplogError
from tplog.parse import DATE_FORMS, check_condition, parse_date, parse_yes_no
from tplog.points import FIELD_BY_NAME, SIGNS, Field, Point, as_text

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


def _signs(site: str, previous: Point | None) -> dict[str, Any]:
    """The trigger point's signs (tplog.points.SIGNS: twitch, taut band, jump sign, referred
    pain), each defaulting to the previous point's."""
    def reader(field: Field) -> Callable[[str], Any]:
        return _optional(lambda text: field.read(text, field.spec_key or field.name))

    return {field.name: _ask(f"  {site} {field.label} [yes/no/-]", reader(field),
                             getattr(previous, field.name) if previous else None)
            for field in SIGNS}


def _findings(number: int, site: str, previous: Point | None) -> dict[str, Any]:
    """The signs, pain after, soreness, numbness: defaults from the previous point."""
    return {
        **_signs(site, previous),
        # No default: Enter asks again; `-` says it was not recorded.
        "pain_after": _ask(f"  {site} pain after (0-10, - = not recorded)",
                           _optional(lambda t: _read("pain_after", t))),
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
               default_drug: str | None, default_ml: float | None,
               points: list[Point] | None = None) -> list[Point]:
    """All the points of the visit, asked one by one, appended to `points` as each is
    answered (a resumed draft's points come first, and what was answered before a Ctrl-C
    is there to keep)."""
    points = [] if points is None else points
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
    if points and not typer.confirm("Another point?", default=False, err=True):
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
        side = _ask(f"  {muscle} side [L/R]", _checked(lambda t: _read("side", t)))
        site = f"{muscle} {side}"
        pain_before = _ask(f"  {site} pain before (0-10)",
                           _checked(lambda t: _read("pain_before", t)))
        findings = _findings(len(points) + 1, site, previous)
        drug, volume = _drug_and_volume(site, previous.drug if previous else default_drug,
                                        previous.volume_ml if previous else default_ml)
        points.append(Point(muscle=muscle, side=str(side), pain_before=pain_before, drug=drug,
                                 volume_ml=volume, **findings))
        if not typer.confirm("Another point?", default=False, err=True):
            return points


def ask_date(check: Callable[[dt.date], None]) -> dt.date:
    """The visit date (Enter: today), read as --date reads it; `check` refuses a future one."""
    def read(text: str) -> dt.date:
        day = parse_date(text, "date")
        check(day)
        return day
    answer: dt.date = typer.prompt(f"Visit date ({DATE_FORMS})", default="today",
                                   value_proc=_checked(read), err=True)
    return answer


def entered_form(stored: Sequence[str]) -> list[str]:
    """A visit's conditions as they are entered again: `myofascial-pain` and `whiplash` are
    stored as region and encounter keys (clinical.resolve_conditions), which the next visit
    resolves afresh by its own points and by this visit's encounter."""
    keys = []
    for key in stored:
        for entered in ("myofascial-pain", "whiplash"):
            if key.startswith(f"{entered}-"):
                key = entered
        keys.append(key)
    return list(dict.fromkeys(keys))


def read_conditions(text: str, *, with_whiplash: bool = False) -> list[str]:
    """Comma-separated condition keys or ICD-10-CM codes, or `-` for none."""
    if text == TYPED_NOT_RECORDED:
        keys: list[str] = []
    else:
        parts = [part.strip() for part in text.split(",")]
        if not all(parts):
            raise BadInput("conditions are keys or ICD-10-CM codes separated by commas (see "
                           "`tplog conditions`), or - for none")
        keys = list(dict.fromkeys(check_condition(part) for part in parts))
    if with_whiplash and "whiplash" not in keys:
        raise BadInput("--encounter goes with the condition whiplash; include it")
    return keys


def ask_conditions(default: Sequence[str], *, with_whiplash: bool = False) -> list[str]:
    """The visit's conditions (Enter: `default`, the previous visit's)."""
    answer: list[str] = typer.prompt(
        "Conditions (keys or ICD-10 codes, comma-separated; - = none)",
        default=", ".join(default) or TYPED_NOT_RECORDED,
        value_proc=_checked(lambda t: read_conditions(t, with_whiplash=with_whiplash)),
        err=True)
    return answer


def ask_note(check: Callable[[str], None]) -> str | None:
    """A note on the visit (Enter: none); `check` is the note's own check (length, text)."""
    def read(text: str) -> str:
        check(text)
        return text
    answer: str | None = _ask("Note on the visit (- = none)", _optional(read), None)
    return answer


def _required(key: str, required: frozenset[str],
              read: Callable[[str], Any]) -> Callable[[str], Any]:
    """An answer to a procedure question; `-` refused where the clinic requires it."""
    def convert(text: str) -> Any:
        value = None if text in ("", TYPED_NOT_RECORDED) else read(text)
        procedure.check_required(procedure.Procedure(**(
            {} if value is None else {"needle_gauge": value[0]} if key == "needle"
            else {key: value})), [key] if key in required else [], "the config file")
        return value
    return _checked(convert)


def ask_procedure(stated: dict[str, Any], previous: procedure.Procedure | None,
                  required: frozenset[str]) -> procedure.Procedure:
    """The procedure's details not given as options, once per visit; Enter gives the
    previous visit's answer, `-` not recorded (refused where the config requires it)."""
    found = dict(stated)
    last = previous or procedure.Procedure()
    if "consent" not in found:
        found["consent"] = _ask("Consent [none/verbal/written/-]", _required(
            "consent", required, procedure.parse_consent), last.consent)
    def yes_no(key: str) -> Callable[[str], Any]:
        return _required(key, required, lambda text: parse_yes_no(text, key.replace("_", "-")))

    for key, question in (("time_out", "Time-out done"),
                          ("ultrasound", "Ultrasound guidance")):
        if key not in found:
            found[key] = _ask(f"{question} [yes/no/-]", yes_no(key), getattr(last, key))
    if "needle_gauge" not in found:
        needle = _ask("Needle (gauge and length, e.g. 25G 1.5in; - = not recorded)",
                      _required("needle", required, procedure.parse_needle),
                      procedure.needle_spec(last.needle_gauge, last.needle_length_mm))
        found["needle_gauge"], found["needle_length_mm"] = needle or (None, None)
    if "aspirated" not in found:
        found["aspirated"] = _ask("Aspirated before injecting [yes/no/-]", yes_no("aspirated"),
                                  last.aspirated)
    return procedure.Procedure(**found)
