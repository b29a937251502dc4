"""Reading a list of fixtures to predict.

A fixture list is a CSV file with at least the columns ``league``, ``kickoff``,
``home_team`` and ``away_team``; any other column (prices, notes) passes
through to the predictions unchanged, with its type inferred. Kickoff is
``yyyy-mm-dd``, ``dd/mm/yyyy`` or ``dd/mm/yy``. Team names are cleaned and
aliased exactly as the match data is, so they meet the model's names.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime

import polars as pl

from engine.football_data.aliases import clean_team
from engine.football_data.text import FootballDataError, decode

REQUIRED = ("league", "kickoff", "home_team", "away_team")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y")


class FixtureListError(ValueError):
    """A fixture list that cannot be used, with the row and the fix."""


def read_fixture_list(
    data: bytes, source: str, *, aliases: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """Read and check a fixture list.

    Parameters
    ----------
    data : bytes
        The raw CSV file.
    source : str
        Its path, for messages.
    aliases : Mapping of str to str, optional
        Team spelling variants, as in ``configs/team_aliases.toml``.

    Returns
    -------
    polars.DataFrame
        ``league``, ``kickoff`` (date), ``home_team``, ``away_team`` first, then
        the file's other columns in their order.

    Raises
    ------
    FixtureListError
        Naming the file, the line and the bad value.
    """
    try:
        text = decode(data, source)
    except FootballDataError as exc:
        raise FixtureListError(str(exc)) from None
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            schema_overrides={name: pl.String for name in REQUIRED},
            infer_schema_length=None,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise FixtureListError(
            f"{source} is not a readable CSV file ({_first_line(exc)}); expected "
            f"a header with {', '.join(REQUIRED)}"
        ) from None
    missing = [name for name in REQUIRED if name not in frame.columns]
    if missing:
        raise FixtureListError(
            f"{source} lacks the column(s) {', '.join(missing)}; expected "
            f"{', '.join(REQUIRED)}, found {', '.join(frame.columns) or 'none'}"
        )
    if frame.height == 0:
        raise FixtureListError(f"{source} holds no fixture; add one row per game")
    return _checked(frame, source, aliases or {})


def _checked(
    frame: pl.DataFrame, source: str, aliases: Mapping[str, str]
) -> pl.DataFrame:
    columns: dict[str, list] = {name: [] for name in REQUIRED}
    for line, row in enumerate(frame.select(REQUIRED).iter_rows(named=True), 2):
        league = (row["league"] or "").strip()
        home = clean_team(row["home_team"] or "", aliases)
        away = clean_team(row["away_team"] or "", aliases)
        if not league or not home or not away:
            raise FixtureListError(
                f"{source} line {line}: league, home_team and away_team must not "
                "be empty; fill them in or remove the row"
            )
        if home == away:
            raise FixtureListError(
                f"{source} line {line}: {home} cannot play itself; check the teams"
            )
        columns["league"].append(league)
        columns["kickoff"].append(_kickoff(row["kickoff"], source, line))
        columns["home_team"].append(home)
        columns["away_team"].append(away)
    checked = pl.DataFrame(
        columns,
        schema={
            "league": pl.String,
            "kickoff": pl.Date,
            "home_team": pl.String,
            "away_team": pl.String,
        },
    )
    extras = frame.drop(REQUIRED)
    return pl.concat([checked, extras], how="horizontal")


def _kickoff(value: str | None, source: str, line: int) -> date:
    text = (value or "").strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise FixtureListError(
        f"{source} line {line}: kickoff {text!r} is not a date; write yyyy-mm-dd "
        "or dd/mm/yyyy"
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
