"""Training data as fixed-shape arrays: selection, decay weights and buckets.

A model is compiled once per array shape. Real data come in every size (a
league's season has 380 matches, a rolling window 371 or 392), so every array is
padded up to a *bucket*, a size from a short geometric ladder, and carries a
mask. Refits on new data of the same bucket then reuse the compiled sampler.

All checks of the input frame happen here, once; compiled model code assumes
the arrays are valid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
import polars as pl

REQUIRED_COLUMNS = (
    "match_id",
    "league",
    "season",
    "kickoff",
    "home_team",
    "away_team",
    "home_goals",
    "away_goals",
)


class ModelInputError(ValueError):
    """Training or fixture data that the models cannot use as given."""


class Bucket(NamedTuple):
    """Padded sizes of one design: the key under which a sampler is compiled."""

    num_matches: int
    num_teams: int
    num_leagues: int
    num_seasons: int


class ModelData(NamedTuple):
    """The arrays a model function reads; a JAX pytree.

    Per match (padded to ``Bucket.num_matches``): ``home_team``, ``away_team``,
    ``league`` and ``season`` indices, ``home_goals``, ``away_goals``, the decay
    ``weight`` (1 on padding, which ``match_mask`` switches off). Per team:
    ``team_league`` (the league a team is centred in, its latest), ``team_new``
    (1.0 for a team whose first season in the window is later than its league's
    first season: promoted or new) and ``team_mask``. ``league_mask`` and
    ``season_mask`` mark real leagues and seasons.
    """

    home_team: np.ndarray
    away_team: np.ndarray
    league: np.ndarray
    season: np.ndarray
    home_goals: np.ndarray
    away_goals: np.ndarray
    weight: np.ndarray
    match_mask: np.ndarray
    team_league: np.ndarray
    team_new: np.ndarray
    team_mask: np.ndarray
    league_mask: np.ndarray
    season_mask: np.ndarray


@dataclass(frozen=True)
class Design:
    """Padded model arrays with the index maps that name their entries.

    Attributes
    ----------
    data : ModelData
        The arrays, padded to ``bucket``.
    teams, leagues : tuple of str
        Names of team and league indices 0, 1, ... (sorted).
    seasons : tuple of int
        Consecutive seasons from the first to the last in the window; season
        index 0 is the first.
    match_ids, kickoffs : tuple
        One per real match, in array order (kickoff, then ``match_id``).
    cutoff : datetime.date
        Matches strictly before this date were selected.
    decay_half_life_days : float or None
        Half-life of the likelihood weights; None gives every match weight 1.
    """

    data: ModelData
    teams: tuple[str, ...]
    leagues: tuple[str, ...]
    seasons: tuple[int, ...]
    match_ids: tuple[str, ...]
    kickoffs: tuple[date, ...]
    cutoff: date
    decay_half_life_days: float | None

    @property
    def num_matches(self) -> int:
        """Number of real (unpadded) matches."""
        return len(self.match_ids)

    @property
    def decay_rate(self) -> float:
        """The rate xi of ``weight = exp(-xi * days_before_cutoff)``; 0 if none."""
        return decay_rate(self.decay_half_life_days)

    @property
    def bucket(self) -> Bucket:
        """The padded sizes."""
        return Bucket(
            self.data.home_team.shape[0],
            self.data.team_mask.shape[0],
            self.data.league_mask.shape[0],
            self.data.season_mask.shape[0],
        )


def bucket_size(n: int, minimum: int) -> int:
    """Return the smallest rung of ``minimum * {1, 1.5} * 2**k`` holding ``n``.

    Parameters
    ----------
    n : int
        Number of real entries.
    minimum : int
        The lowest rung; must be even so that every rung is an integer.

    Returns
    -------
    int
        A size at least ``n``, at most 1.5 times ``n`` once ``n >= minimum``.
    """
    size = minimum
    while True:
        if n <= size:
            return size
        if n <= size * 3 // 2:
            return size * 3 // 2
        size *= 2


def decay_rate(half_life_days: float | None) -> float:
    """Return ``ln 2 / half_life_days``, or 0.0 when there is no decay."""
    return 0.0 if half_life_days is None else math.log(2.0) / half_life_days


def design(
    matches: pl.DataFrame,
    *,
    cutoff: date,
    decay_half_life_days: float | None = None,
    leagues: Sequence[str] | None = None,
    seasons: Sequence[int] | None = None,
    window_days: int | None = None,
) -> Design:
    """Select training matches and build the padded model arrays.

    Parameters
    ----------
    matches : polars.DataFrame
        Played matches with at least the columns of ``REQUIRED_COLUMNS``
        (the data contract's ``MATCH_SCHEMA``).
    cutoff : datetime.date
        Only matches with kickoff strictly before this date are used; decay
        weights count days back from it.
    decay_half_life_days : float, optional
        A match ``d`` days before the cutoff gets likelihood weight
        ``exp(-xi * d)`` with ``xi = ln 2 / decay_half_life_days``. None: no decay.
    leagues, seasons : sequence, optional
        Keep only these leagues / seasons.
    window_days : int, optional
        Keep only matches at most this many days before the cutoff.

    Returns
    -------
    Design
        Arrays padded to a bucket, with team, league, season and match names.

    Raises
    ------
    ModelInputError
        When a column is missing or malformed, an argument is out of range, or
        the selection is empty.
    """
    _check_arguments(cutoff, decay_half_life_days, window_days)
    _check_frame(matches)
    selected = _select(matches, cutoff, leagues, seasons, window_days)
    return _build(selected, cutoff, decay_half_life_days)


def _check_arguments(
    cutoff: date, half_life: float | None, window_days: int | None
) -> None:
    if not isinstance(cutoff, date):
        raise ModelInputError(
            f"cutoff must be a datetime.date, got {cutoff!r}; pass e.g. "
            "date(2023, 6, 1)"
        )
    if half_life is not None and not (half_life > 0 and math.isfinite(half_life)):
        raise ModelInputError(
            f"decay_half_life_days must be a positive number of days or None, "
            f"got {half_life!r}"
        )
    if window_days is not None and window_days <= 0:
        raise ModelInputError(
            f"window_days must be a positive number of days or None, "
            f"got {window_days!r}"
        )


def _check_frame(matches: pl.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in matches.columns]
    if missing:
        raise ModelInputError(
            f"matches frame lacks columns {missing}; expected the data contract's "
            f"match columns {list(REQUIRED_COLUMNS)}, got {matches.columns}"
        )
    nulls = [c for c in REQUIRED_COLUMNS if matches[c].null_count() > 0]
    if nulls:
        raise ModelInputError(
            f"matches frame has missing values in {nulls}; drop or fix those rows "
            "before fitting"
        )
    if matches.schema["kickoff"] != pl.Date():
        raise ModelInputError(
            f"column kickoff must have type Date, got {matches.schema['kickoff']}; "
            "parse it with pl.col('kickoff').str.to_date()"
        )
    _check_values(matches)


def _check_values(matches: pl.DataFrame) -> None:
    negative = matches.filter((pl.col("home_goals") < 0) | (pl.col("away_goals") < 0))
    if negative.height:
        raise ModelInputError(
            f"goals must be non-negative integers, got a negative count in match "
            f"{negative['match_id'][0]!r}"
        )
    itself = matches.filter(pl.col("home_team") == pl.col("away_team"))
    if itself.height:
        raise ModelInputError(
            f"a team cannot play itself, got match {itself['match_id'][0]!r}"
        )
    duplicated = matches.filter(pl.col("match_id").is_duplicated())
    if duplicated.height:
        raise ModelInputError(
            f"match_id must be unique, got {duplicated['match_id'][0]!r} "
            "more than once; deduplicate the frame first"
        )


def _select(
    matches: pl.DataFrame,
    cutoff: date,
    leagues: Sequence[str] | None,
    seasons: Sequence[int] | None,
    window_days: int | None,
) -> pl.DataFrame:
    keep = pl.col("kickoff") < cutoff
    if leagues is not None:
        keep &= pl.col("league").is_in(list(leagues))
    if seasons is not None:
        keep &= pl.col("season").is_in(list(seasons))
    if window_days is not None:
        keep &= pl.col("kickoff") >= cutoff - timedelta(days=window_days)
    selected = matches.filter(keep).sort("kickoff", "match_id")
    absent = sorted(set(leagues or ()) - set(selected["league"]))
    if absent and selected.height:
        raise ModelInputError(
            f"no matches of league {absent[0]!r} in the selection (cutoff={cutoff}, "
            f"seasons={seasons}, window_days={window_days}); leagues present: "
            f"{', '.join(sorted(set(selected['league'])))}"
        )
    if selected.height == 0:
        raise ModelInputError(
            f"no matches left to fit: cutoff={cutoff}, leagues={leagues}, "
            f"seasons={seasons}, window_days={window_days} select nothing from "
            f"{matches.height} rows; widen the selection"
        )
    return selected


def _build(frame: pl.DataFrame, cutoff: date, half_life: float | None) -> Design:
    teams = tuple(sorted(set(frame["home_team"]) | set(frame["away_team"])))
    leagues = tuple(sorted(set(frame["league"])))
    first, last = int(frame["season"].min()), int(frame["season"].max())
    seasons = tuple(range(first, last + 1))
    bucket = Bucket(
        bucket_size(frame.height, 64),
        bucket_size(len(teams), 8),
        bucket_size(len(leagues), 2) if len(leagues) > 1 else 1,
        bucket_size(len(seasons), 2),
    )
    data = ModelData(
        *_match_arrays(frame, teams, leagues, first, cutoff, half_life, bucket),
        *_team_arrays(frame, teams, leagues, bucket),
        league_mask=_mask(len(leagues), bucket.num_leagues),
        season_mask=_mask(len(seasons), bucket.num_seasons),
    )
    return Design(
        data=data,
        teams=teams,
        leagues=leagues,
        seasons=seasons,
        match_ids=tuple(frame["match_id"]),
        kickoffs=tuple(frame["kickoff"]),
        cutoff=cutoff,
        decay_half_life_days=half_life,
    )


def _match_arrays(
    frame: pl.DataFrame,
    teams: tuple[str, ...],
    leagues: tuple[str, ...],
    first_season: int,
    cutoff: date,
    half_life: float | None,
    bucket: Bucket,
) -> list[np.ndarray]:
    team_index = {name: i for i, name in enumerate(teams)}
    league_index = {name: i for i, name in enumerate(leagues)}
    days = np.array([(cutoff - k).days for k in frame["kickoff"]], dtype=np.float64)
    columns = [
        [team_index[t] for t in frame["home_team"]],
        [team_index[t] for t in frame["away_team"]],
        [league_index[name] for name in frame["league"]],
        (frame["season"].to_numpy() - first_season).tolist(),
        frame["home_goals"].to_list(),
        frame["away_goals"].to_list(),
    ]
    arrays = [_pad(np.asarray(c, dtype=np.int32), bucket.num_matches) for c in columns]
    weight = np.exp(-decay_rate(half_life) * days).astype(np.float32)
    arrays.append(_pad(weight, bucket.num_matches, fill=1.0))
    arrays.append(_mask(frame.height, bucket.num_matches).astype(bool))
    return arrays


def _team_arrays(
    frame: pl.DataFrame,
    teams: tuple[str, ...],
    leagues: tuple[str, ...],
    bucket: Bucket,
) -> list[np.ndarray]:
    long = pl.concat(
        [
            frame.select("league", "season", "kickoff", team=pl.col(side))
            for side in ("home_team", "away_team")
        ]
    )
    per_team = (
        long.sort("kickoff")
        .group_by("team")
        .agg(pl.col("league").last(), first_season=pl.col("season").min())
    )
    league_start = long.group_by("league").agg(start=pl.col("season").min())
    per_team = per_team.join(league_start, on="league").sort("team")
    league_index = {name: i for i, name in enumerate(leagues)}
    team_league = np.array(
        [league_index[name] for name in per_team["league"]], dtype=np.int32
    )
    new = (per_team["first_season"] > per_team["start"]).to_numpy()
    return [
        _pad(team_league, bucket.num_teams),
        _pad(new.astype(np.float32), bucket.num_teams),
        _mask(len(teams), bucket.num_teams),
    ]


def _pad(values: np.ndarray, size: int, fill: float = 0) -> np.ndarray:
    out = np.full(size, fill, dtype=values.dtype)
    out[: values.shape[0]] = values
    return out


def _mask(n: int, size: int) -> np.ndarray:
    return _pad(np.ones(n, dtype=np.float32), size)
