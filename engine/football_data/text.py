"""Bytes to rows: decoding, recognising what is not CSV, physical line numbers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


class FootballDataError(ValueError):
    """A file that cannot be read at all: not CSV, no result columns, empty.

    The message is one line naming the file, what was expected, what came and
    what to do.
    """


_BOM = b"\xef\xbb\xbf"

_MAGIC = {
    b"PK\x03\x04": "a zip archive",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook",
}


@dataclass(frozen=True)
class Table:
    """The rows of one CSV text, with where each came from.

    Attributes
    ----------
    header : list of str
        Column names, stripped, trailing empty names removed.
    rows : list of list of str
        Data rows, each padded or cut to the width of ``header``; blank lines
        and lines of only commas are not rows.
    lines : list of int
        The physical line (1-based) each row starts on.
    raws : list of str
        Each row's text as it stood in the file, without its line ending.
    """

    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    raws: list[str]


def decode(data: bytes, source: str) -> str:
    """Return the text of ``data``: UTF-8 (with or without BOM), else Windows-1252.

    Parameters
    ----------
    data : bytes
        The raw file.
    source : str
        The path or URL, for messages.

    Returns
    -------
    str
        The decoded text.

    Raises
    ------
    FootballDataError
        When ``data`` is empty or plainly not CSV text (an archive, an image,
        a web page).
    """
    if not data.strip(b" \t\r\n,\x00" + _BOM):
        raise FootballDataError(
            f"{source} is empty; expected a football-data.co.uk CSV file with a "
            "header and match rows; download or export it again"
        )
    _refuse_binary(data, source)
    body = data.removeprefix(_BOM)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = body.decode("cp1252")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
    _refuse_markup(text, source)
    return text


def _refuse_binary(data: bytes, source: str) -> None:
    """Raise when ``data`` starts like a known binary format or holds NUL bytes."""
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            _not_csv(source, what)
    if b"\x00" in data[:65536]:
        _not_csv(source, "binary data (NUL bytes)")


def _refuse_markup(text: str, source: str) -> None:
    """Raise when ``text`` is an HTML or XML document, such as a server's error."""
    if text.lstrip().startswith("<"):
        _not_csv(source, "an HTML/XML page (a web server's answer, not data)")


def _not_csv(source: str, what: str) -> None:
    raise FootballDataError(
        f"{source} is not CSV text: got {what}; expected a football-data.co.uk "
        "CSV file; check the path or URL and fetch the file again"
    )


def split_rows(text: str, source: str) -> Table:
    """Split CSV ``text`` into a header and data rows with their line numbers.

    Line numbers count physical lines as they are in the file, the header's
    being 1 when it is the first line. Blank lines and lines of only commas or
    spaces are skipped wherever they are. Rows shorter than the header are
    padded with empty cells; longer rows are cut to the header's width.

    Parameters
    ----------
    text : str
        Decoded file contents.
    source : str
        The path or URL, for messages.

    Returns
    -------
    Table
        Header and rows.

    Raises
    ------
    FootballDataError
        When the text cannot be parsed as CSV.
    """
    physical = io.StringIO(text, newline="").readlines()
    reader = csv.reader(physical)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    consumed = 0
    try:
        for cells in reader:
            start, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _clean_header(cells)
                continue
            rows.append(_fit(cells, len(header)))
            lines.append(start)
            raws.append("".join(physical[start - 1 : consumed]).rstrip("\r\n"))
    except csv.Error as error:
        raise FootballDataError(
            f"{source} is not readable CSV at line {consumed + 1} ({error}); "
            "expected a football-data.co.uk CSV file; fetch the file again"
        ) from None
    if header is None:
        raise FootballDataError(
            f"{source} has no header line; expected a football-data.co.uk CSV "
            "file; download or export it again"
        )
    return Table(header, rows, lines, raws)


def _clean_header(cells: list[str]) -> list[str]:
    """Strip names and drop trailing empty ones."""
    names = [cell.strip().removeprefix("\ufeff") for cell in cells]
    while names and not names[-1]:
        names.pop()
    return names


def _fit(cells: list[str], width: int) -> list[str]:
    """Pad ``cells`` with empty strings or cut them to ``width``."""
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    return cells[:width] if len(cells) > width else cells
