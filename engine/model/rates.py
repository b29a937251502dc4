"""Posterior scoring rates for fixtures, the input of every market.

For each posterior draw and fixture, the home and away rates follow the model's
log-linear form. A team the fit never saw is drawn from the hierarchical prior
of a new team (the learned new-team offset plus the learned spread), so a
fixture with a promoted side still gets rates, flagged ``unseen_home`` or
``unseen_away``. Dynamic models carry strengths past the last fitted season
with random-walk steps.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import arviz as az
import jax
import numpy as np
import polars as pl
from jax import random

from engine.model import models
from engine.model.arrays import ModelInputError
from engine.model.fitting import Fit

FIXTURE_COLUMNS = ("league", "kickoff", "home_team", "away_team")


class NewTeamPriorWarning(UserWarning):
    """Unseen teams priced from a new-team offset that no data informed."""


@dataclass(frozen=True)
class FixtureRates:
    """Posterior draws of each fixture's scoring rates.

    Attributes
    ----------
    home_rate, away_rate : numpy.ndarray
        Shape ``(draw, fixture)``; draws of all chains, chain by chain.
    rho : numpy.ndarray or None
        Dixon–Coles dependence, shape ``(draw, fixture)``; None for Poisson
        models. Each fixture's rho lies within the bound that keeps its own
        four tau factors non-negative (see ``rho_clipped``), so it never
        depends on the other fixtures of the list.
    unseen_home, unseen_away : numpy.ndarray
        Bool, shape ``(fixture,)``: the side was drawn from the new-team prior.
    rho_clipped : numpy.ndarray or None
        Bool, shape ``(draw, fixture)``: the fitted rho lay outside this
        fixture's bound in this draw and was moved to its edge. It can happen
        only for fixtures with unseen teams or seasons beyond the fit (the
        fitted rho is bounded over every pairing of known teams).
    """

    home_rate: np.ndarray
    away_rate: np.ndarray
    rho: np.ndarray | None
    unseen_home: np.ndarray
    unseen_away: np.ndarray
    rho_clipped: np.ndarray | None

    @property
    def num_draws(self) -> int:
        """Number of posterior draws."""
        return self.home_rate.shape[0]


def fixture_rates(
    fit: Fit | az.InferenceData, fixtures: pl.DataFrame, *, rng_key: jax.Array
) -> FixtureRates:
    """Return posterior home and away scoring rates for each fixture.

    Parameters
    ----------
    fit : Fit or arviz.InferenceData
        A fit, or its stored InferenceData.
    fixtures : polars.DataFrame
        At least ``league``, ``kickoff``, ``home_team``, ``away_team``; a
        ``season`` column is used by dynamic models when present (otherwise the
        season starts on 1 July).
    rng_key : jax.Array
        Source of the strengths of teams the fit never saw.

    Returns
    -------
    FixtureRates

    Raises
    ------
    ModelInputError
        A missing column, missing values, or a league the fit did not include
        (named, with the leagues it knows).

    Warns
    -----
    NewTeamPriorWarning
        When a fixture has a team the fit never saw and the training window
        held no promoted side, so the new-team offset is only its prior.
    """
    idata = fit.idata if isinstance(fit, Fit) else fit
    leagues = [str(code) for code in idata.posterior["league"].values]
    _check_fixtures(fixtures, leagues)
    post = _flat_posterior(idata)
    sides = _team_strengths(idata, post, fixtures, rng_key)
    if sides.unseen and not idata.constant_data["team_new"].values.any():
        warnings.warn(
            NewTeamPriorWarning(
                f"{len(sides.unseen)} team(s) the fit never saw, e.g. "
                f"{sides.unseen[0]!r}, are priced from the new-team offset, but "
                "the training window held no promoted side to learn it from: "
                "its prior stands in; fit a window of two or more seasons"
            ),
            stacklevel=2,
        )

    league = np.array([leagues.index(code) for code in fixtures["league"]])
    base = post["intercept"][:, league]
    home, away = fixtures["home_team"], fixtures["away_team"]
    log_home = base + post["home_advantage"][:, league]
    log_home += sides.of("attack", home) - sides.of("defence", away)
    log_away = base + sides.of("attack", away) - sides.of("defence", home)
    home_rate, away_rate = np.exp(log_home), np.exp(log_away)

    rho, clipped = _bounded_rho(post.get("rho"), home_rate, away_rate)
    return FixtureRates(
        home_rate=home_rate,
        away_rate=away_rate,
        rho=rho,
        unseen_home=np.isin(home.to_numpy(), sides.unseen),
        unseen_away=np.isin(away.to_numpy(), sides.unseen),
        rho_clipped=clipped,
    )


@dataclass(frozen=True)
class _TeamStrengths:
    """Attack and defence draws of every team named in the fixtures.

    ``tables`` hold ``(draw, season, team)`` strengths of the known teams then
    the unseen ones; ``walks`` the random-walk shock per draw and team for one
    season past the fit (zero for static models); ``positions`` and ``steps``
    each fixture's season index and its seasons beyond the fit.
    """

    tables: dict[str, np.ndarray]
    walks: dict[str, np.ndarray]
    column: dict[str, int]
    unseen: list[str]
    positions: np.ndarray
    steps: np.ndarray

    def of(self, name: str, teams: pl.Series) -> np.ndarray:
        """Return ``(draw, fixture)`` draws of ``name`` for the given sides."""
        columns = np.array([self.column[t] for t in teams], dtype=np.int64)
        values = self.tables[name][:, self.positions, columns]
        return values + self.walks[name][:, columns] * np.sqrt(self.steps)[None]


def _team_strengths(
    idata: az.InferenceData,
    post: dict[str, np.ndarray],
    fixtures: pl.DataFrame,
    rng_key: jax.Array,
) -> _TeamStrengths:
    teams = [str(name) for name in idata.posterior["team"].values]
    named = set(fixtures["home_team"]) | set(fixtures["away_team"])
    unseen = sorted(named - set(teams))
    dynamic = models.is_dynamic(str(idata.attrs["model"]))
    new_key, walk_key = random.split(rng_key)

    tables, walks = {}, {}
    for index, name in enumerate(("attack", "defence")):
        new_draws = random.fold_in(new_key, index)
        tables[name] = _strength_table(post, name, unseen, new_draws)
        walks[name] = np.zeros((tables[name].shape[0], len(teams) + len(unseen)))
        if dynamic:
            shocks = _normal(random.fold_in(walk_key, index), walks[name].shape[0])
            walks[name] = post[f"{name}_season_sd"][:, None] * shocks(teams + unseen)

    positions, steps = _season_positions(idata, fixtures, dynamic)
    column = {name: i for i, name in enumerate(teams + unseen)}
    return _TeamStrengths(tables, walks, column, unseen, positions, steps)


def _check_fixtures(fixtures: pl.DataFrame, leagues: list[str]) -> None:
    missing = [c for c in FIXTURE_COLUMNS if c not in fixtures.columns]
    if missing:
        raise ModelInputError(
            f"fixtures frame lacks columns {missing}; expected at least "
            f"{list(FIXTURE_COLUMNS)}, got {fixtures.columns}"
        )
    nulls = [c for c in FIXTURE_COLUMNS if fixtures[c].null_count() > 0]
    if nulls:
        raise ModelInputError(
            f"fixtures frame has missing values in {nulls}; fill or drop those rows"
        )
    unknown = sorted(set(fixtures["league"]) - set(leagues))
    if unknown:
        raise ModelInputError(
            f"fixture league {unknown[0]!r} was not in the fit, which knows "
            f"{', '.join(leagues)}; fit a model that includes it"
        )


def _flat_posterior(idata: az.InferenceData) -> dict[str, np.ndarray]:
    """Every posterior variable with chain and draw merged into one axis."""
    return {
        str(name): values.values.reshape(-1, *values.shape[2:])
        for name, values in idata.posterior.data_vars.items()
    }


def _strength_table(
    post: dict[str, np.ndarray], name: str, unseen: list[str], rng_key: jax.Array
) -> np.ndarray:
    """Known teams' strengths, then unseen teams drawn from the new-team prior.

    Returns shape ``(draw, season, team)``; one season for static models.
    """
    known = post[name] if post[name].ndim == 3 else post[name][:, None, :]
    shocks = _normal(rng_key, known.shape[0])(unseen)
    drawn = post[f"new_team_{name}"][:, None] + post[f"{name}_sd"][:, None] * shocks
    drawn = np.broadcast_to(drawn[:, None, :], (*known.shape[:2], len(unseen)))
    return np.concatenate([known, drawn], axis=-1)


def _normal(rng_key: jax.Array, num_draws: int) -> Callable[[list[str]], np.ndarray]:
    """Return a map from team names to ``(draw, team)`` standard normal draws.

    Each team's draws come from a key of its own, folded in from its name, so
    they do not depend on which other teams a fixture list holds.
    """

    def draws(names: list[str]) -> np.ndarray:
        columns = [
            np.asarray(
                random.normal(random.fold_in(rng_key, _name_code(n)), (num_draws,))
            )
            for n in names
        ]
        return np.stack(columns, axis=-1) if columns else np.zeros((num_draws, 0))

    return draws


def _name_code(name: str) -> int:
    """Return a stable 31-bit integer for a team name, the same in every process."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _season_positions(
    idata: az.InferenceData, fixtures: pl.DataFrame, dynamic: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Season index of each fixture in the fit, and seasons beyond its last.

    Static models have one season axis entry and never step.
    """
    zeros = np.zeros(fixtures.height, dtype=np.int64)
    if not dynamic:
        return zeros, zeros
    seasons = [int(s) for s in idata.posterior["season"].values]
    if "season" in fixtures.columns and fixtures["season"].null_count() == 0:
        season = fixtures["season"].to_numpy().astype(np.int64)
    else:
        season = np.array([_season_of(k) for k in fixtures["kickoff"]], dtype=np.int64)
    positions = np.clip(season - seasons[0], 0, len(seasons) - 1)
    return positions, np.maximum(season - seasons[-1], 0)


def _season_of(kickoff: date) -> int:
    """Return the starting year of the season of a date (seasons start 1 July)."""
    return kickoff.year if kickoff.month >= 7 else kickoff.year - 1


def _bounded_rho(
    rho: np.ndarray | None, home_rate: np.ndarray, away_rate: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Move each draw's rho inside each fixture's own bound where needed."""
    if rho is None:
        return None, None
    lower, upper = np.moveaxis(
        np.asarray(
            models.rho_bounds(np.maximum(home_rate, away_rate), home_rate * away_rate)
        ),
        -1,
        0,
    )
    shrink = 1.0 - models.RHO_MARGIN
    per_fixture = np.broadcast_to(rho[:, None], home_rate.shape)
    clipped = (per_fixture < lower * shrink) | (per_fixture > upper * shrink)
    return np.clip(per_fixture, lower * shrink, upper * shrink), clipped
