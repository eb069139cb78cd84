"""The options `log` and `visit amend` share for the procedure (consent, time-out, ultrasound,
needle, aspiration) and the ranges of motion, read into typed values before any database is
opened (tplog.procedure)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tplog import procedure

Consent = Annotated[str | None, typer.Option(
    "--consent", metavar="none|verbal|written",
    help="Consent for the procedure as documented (default: not recorded).")]
TimeOut = Annotated[bool | None, typer.Option(
    "--time-out/--no-time-out", show_default=False,
    help="The pre-procedure time-out was done (or not; default: not recorded).")]
Ultrasound = Annotated[bool | None, typer.Option(
    "--ultrasound/--no-ultrasound", show_default=False,
    help="Injected under ultrasound guidance (or not; default: not recorded).")]
Needle = Annotated[str | None, typer.Option(
    "--needle", metavar="'GAUGE [LENGTH]'",
    help="The needle: gauge, then length in inches or mm: '25G 1.5in', '25G 1.5\"', "
         "'22G 38mm' or '25G' (18G-34G; kept in mm).")]
Aspirated = Annotated[bool | None, typer.Option(
    "--aspirated/--no-aspirated", show_default=False,
    help="Aspirated before injecting (or not; default: not recorded).")]
RangeOfMotion = Annotated[list[str] | None, typer.Option(
    "--rom", metavar="SPEC",
    help=f"A range of motion: '{procedure.ROM_FORMAT}', in degrees (jaw-opening in mm); "
         "movements: " + ", ".join(m.key + (":L|R" if m.sided else "")
                                   for m in procedure.vocab.MOVEMENTS)
         + ". Repeat for each.")]


def given(consent: str | None, time_out: bool | None, ultrasound: bool | None,
          needle: str | None, aspirated: bool | None) -> dict[str, Any]:
    """The procedure's fields given on the command line, read; those not given are left
    out (not recorded, or on an amendment carried over)."""
    found: dict[str, Any] = {"time_out": time_out, "ultrasound": ultrasound,
                             "aspirated": aspirated}
    if consent is not None:
        found["consent"] = procedure.parse_consent(consent)
    if needle is not None:
        found["needle_gauge"], found["needle_length_mm"] = procedure.parse_needle(needle)
    return {name: value for name, value in found.items() if value is not None}


def measured(specs: list[str] | None) -> list[procedure.Measurement]:
    return procedure.parse_roms(specs or [])
