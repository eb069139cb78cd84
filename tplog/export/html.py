"""The visit summary as one self-contained HTML page (body chart and trend chart inline), for
the referring physician and the patient: tplog.export.summary's description laid out by the
Jinja2 template templates/summary.html.j2 (autoescaped), for screens down to a phone's width
and for print on A4 or Letter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any

from markupsafe import Markup

from tplog import clinical
from tplog.export import summary as summaries
from tplog.export.select import ExportVisit


def css_string(value: object) -> Markup:
    """Text as a CSS string for the page's margin boxes: every character but ASCII letters,
    digits and spaces as a hex escape (ended by the one space that CSS takes as its end), so
    that nothing in a name ends the string, the rule or the <style> element (HTML escaping
    does not apply inside <style>)."""
    text = "" if value is None else str(value)
    return Markup('"' + "".join(c if c.isascii() and (c.isalnum() or c == " ")
                                else f"\\{ord(c):x} " for c in text) + '"')


def render(document: summaries.Summary) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(loader=PackageLoader("tplog.export", "templates"),
                              autoescape=select_autoescape(["html", "j2"]),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["css_string"] = css_string
    return environment.get_template("summary.html.j2").render(
        summary=document, columns=summaries.COLUMNS, title_heading=summaries.TITLE)


def write(visits: Iterable[ExportVisit], out: IO[str], *, deidentified: bool,
          shifted_dates: bool = False, on_point: Callable[[], Any] | None = None,
          rules: clinical.Rules | None = None, clinic: Any = None,
          paper: str | None = None) -> None:
    out.write(render(summaries.document(
        visits, deidentified=deidentified, shifted_dates=shifted_dates,
        rules=rules or clinical.Rules(), clinic=clinic, paper=paper, on_point=on_point)))
