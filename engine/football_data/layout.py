"""What each column of a football-data.co.uk header means.

Result columns have a few names across seasons (``HomeTeam``/``Home``/``HT``,
``FTHG``/``HG`` and so on). Price columns are found by pattern from the header
itself, so bookmakers the site adds later are read without a code change:

- 1X2: ``<BK>H``, ``<BK>D``, ``<BK>A``, recognised only when all three are in
  the header (this keeps statistics such as ``HS``, ``HC`` or ``BbAH`` out);
  ``<BK>CH``/``<BK>CD``/``<BK>CA`` are closing prices of ``<BK>``.
- Over/under: ``<BK>>2.5`` and ``<BK><2.5``, the line read from the name;
  ``<BK>C>2.5`` is closing.
- Asian handicap: ``<BK>AHH`` and ``<BK>AHA``, ``<BK>CAHH`` closing; the line
  comes from the bookmaker's own ``<BK>AH`` column where the file has one, else
  from ``BbAHh``/``AHh`` (opening) or ``AHCh`` (closing).

``BbMx``/``BbAv`` are named ``Max``/``Avg`` and ``P`` (Pinnacle in the
over/under and handicap columns) is named ``PS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.football_data.text import FootballDataError

_RESULT_NAMES = {
    "home_team": ("HomeTeam", "Home", "HT"),
    "away_team": ("AwayTeam", "Away", "AT"),
    "home_goals": ("FTHG", "HG"),
    "away_goals": ("FTAG", "AG"),
}

_KNOWN_BOOKMAKERS = frozenset(
    {
        *("B365", "BW", "IW", "PS", "P", "WH", "VC", "LB", "SJ", "GB", "BS"),
        *("SB", "SO", "SY", "1XB", "BF", "BFD", "BFE", "BMGM", "BV", "CL"),
        *("Max", "Avg", "BbMx", "BbAv"),
    }
)
_RENAME = {"BbMx": "Max", "BbAv": "Avg", "P": "PS"}
_MARKET_AVERAGES = ("BbMx", "BbAv")

_PREFIX = re.compile(r"[A-Za-z0-9]+")
_OVER_UNDER = re.compile(r"([A-Za-z0-9]+?)([<>])(\d+(?:\.\d+)?)")
_HANDICAP = re.compile(r"([A-Za-z0-9]+?)AH([HA])")
_ONE_X_TWO = (("H", "home"), ("D", "draw"), ("A", "away"))


@dataclass(frozen=True)
class PriceColumn:
    """One price column and the long-form price it holds.

    Attributes
    ----------
    column : str
        Header name.
    bookmaker, market, timing, outcome : str
        As in the data contract.
    line : float or None
        The goals line of an over/under column.
    line_column : str or None
        The column that holds the handicap of an Asian handicap column.
    """

    column: str
    bookmaker: str
    market: str
    timing: str
    outcome: str
    line: float | None = None
    line_column: str | None = None


@dataclass(frozen=True)
class Layout:
    """The columns of one file that the reader uses.

    Attributes
    ----------
    index : dict of str to int
        Position of each named column (the first, where a name repeats).
    date, home_team, away_team : str
        Names of the kickoff date and team columns.
    home_goals, away_goals : str or None
        Names of the full-time goal columns; None in a file of fixtures.
    time, league : str or None
        Names of the ``Time`` and ``Div`` columns where present.
    prices : tuple of PriceColumn
        Every price column found.
    """

    index: dict[str, int]
    date: str
    home_team: str
    away_team: str
    home_goals: str | None
    away_goals: str | None
    time: str | None
    league: str | None
    prices: tuple[PriceColumn, ...]

    @property
    def line_columns(self) -> tuple[str, ...]:
        """Names of the columns that hold Asian handicap lines."""
        found = {p.line_column for p in self.prices if p.line_column is not None}
        return tuple(sorted(found))


def read_layout(header: list[str], source: str) -> Layout:
    """Return the layout of ``header``.

    Parameters
    ----------
    header : list of str
        Cleaned column names.
    source : str
        The path or URL, for messages.

    Returns
    -------
    Layout
        Where the result and price columns are.

    Raises
    ------
    FootballDataError
        When the date or a team column is missing, or only one goal column is
        present.
    """
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name:
            index.setdefault(name, position)
    found = {role: _first(names, index) for role, names in _RESULT_NAMES.items()}
    date = "Date" if "Date" in index else None
    missing = [role for role in ("home_team", "away_team") if found[role] is None]
    lone_goals = (found["home_goals"] is None) != (found["away_goals"] is None)
    if date is None or missing or lone_goals:
        _no_result_columns(header, source)
    return Layout(
        index=index,
        date="Date",
        home_team=found["home_team"],
        away_team=found["away_team"],
        home_goals=found["home_goals"],
        away_goals=found["away_goals"],
        time="Time" if "Time" in index else None,
        league="Div" if "Div" in index else None,
        prices=find_prices(set(index)),
    )


def _first(names: tuple[str, ...], index: dict[str, int]) -> str | None:
    return next((name for name in names if name in index), None)


def _no_result_columns(header: list[str], source: str) -> None:
    shown = ",".join(header[:10]) + (",…" if len(header) > 10 else "")
    raise FootballDataError(
        f"{source} has no result columns: expected Date, HomeTeam (or Home/HT), "
        f"AwayTeam (or Away/AT) and FTHG/FTAG (or HG/AG), got header '{shown}'; "
        "name a football-data.co.uk results file"
    )


def find_prices(names: set[str]) -> tuple[PriceColumn, ...]:
    """Return every price column among ``names``, in a stable order.

    Parameters
    ----------
    names : set of str
        The header's column names.

    Returns
    -------
    tuple of PriceColumn
        1X2, then over/under, then Asian handicap columns, each sorted by name.
    """
    return (*_one_x_two(names), *_over_under(names), *_handicap(names))


def _one_x_two(names: set[str]) -> list[PriceColumn]:
    prefixes = {
        name[:-1]
        for name in names
        if name.endswith("H")
        and _PREFIX.fullmatch(name[:-1])
        and {name[:-1] + "D", name[:-1] + "A"} <= names
    }
    found = []
    for prefix in sorted(prefixes):
        bookmaker, timing, _ = _timing(prefix, prefixes)
        for letter, outcome in _ONE_X_TWO:
            found.append(
                PriceColumn(prefix + letter, bookmaker, "1x2", timing, outcome)
            )
    return found


def _over_under(names: set[str]) -> list[PriceColumn]:
    matched = sorted(
        (m.groups(), name) for name in names if (m := _OVER_UNDER.fullmatch(name))
    )
    prefixes = {prefix for (prefix, _, _), _ in matched}
    found = []
    for (prefix, sign, line), name in matched:
        bookmaker, timing, _ = _timing(prefix, prefixes)
        outcome = "over" if sign == ">" else "under"
        found.append(
            PriceColumn(name, bookmaker, "over_under", timing, outcome, float(line))
        )
    return found


def _handicap(names: set[str]) -> list[PriceColumn]:
    matched = sorted(
        (m.groups(), name) for name in names if (m := _HANDICAP.fullmatch(name))
    )
    prefixes = {prefix for (prefix, _), _ in matched}
    found = []
    for (prefix, side), name in matched:
        bookmaker, timing, base = _timing(prefix, prefixes)
        outcome = "home" if side == "H" else "away"
        found.append(
            PriceColumn(
                name,
                bookmaker,
                "asian_handicap",
                timing,
                outcome,
                line_column=_handicap_line(base, timing, names),
            )
        )
    return found


def _timing(prefix: str, prefixes: set[str]) -> tuple[str, str, str]:
    """Split ``prefix`` into (bookmaker, timing, raw prefix without ``C``).

    A trailing ``C`` marks closing prices when what precedes it is itself a
    prefix of the same market in this file, or a known bookmaker.
    """
    base, timing = prefix, "opening"
    stem = prefix[:-1]
    known = stem in prefixes or stem in _KNOWN_BOOKMAKERS
    if len(prefix) > 1 and prefix.endswith("C") and known:
        base, timing = stem, "closing"
    return _RENAME.get(base, base), timing, base


def _handicap_line(base: str, timing: str, names: set[str]) -> str | None:
    """Return the column holding the handicap for ``base`` at ``timing``."""
    if timing == "closing":
        candidates: tuple[str, ...] = ("AHCh",)
    elif base in _MARKET_AVERAGES:
        candidates = ("BbAHh", "AHh")
    else:
        candidates = (base + "AH", "AHh", "BbAHh")
    return next((name for name in candidates if name in names), None)
