"""Tables laid out for the terminal they are printed on (FittedTable), and the text of their
cells: they grow to its width, and a column never breaks a key (a muscle, a drug), a number
from its unit, or a band from its number. Unrecorded findings show as an em dash, distinct from
"no" and "none".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from tplog import clinical
from tplog.points import NOT_RECORDED

UNRECORDED = NOT_RECORDED  # the one mark, tplog.points.NOT_RECORDED


# A band in a narrow table, where "57% substantial" would not fit beside the other columns.
SHORT_BAND = {"substantial": "subst.", "moderate": "mod."}
SHORT_SORENESS = {"moderate": "mod.", "severe": "sev."}
ABBREVIATIONS = "subst.: substantial, mod.: moderate, sev.: severe"


def cell_text(value: object) -> str:
    return UNRECORDED if value is None else str(value)


def text_cells(*values: object) -> list[Text]:
    """Table cells as plain Text: a name or note with [brackets] is not rich markup."""
    return [Text(cell_text(v)) for v in values]


def yes_no(value: bool | None) -> str:
    return UNRECORDED if value is None else ("yes" if value else "no")


def percent_text(value: float | None) -> str:
    return UNRECORDED if value is None else f"{clinical.whole_percent(value)}%"


def band_text(band: str | None, short: bool = False) -> str:
    if band is None:
        return UNRECORDED
    return SHORT_BAND.get(band, band) if short else band


def reduction_text(percent: float | None, band: str | None, short: bool = False) -> str:
    if percent is None:
        return band_text(band, short)  # 0 -> 3 has no % but is worse
    return f"{clinical.whole_percent(percent)}% {band_text(band, short)}"


def number_text(value: float | None, digits: int = 1) -> str:
    return UNRECORDED if value is None else f"{value:.{digits}f}"


def volume_text(value: float | None) -> str:
    return UNRECORDED if value is None else f"{value:g}"


@dataclass(frozen=True)
class Col:
    """A column. `wrap`: free text (a name, a note), wrapped between its words; otherwise the
    cell is kept whole on one line (a key, a number with its unit, a % with its band, a date).
    `grow`: its share of the width the terminal has to spare."""

    header: str
    wrap: bool = False
    grow: int = 0


Cell = str | Text
Layout = tuple[Sequence[Col], Sequence[Sequence[Cell]]]


def _longest(text: str, *, words: bool) -> int:
    """The widest line of a cell, or (`words`) the widest word: what must never be broken."""
    pieces = text.split() if words else text.splitlines()
    return max((cell_len(piece) for piece in pieces), default=0)


class FittedTable:
    """A table laid out by rich for the width it is printed at, in the first way that fits:
    in full (two spaces between columns); else compact (`layout(True)`: short headers and
    bands, one space); else folded as rich folds, so a very narrow terminal still shows every
    value. In the first two, a column is never narrower than its widest unbreakable cell."""

    def __init__(self, layout: Callable[[bool, int], Layout], *, title: str | None = None,
                 caption: str | Callable[[bool], str] | None = None,
                 show_header: bool = True) -> None:
        self.layout = layout
        self.title = title
        self.caption = caption
        self.show_header = show_header

    def table(self, width: int, *, compact: bool, folded: bool = False) -> Table | None:
        """The table at this width, or None if its unbreakable cells cannot fit it."""
        columns, raw_rows = self.layout(compact, width)
        rows = [[Text(cell) if isinstance(cell, str) else cell for cell in row]
                for row in raw_rows]
        gap = 1 if compact else 2
        least, natural = [], []
        for number, column in enumerate(columns):
            cells = [row[number].plain for row in rows]
            whole = max((_longest(c, words=column.wrap) for c in cells), default=0)
            least.append(max(whole, _longest(column.header, words=True)))
            natural.append(max([_longest(c, words=False) for c in cells]
                               + [cell_len(column.header)]))
        between = gap * (len(columns) - 1)
        if not folded and sum(least) + between > width:
            return None
        caption = self.caption(compact) if callable(self.caption) else self.caption
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True,
                      padding=(0, gap - 1, 0, 0), title=self.title, caption=caption,
                      title_justify="left", caption_justify="left",
                      show_header=self.show_header)
        ratios = self._ratios(columns, least, natural, width - between)
        for number, column in enumerate(columns):
            # A header may wrap between its words even over a column kept whole.
            header = Text(column.header, no_wrap=False)
            if folded:
                table.add_column(header, overflow="fold")
            elif column.wrap:
                table.add_column(header, overflow="fold", min_width=least[number],
                                 ratio=ratios[number])
            else:
                table.add_column(header, no_wrap=True, min_width=least[number],
                                 max_width=least[number], ratio=ratios[number])
        for row in rows:
            table.add_row(*row)
        return table

    @staticmethod
    def _ratios(columns: Sequence[Col], least: list[int], natural: list[int],
                room: int) -> list[int | None]:
        """The growing columns take the spare width, when each share still holds its widest
        word (rich does not check that for a ratio); else rich spreads it over them all."""
        growing = [n for n, c in enumerate(columns) if c.grow]
        # What rich gives the others: a whole column its widest cell, free text all of it.
        spare = room - sum(natural[n] if c.wrap else least[n]
                           for n, c in enumerate(columns) if not c.grow)
        total = sum(columns[n].grow for n in growing)
        if not growing or any(spare * columns[n].grow // total - 1 < least[n]
                              for n in growing):
            return [None] * len(columns)
        return [c.grow or None for c in columns]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for compact in (False, True):
            table = self.table(width, compact=compact)
            if table is None:
                continue
            lines = list(Segment.split_lines(console.render(table, options)))
            if all(Segment.get_line_length(line) <= width for line in lines):
                for line in lines:
                    yield from line
                    yield Segment.line()
                return
        folded = self.table(width, compact=True, folded=True)
        assert folded is not None  # folded, it always fits
        yield folded


def fixed_layout(columns: Sequence[Col], rows: Sequence[Sequence[Cell]]) -> Callable[[bool, int],
                                                                                  Layout]:
    """A layout that is the same at every width."""
    return lambda compact, width: (columns, rows)
