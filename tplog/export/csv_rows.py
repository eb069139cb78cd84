"""`tplog import`'s reading of the file: UTF-8 text (with or without Excel's byte order
mark), tplog's header (today's, or an earlier tplog's narrower one), and the rows with their
line numbers, cells restored. A file that cannot be read as UTF-8 CSV (another encoding,
UTF-16, a binary file, a NUL byte, a cell over the csv module's limit) is refused at once, in
one line naming the file and, where there is one, the line.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from tplog.errors import BadInput, NotFound
from tplog.export.csv_format import FIRST_HEADER, HEADER, QUOTED


def restored(text: str) -> str:
    """A cell as it was stored: the one `'` that csv_format.neutralised put before what would
    start a formula is taken off; any other cell is read as it is (`'tis` stays `'tis`)."""
    return text[1:] if text[:1] == "'" and QUOTED.match(text) else text


def check_header(path: Path) -> None:
    """Refuse a file that is not tplog's CSV before the database is opened."""
    with _open(path) as handle:
        _header(csv.reader(handle), path)


def _header(reader: Any, path: Path) -> tuple[int, ...] | None:
    """Where each of the file's columns goes in HEADER: None for today's header, else the
    positions of an earlier tplog's columns (csv_format.FIRST_HEADER and some later ones, in
    HEADER's order); a header that is neither is refused."""
    header = _next_row(reader, path)
    found = None if header is None else tuple(h.strip() for h in header)
    if found == HEADER:
        return None
    earlier = found is not None and set(FIRST_HEADER) <= set(found) <= set(HEADER) \
        and len(set(found)) == len(found)
    places = tuple(HEADER.index(column) for column in found) if earlier and found else ()
    if not earlier or list(places) != sorted(places):
        raise BadInput(f"{path} does not start with tplog's CSV header "
                       "(see `tplog import --template`)")
    return places


def _open(path: Path) -> TextIO:
    """The file as text: UTF-8, with or without the byte order mark Excel writes."""
    from tplog import files

    try:
        files.check_source(path, "CSV file")
    except NotFound:
        raise BadInput(f"no file {path}") from None
    try:
        with path.open("rb") as raw:
            start = raw.read(_SNIFFED)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise BadInput(f"{path} is UTF-16 text; save it as CSV in UTF-8 (Excel: "
                           "\"CSV UTF-8\")")
        if b"\0" in start:  # UTF-16 without its mark, or not text at all
            raise BadInput(f"{path} has NUL bytes: it is a binary file or UTF-16 text, not a "
                           "CSV in UTF-8")
        return path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"no file {path}") from None
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from None


_SNIFFED = 64 * 1024  # bytes looked at for the encoding before the file is read as text


def _not_utf8(path: Path) -> BadInput:
    """The refusal of a file that is not UTF-8, naming the first line that is not (read again
    in bytes: the text reader decodes ahead in blocks, so it cannot say which line)."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return BadInput(f"{path}, line {number}: byte 0x{line[error.start]:02X} is not "
                                "UTF-8 (Latin-1 or another encoding?); save the file as CSV in "
                                "UTF-8 (Excel: \"CSV UTF-8\")")
    return BadInput(f"{path} is not UTF-8 text; save it as CSV in UTF-8")


def _next_row(reader: Any, path: Path) -> list[str] | None:
    """The reader's next row (None at the end), or BadInput if the file cannot be read on."""
    try:
        return next(reader, None)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise BadInput(f"{path}, line {reader.line_num}: a cell is over "
                           f"{csv.field_size_limit()} characters; no cell of tplog's CSV is "
                           "that long") from None
        raise BadInput(f"{path}, line {reader.line_num}: not readable as CSV ({error})") \
            from None


def rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The file's rows with their line numbers (header checked, blank rows skipped, cells
    restored), or BadInput at the first thing that makes the file unreadable."""
    with _open(path) as handle:
        reader = csv.reader(handle)
        places = _header(reader, path)
        while (row := _next_row(reader, path)) is not None:
            if places is not None and len(row) == len(places):
                # An earlier tplog's file: the columns it does not have are empty.
                spread = [""] * len(HEADER)
                for place, text in zip(places, row, strict=True):
                    spread[place] = text
                row = spread
            joined = "".join(row)
            if "\0" in joined:  # no text holds one, and PostgreSQL cannot store it
                raise BadInput(f"{path}, line {reader.line_num}: a cell holds a NUL character "
                               "(byte 0); a CSV in UTF-8 has none")
            if not joined.strip():  # a blank line, or one of empty cells
                continue
            if "'" in joined:  # only then can a cell have been neutralised
                row = [restored(cell) for cell in row]
            yield reader.line_num, row

