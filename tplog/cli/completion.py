"""Shell completion for values: muscle, condition and drug keys, point specs, MRNs.

Completion runs on every Tab, so it stays light: vocabulary completion imports no database
code; MRN completion opens the database only if its schema is current and never migrates.
"""

from __future__ import annotations

from collections.abc import Iterator

import typer

from tplog import vocab


def muscles(incomplete: str) -> Iterator[tuple[str, str]]:
    for m in vocab.MUSCLES:
        if m.key.startswith(incomplete.lower()):
            yield m.key, f"{m.name} ({m.region})"


def conditions(incomplete: str) -> Iterator[tuple[str, str]]:
    for c in vocab.CONDITIONS:
        if c.key.startswith(incomplete.lower()):
            yield c.key, c.name + (f" ({c.icd10})" if c.icd10 else "")


def drugs(incomplete: str) -> Iterator[tuple[str, str]]:
    for d in vocab.DRUGS:
        if d.key.startswith(incomplete.lower()):
            yield d.key, d.name


def regions(incomplete: str) -> Iterator[tuple[str, str]]:
    for r in vocab.REGIONS:
        if r.key.startswith(incomplete.lower()):
            yield r.key, r.name


def point_specs(incomplete: str) -> Iterator[tuple[str, str]]:
    """`upper-tr` -> `upper-trapezius:L`, `upper-trapezius:R`; then the rest is typed."""
    if ":" in incomplete or " " in incomplete:
        return
    for key, help_text in muscles(incomplete):
        yield f"{key}:L", f"{help_text}, left"
        yield f"{key}:R", f"{help_text}, right"


def mrns(ctx: typer.Context, incomplete: str) -> Iterator[tuple[str, str]]:
    """MRNs (and names) of the patients in the database the command line points at."""
    try:
        from sqlalchemy import or_, select

        from tplog import db
        from tplog.models import Patient

        target = (ctx.find_root().params.get("db") if ctx is not None else None)
        where = db.locate(target)
        if where.path is not None and not where.path.exists():
            return
        engine = db.make_engine(where)
        try:
            with engine.connect() as connection:
                if db.current_revision(connection) != db.SCHEMA_HEAD:
                    return
                pattern = f"{incomplete}%"
                rows = connection.execute(
                    select(Patient.mrn, Patient.name)
                    .where(or_(Patient.mrn.like(pattern), Patient.name.like(pattern)))
                    .order_by(Patient.mrn).limit(50)).all()
        finally:
            engine.dispose()
    except Exception:  # completion must never break the shell
        return
    yield from ((mrn, name) for mrn, name in rows)
