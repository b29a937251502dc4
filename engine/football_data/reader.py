"""Reading one football-data.co.uk CSV file against the data contract."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.contract import REJECTED_SCHEMA, match_id
from engine.football_data.aliases import clean_team
from engine.football_data.batch import COPY_SCHEMA, FootballDataFile, settle
from engine.football_data.layout import Layout, read_layout
from engine.football_data.prices import long_prices, odds_not_above_one, price_frame
from engine.football_data.text import FootballDataError, Table, decode, split_rows

log = logging.getLogger(__name__)

_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_SEASON_FOLDER = re.compile(r"mmz4281/(\d{2})(\d{2})/")

MISSING_TEAM = "missing team"
SAME_TEAM = "same team at home and away"
UNPARSEABLE_DATE = "unparseable date"
NEGATIVE_GOALS = "negative goals"
FRACTIONAL_GOALS = "fractional goals"
UNPARSEABLE_GOALS = "unparseable goals"
ODDS_NOT_ABOVE_ONE = "odds not above 1.0"
MISSING_RESULT = "missing result"


@dataclass
class _Rows:
    """What the rows of one file turned into, column by column."""

    copies: dict[str, list] = field(
        default_factory=lambda: {name: [] for name in COPY_SCHEMA}
    )
    positions: list[int] = field(default_factory=list)
    rejected: dict[str, list] = field(
        default_factory=lambda: {name: [] for name in REJECTED_SCHEMA}
    )
    leagues: set[str] = field(default_factory=set)
    seasons: set[int] = field(default_factory=set)
    low_odds_lines: list[int] = field(default_factory=list)


def read_football_data(
    data: bytes,
    source: str,
    *,
    aliases: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> FootballDataFile:
    """Read one football-data.co.uk CSV file.

    Parameters
    ----------
    data : bytes
        The file as fetched: UTF-8 (with or without a byte-order mark) or
        Windows-1252/Latin-1, Windows or Unix line endings.
    source : str
        The path or URL it came from. The league is the ``Div`` column, else
        the file name (``E0.csv``); the season is the ``mmz4281/<yyYY>/``
        folder in ``source``, else each kickoff's season (starting 1 July).
    aliases : Mapping of str to str, optional
        Team spelling variant to club name, as from :func:`load_team_aliases`.
    today : datetime.date, optional
        The import day (default: today). A row without goals is a fixture
        when it kicks off after this day and a ``missing result`` otherwise.

    Returns
    -------
    FootballDataFile
        A :class:`~engine.contract.ParsedFile`: matches and fixtures sorted by
        kickoff then ``match_id``, prices in long form, rejected rows with
        their line numbers (the header being line 1) and reasons.

    Raises
    ------
    FootballDataError
        When the file is empty, is not CSV text (an archive, an image, an HTML
        page) or has no date and team columns.

    Notes
    -----
    A price cell that is empty or not a finite number is absent. A price at or
    below 1.0 rejects a row without a result (``odds not above 1.0``); in a
    played match it is left out, logged as a warning, and the result kept, so
    a stray cell in a bookmaker column never costs a real result. Identical
    copies of a match in the file are kept once; copies with different
    results are all rejected as ``conflicting duplicate``.
    """
    text = decode(data, source)
    table = split_rows(text, source)
    layout = read_layout(table.header, source)
    numbers = price_frame(table.header, table.rows, layout)
    reader = _RowReader(
        layout=layout,
        source=source,
        aliases=aliases or {},
        today=today or dt.date.today(),
        default_league=_league_from_name(source),
        season=season_from_source(source),
    )
    rows = reader.read(table, odds_not_above_one(numbers, layout, len(table.rows)))
    prices = long_prices(numbers, rows.positions, rows.copies["match_id"], layout)
    return _parsed_file(data, source, table, rows, prices)


def _parsed_file(
    data: bytes, source: str, table: Table, rows: _Rows, prices: pl.DataFrame
) -> FootballDataFile:
    if rows.low_odds_lines:
        log.warning(
            "%s: %d played matches hold prices at or below 1.0 (first at line %d); "
            "those prices were left out and the results kept",
            source,
            len(rows.low_odds_lines),
            rows.low_odds_lines[0],
        )
    copies = pl.DataFrame(rows.copies, schema=COPY_SCHEMA)
    rejected = pl.DataFrame(rows.rejected, schema=REJECTED_SCHEMA)
    settled = settle([copies], [prices], [rejected])
    log.debug(
        "%s: %d rows, %d matches, %d fixtures, %d prices, %d rejected",
        source,
        len(table.rows),
        settled.matches.height,
        settled.fixtures.height,
        settled.prices.height,
        settled.rejected.height,
    )
    return FootballDataFile(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        league=_only(rows.leagues),
        season=_only(rows.seasons),
        rows_read=len(table.rows),
        matches=settled.matches,
        fixtures=settled.fixtures,
        prices=settled.prices,
        rejected=settled.rejected,
        copies=copies,
    )


def _only(values: set[Any]) -> Any:
    return next(iter(values)) if len(values) == 1 else None


@dataclass
class _RowReader:
    """Checks rows one by one against the contract."""

    layout: Layout
    source: str
    aliases: Mapping[str, str]
    today: dt.date
    default_league: str
    season: int | None
    _dates: dict[str, dt.date | None] = field(default_factory=dict)
    _times: dict[str, dt.time | None] = field(default_factory=dict)

    def read(self, table: Table, low_odds: list[bool]) -> _Rows:
        """Sort every row of ``table`` into copies and rejections."""
        rows = _Rows()
        at = self.layout.index
        columns = (
            at[self.layout.date],
            at[self.layout.home_team],
            at[self.layout.away_team],
            _optional(at, self.layout.home_goals),
            _optional(at, self.layout.away_goals),
            _optional(at, self.layout.time),
            _optional(at, self.layout.league),
        )
        for position, cells in enumerate(table.rows):
            where = (table.lines[position], table.raws[position])
            self._read_row(rows, position, where, cells, columns, low_odds[position])
        return rows

    def _read_row(
        self,
        rows: _Rows,
        position: int,
        where: tuple[int, str],
        cells: list[str],
        columns: tuple[int | None, ...],
        low_odds: bool,
    ) -> None:
        date_at, home_at, away_at, hg_at, ag_at, time_at, league_at = columns
        league = _cell(cells, league_at) or self.default_league
        rows.leagues.add(league)
        home = clean_team(cells[home_at], self.aliases)
        away = clean_team(cells[away_at], self.aliases)
        kickoff = self._date(cells[date_at])
        goals = (_goals(_cell(cells, hg_at)), _goals(_cell(cells, ag_at)))
        reason = _reason(home, away, kickoff, goals, low_odds, self.today)
        if reason is not None:
            _append(rows.rejected, (self.source, *where, reason))
            return
        if low_odds:
            rows.low_odds_lines.append(where[0])
        season = self.season if self.season is not None else _season_of(kickoff)
        rows.seasons.add(season)
        key = match_id(league, kickoff.isoformat(), home, away)
        time = self._time(_cell(cells, time_at))
        entry = (key, league, season, kickoff, time, home, away, *goals)
        _append(rows.copies, (*entry, self.source, *where))
        rows.positions.append(position)

    def _date(self, text: str) -> dt.date | None:
        if text not in self._dates:
            self._dates[text] = parse_date(text)
        return self._dates[text]

    def _time(self, text: str) -> dt.time | None:
        if text not in self._times:
            self._times[text] = parse_time(text)
        return self._times[text]


def _optional(index: dict[str, int], name: str | None) -> int | None:
    return None if name is None else index[name]


def _cell(cells: list[str], position: int | None) -> str:
    return "" if position is None else cells[position].strip()


def _append(columns: dict[str, list], values: tuple) -> None:
    for column, value in zip(columns.values(), values, strict=True):
        column.append(value)


def _reason(
    home: str,
    away: str,
    kickoff: dt.date | None,
    goals: tuple[int | str | None, int | str | None],
    low_odds: bool,
    today: dt.date,
) -> str | None:
    """Return the first contract rule a row breaks, or None for a match or fixture.

    A played match (both goals whole numbers) is never rejected for its
    prices: a price at or below 1.0 in it is left out and the result kept. A
    row without a result is rejected for such a price, else it is a fixture
    when it kicks off after ``today`` and a missing result otherwise.
    """
    if not home or not away:
        return MISSING_TEAM
    if home == away:
        return SAME_TEAM
    if kickoff is None:
        return UNPARSEABLE_DATE
    for goal in goals:
        if isinstance(goal, str):
            return goal
    if None not in goals:
        return None
    if low_odds:
        return ODDS_NOT_ABOVE_ONE
    if goals != (None, None) or kickoff <= today:
        return MISSING_RESULT
    return None


def _goals(text: str) -> int | str | None:
    """Goals as an int, None when empty, or the rejection reason."""
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return UNPARSEABLE_GOALS
    if value != value or value in (float("inf"), float("-inf")):
        return UNPARSEABLE_GOALS
    if value < 0:
        return NEGATIVE_GOALS
    if not value.is_integer() or value >= 2**31:
        return FRACTIONAL_GOALS
    return int(value)


def parse_date(text: str) -> dt.date | None:
    """Read ``dd/mm/yy`` or ``dd/mm/yyyy``; ``yy`` below 50 is 20yy, else 19yy.

    Parameters
    ----------
    text : str
        The cell.

    Returns
    -------
    datetime.date or None
        None when the cell is not such a date.
    """
    found = _DATE.fullmatch(text.strip())
    if found is None:
        return None
    day, month, year = found.groups()
    number = int(year)
    if len(year) == 2:
        number += 2000 if number < 50 else 1900
    try:
        return dt.date(number, int(month), int(day))
    except ValueError:
        return None


def parse_time(text: str) -> dt.time | None:
    """Read ``HH:MM`` (or ``HH:MM:SS``); None when empty or not a time."""
    found = _TIME.fullmatch(text.strip())
    if found is None:
        return None
    hour, minute, second = found.groups()
    try:
        return dt.time(int(hour), int(minute), int(second or 0))
    except ValueError:
        return None


def _season_of(kickoff: dt.date) -> int:
    return kickoff.year if kickoff.month >= 7 else kickoff.year - 1


def season_from_source(source: str) -> int | None:
    """Return the season of a path or URL in the site's ``mmz4281/<yyYY>/`` layout.

    Parameters
    ----------
    source : str
        Path or URL.

    Returns
    -------
    int or None
        Starting year (``2324`` gives 2023), None when ``source`` does not
        follow the layout.
    """
    found = _SEASON_FOLDER.search(source.replace("\\", "/"))
    if found is None:
        return None
    first, second = (int(part) for part in found.groups())
    if (first + 1) % 100 != second:
        return None
    return first + (2000 if first < 50 else 1900)


def _league_from_name(source: str) -> str:
    """Return the file name without its extension, query or folder (``E0``)."""
    name = re.split(r"[\\/]", source.split("?")[0].split("#")[0].rstrip("/\\"))[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def read_paths(
    paths: Iterable[str | Path],
    *,
    aliases: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> list[FootballDataFile]:
    """Read files, and every ``*.csv`` below folders, in a stable order.

    Parameters
    ----------
    paths : iterable of str or Path
        Files or folders, expanded as by :func:`expand_paths`.
    aliases, today
        As for :func:`read_football_data`.

    Returns
    -------
    list of FootballDataFile
        One per file, in the order named.

    Raises
    ------
    FootballDataError
        When a path does not exist, a folder holds no CSV file or cannot be
        listed, or a file cannot be read.
    """
    return [
        read_path(file, aliases=aliases, today=today) for file in expand_paths(paths)
    ]


def read_path(
    path: str | Path,
    *,
    aliases: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> FootballDataFile:
    """Read the football-data.co.uk CSV file at ``path``.

    Parameters
    ----------
    path : str or Path
        A file, its path being the ``source`` of :func:`read_football_data`.
    aliases, today
        As for :func:`read_football_data`.

    Returns
    -------
    FootballDataFile
        As from :func:`read_football_data`.

    Raises
    ------
    FootballDataError
        When the file cannot be opened (missing, a folder, no permission) or
        its contents cannot be read.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FootballDataError(
            f"{path} could not be read ({_os_reason(exc)}); expected a readable "
            "CSV file; check that it exists and that you may read it"
        ) from None
    return read_football_data(data, str(path), aliases=aliases, today=today)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Return the files named by ``paths``, folders searched recursively.

    Parameters
    ----------
    paths : iterable of str or Path
        Files, taken as named whatever their extension, or folders: every
        file below a folder whose name ends in ``.csv`` (in any case, so
        ``E0.CSV`` too) is taken, sorted by path; a folder named like a CSV
        file is searched, not read.

    Returns
    -------
    list of Path
        The files, in the order named.

    Raises
    ------
    FootballDataError
        When a path does not exist, a folder holds no CSV file, or a folder
        below one cannot be listed.
    """
    return [file for path in paths for file in _expand(Path(path))]


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(_csv_files(path))
        if not found:
            raise FootballDataError(
                f"{path} holds no .csv file; expected football-data.co.uk CSV "
                "files; name files or folders that hold them"
            )
        return found
    if path.is_file():
        return [path]
    raise FootballDataError(
        f"{path} does not exist; expected a CSV file or a folder of them; check "
        "the path"
    )


def _csv_files(folder: Path) -> list[Path]:
    """Every CSV file below ``folder``; a folder that cannot be listed raises."""

    def refuse(exc: OSError) -> None:
        where = exc.filename or folder
        raise FootballDataError(
            f"{where} could not be listed ({_os_reason(exc)}); expected a "
            "readable folder of CSV files; check that you may read it"
        ) from None

    found: list[Path] = []
    seen: set[str] = set()
    for root, folders, names in os.walk(folder, onerror=refuse, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree: walk each folder once
            folders.clear()
            continue
        seen.add(real)
        found.extend(
            Path(root, name)
            for name in names
            if name.lower().endswith(".csv") and Path(root, name).is_file()
        )
    return found


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
