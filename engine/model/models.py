"""Hierarchical team-strength models of football scores, as NumPyro functions.

Every model is a plain function of a `ModelData` pytree. On the log scale the
home team's scoring rate is::

    intercept[league] + home_advantage[league] + attack[home] - defence[away]

and the away team's is ``intercept[league] + attack[away] - defence[home]``
(Maher 1982), so a higher defence is better and ``attack + defence`` orders
teams by strength. League intercepts and home advantages are drawn around shared
means with learned spreads, so a league with few matches borrows strength from
the others. Attack and defence are non-centred deviations with learned scales,
centred to sum to zero within each league (which identifies the intercept),
plus a learned offset for teams new to the window (promoted or new). The
Dixon–Coles variant adds the low-score dependence of Dixon & Coles (1997); the
dynamic variants let strengths move between seasons as a Gaussian random walk.

Every match's log-likelihood is multiplied by its decay weight; padded matches,
teams, leagues and seasons are masked out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax import random
from numpyro import handlers

from engine.model.arrays import ModelData

RHO_MARGIN = 1e-3
"""Fraction by which rho stays inside its bound, so tau > 0 after rounding."""

RHO_SD = 0.15
"""Prior sd of Dixon–Coles rho: fitted values lie mostly within +-0.15."""

INTERCEPT_PRIOR = (0.2, 0.5)
"""Normal (mean, sd) of a league's log scoring rate of an average away side."""

HOME_ADVANTAGE_PRIOR = (0.25, 0.25)
"""Normal (mean, sd) of a league's log home advantage."""


class Strengths(NamedTuple):
    """League and team parameters of one posterior draw, on the log scale.

    ``attack`` and ``defence`` have shape ``(team,)`` or, in the dynamic
    models, ``(season, team)``.
    """

    intercept: jax.Array
    home_advantage: jax.Array
    attack: jax.Array
    defence: jax.Array


def match_log_rates(params: Strengths, data: ModelData) -> tuple[jax.Array, jax.Array]:
    """Return the log scoring rates of the home and the away side of each match.

    Parameters
    ----------
    params : Strengths
        One draw of the league and team parameters.
    data : ModelData
        Indices of the matches.

    Returns
    -------
    tuple of jax.Array
        ``(log_home_rate, log_away_rate)``, each of shape ``(match,)``.
    """
    base = params.intercept[data.league]
    attack_home = _at(params.attack, data.home_team, data.season)
    attack_away = _at(params.attack, data.away_team, data.season)
    defence_home = _at(params.defence, data.home_team, data.season)
    defence_away = _at(params.defence, data.away_team, data.season)
    log_home = base + params.home_advantage[data.league] + attack_home - defence_away
    log_away = base + attack_away - defence_home
    return log_home, log_away


def _at(strength: jax.Array, team: jax.Array, season: jax.Array) -> jax.Array:
    return strength[team] if strength.ndim == 1 else strength[season, team]


def dixon_coles_log_tau(
    home_goals: jax.Array,
    away_goals: jax.Array,
    home_rate: jax.Array,
    away_rate: jax.Array,
    rho: jax.Array,
) -> jax.Array:
    """Return log tau, the Dixon–Coles correction of the four low scores.

    ``tau`` is ``1 - lambda*mu*rho`` at 0-0, ``1 + lambda*rho`` at 0-1,
    ``1 + mu*rho`` at 1-0, ``1 - rho`` at 1-1 and 1 elsewhere (Dixon & Coles
    1997, eq. 4.2), with lambda the home and mu the away rate. The caller keeps
    rho within `rho_bounds`, which makes every factor positive.
    """
    tau = jnp.where(
        (home_goals == 0) & (away_goals == 0),
        1.0 - home_rate * away_rate * rho,
        jnp.where(
            (home_goals == 0) & (away_goals == 1),
            1.0 + home_rate * rho,
            jnp.where(
                (home_goals == 1) & (away_goals == 0),
                1.0 + away_rate * rho,
                jnp.where((home_goals == 1) & (away_goals == 1), 1.0 - rho, 1.0),
            ),
        ),
    )
    return jnp.log(tau)


def rho_bounds(max_rate: jax.Array, max_rate_product: jax.Array) -> jax.Array:
    """Return the interval of rho that keeps every Dixon–Coles tau non-negative.

    For one match with rates lambda and mu, tau >= 0 at the four low scores
    requires ``max(-1/lambda, -1/mu) <= rho <= min(1/(lambda*mu), 1)``. Over a
    set of matches the intersection is ``[-1/max_rate, min(1/max_rate_product,
    1)]`` with ``max_rate`` the largest of all lambda and mu and
    ``max_rate_product`` the largest lambda*mu.

    Returns
    -------
    jax.Array
        ``(lower, upper)`` stacked on the last axis.
    """
    lower = -1.0 / max_rate
    upper = jnp.minimum(1.0 / max_rate_product, 1.0)
    return jnp.stack([lower, upper], axis=-1)


def score_log_likelihood(
    home_goals: jax.Array,
    away_goals: jax.Array,
    home_rate: jax.Array,
    away_rate: jax.Array,
    rho: jax.Array | None,
) -> jax.Array:
    """Return log p(home_goals, away_goals) of each match, without decay weight.

    Independent Poisson scores, times tau when ``rho`` is given.
    """
    log_lik = dist.Poisson(home_rate).log_prob(home_goals)
    log_lik = log_lik + dist.Poisson(away_rate).log_prob(away_goals)
    if rho is None:
        return log_lik
    tau = dixon_coles_log_tau(home_goals, away_goals, home_rate, away_rate, rho)
    return log_lik + tau


def simulate_scores(
    rng_key: jax.Array,
    home_rate: jax.Array,
    away_rate: jax.Array,
    rho: jax.Array | None,
) -> tuple[jax.Array, jax.Array]:
    """Draw one score per match from the model's score distribution.

    Dixon–Coles moves probability only among 0-0, 0-1, 1-0 and 1-1, and the
    block's total is unchanged (the four corrections cancel). So an independent
    Poisson pair is drawn and, when it falls in that block, replaced by a draw
    from the corrected block, which is exact.

    Returns
    -------
    tuple of jax.Array
        ``(home_goals, away_goals)`` as int32.
    """
    home_key, away_key, block_key = random.split(rng_key, 3)
    home = random.poisson(home_key, home_rate).astype(jnp.int32)
    away = random.poisson(away_key, away_rate).astype(jnp.int32)
    if rho is None:
        return home, away

    product = home_rate * away_rate
    block = jnp.stack(
        [
            1.0 - product * rho,
            away_rate * (1.0 + home_rate * rho),
            home_rate * (1.0 + away_rate * rho),
            product * (1.0 - rho),
        ],
        axis=-1,
    )
    cell = random.categorical(block_key, jnp.log(block), axis=-1).astype(jnp.int32)
    in_block = (home <= 1) & (away <= 1)
    return jnp.where(in_block, cell // 2, home), jnp.where(in_block, cell % 2, away)


def _centre(values: jax.Array, data: ModelData) -> jax.Array:
    """Subtract each league's mean over its real teams; zero the padding."""
    num_leagues = data.league_mask.shape[0]
    if num_leagues == 1:
        mean = jnp.sum(values * data.team_mask) / jnp.sum(data.team_mask)
        return (values - mean) * data.team_mask
    total = jax.ops.segment_sum(
        values * data.team_mask, data.team_league, num_segments=num_leagues
    )
    count = jax.ops.segment_sum(
        data.team_mask, data.team_league, num_segments=num_leagues
    )
    mean = total / jnp.maximum(count, 1.0)
    return (values - mean[data.team_league]) * data.team_mask


def _league_effects(data: ModelData) -> tuple[jax.Array, jax.Array]:
    """League intercepts and home advantages, pooled when there are several.

    With one league in the bucket, the spread across leagues is not
    identified and would only slow the sampler down, so the league's intercept
    and home advantage take the hyperpriors directly.
    """
    num_leagues = data.league_mask.shape[0]
    if num_leagues == 1:
        with numpyro.plate("league", 1):
            intercept = numpyro.sample("intercept", dist.Normal(*INTERCEPT_PRIOR))
            home_advantage = numpyro.sample(
                "home_advantage", dist.Normal(*HOME_ADVANTAGE_PRIOR)
            )
        return intercept, home_advantage

    intercept_mean = numpyro.sample("intercept_mean", dist.Normal(*INTERCEPT_PRIOR))
    intercept_sd = numpyro.sample("intercept_sd", dist.HalfNormal(0.2))
    home_mean = numpyro.sample(
        "home_advantage_mean", dist.Normal(*HOME_ADVANTAGE_PRIOR)
    )
    home_sd = numpyro.sample("home_advantage_sd", dist.HalfNormal(0.1))

    with numpyro.plate("league", num_leagues):
        intercept_raw = numpyro.sample("intercept_raw", dist.Normal(0.0, 1.0))
        home_raw = numpyro.sample("home_advantage_raw", dist.Normal(0.0, 1.0))

    intercept = numpyro.deterministic(
        "intercept", intercept_mean + intercept_sd * intercept_raw
    )
    home_advantage = numpyro.deterministic(
        "home_advantage", home_mean + home_sd * home_raw
    )
    return intercept, home_advantage


def _team_base(data: ModelData, name: str) -> jax.Array:
    """Season-independent strength: new-team offset plus a centred deviation."""
    scale = numpyro.sample(f"{name}_sd", dist.HalfNormal(0.5))
    new_team = numpyro.sample(f"new_team_{name}", dist.Normal(-0.2, 0.2))
    with numpyro.plate("team", data.team_mask.shape[0]):
        raw = numpyro.sample(f"{name}_raw", dist.Normal(0.0, 1.0))
    return new_team * data.team_new + scale * _centre(raw, data)


def _static_strength(data: ModelData, name: str) -> jax.Array:
    return numpyro.deterministic(name, _team_base(data, name))


def _dynamic_strength(data: ModelData, name: str) -> jax.Array:
    """Season-by-season strength: a Gaussian random walk from the base."""
    base = _team_base(data, name)
    step_sd = numpyro.sample(f"{name}_season_sd", dist.HalfNormal(0.1))
    num_steps = data.season_mask.shape[0] - 1

    with (
        numpyro.plate("team", data.team_mask.shape[0], dim=-1),
        numpyro.plate("season_step", num_steps, dim=-2),
    ):
        step_raw = numpyro.sample(f"{name}_step_raw", dist.Normal(0.0, 1.0))

    steps = step_sd * jax.vmap(lambda row: _centre(row, data))(step_raw)
    walk = jnp.concatenate([jnp.zeros_like(base)[None], jnp.cumsum(steps, axis=0)])
    return numpyro.deterministic(name, base[None] + walk)


def _rho(params: Strengths, data: ModelData) -> jax.Array:
    """Dixon–Coles rho, squashed into the bound of the data and of all pairings.

    The bound covers every training match and every home/away pairing of the
    teams of each league (in every season), so rho is valid for the data and
    for any fixture between known teams. ``rho_raw`` has a Normal(0, `RHO_SD`)
    prior, so independence is the prior's centre; `squash_rho` maps it into
    the bound, shrunk by `RHO_MARGIN`, and is the identity near zero.
    """
    max_rate, max_product = _max_rates(params, data)
    lower, upper = jnp.unstack(rho_bounds(max_rate, max_product), axis=-1)
    rho_raw = numpyro.sample("rho_raw", dist.Normal(0.0, RHO_SD))
    shrink = 1.0 - RHO_MARGIN
    return numpyro.deterministic(
        "rho", squash_rho(rho_raw, shrink * lower, shrink * upper)
    )


def squash_rho(value: jax.Array, lower: jax.Array, upper: jax.Array) -> jax.Array:
    """Map the real line into ``(lower, upper)`` with ``lower < 0 < upper``.

    ``upper * tanh(value / upper)`` above zero and ``-lower * tanh(value /
    lower)`` below: smooth, increasing, and close to ``value`` while it is small
    against the bound, so the prior on ``value`` is nearly the prior on rho.

    Parameters
    ----------
    value : jax.Array
        Unconstrained rho.
    lower, upper : jax.Array
        The bound, negative and positive.

    Returns
    -------
    jax.Array
        rho, strictly inside the bound.
    """
    edge = jnp.where(value >= 0, upper, -lower)
    return edge * jnp.tanh(value / edge)


def _max_rates(params: Strengths, data: ModelData) -> tuple[jax.Array, jax.Array]:
    """Return the largest rate and rate product over matches and pairings."""
    log_home, log_away = match_log_rates(params, data)
    top = _masked_max(jnp.maximum(log_home, log_away), data.match_mask)
    top_sum = _masked_max(log_home + log_away, data.match_mask)
    pair_top, pair_sum = _pairing_maxima(params, data)
    return jnp.exp(jnp.maximum(top, pair_top)), jnp.exp(jnp.maximum(top_sum, pair_sum))


def _pairing_maxima(params: Strengths, data: ModelData) -> tuple[jax.Array, jax.Array]:
    """Return the largest log rate and log rate sum of any pairing in a league.

    Home side i against away side j scores at ``intercept + home_advantage +
    attack[i] - defence[j]`` and concedes at ``intercept + attack[j] -
    defence[i]``; the maxima over i and j take the best attack, defence and
    attack - defence of each league's teams (over every real season).
    """
    attack, defence = _season_rows(params.attack), _season_rows(params.defence)
    teams = jnp.broadcast_to(data.team_league, attack.shape).ravel()
    if attack.shape[0] == 1:
        valid = data.team_mask > 0
    else:
        valid = (data.season_mask[:, None] * data.team_mask[None, :]).ravel() > 0

    def league_max(values: jax.Array) -> jax.Array:
        masked = jnp.where(valid, values.ravel(), -jnp.inf)
        return jax.ops.segment_max(
            masked, teams, num_segments=data.league_mask.shape[0]
        )

    best_attack, best_defence = league_max(attack), league_max(-defence)
    best_margin = league_max(attack - defence)
    home_base = params.intercept + params.home_advantage
    pair_rate = jnp.maximum(home_base, params.intercept) + best_attack + best_defence
    pair_sum = params.intercept + home_base + 2.0 * best_margin
    real = data.league_mask > 0
    return _masked_max(pair_rate, real), _masked_max(pair_sum, real)


def _masked_max(values: jax.Array, mask: jax.Array) -> jax.Array:
    return jnp.max(jnp.where(mask, values, -jnp.inf))


def _season_rows(strength: jax.Array) -> jax.Array:
    return strength[None] if strength.ndim == 1 else strength


def _likelihood(
    data: ModelData,
    log_home: jax.Array,
    log_away: jax.Array,
    rho: jax.Array | None,
) -> None:
    home_rate, away_rate = jnp.exp(log_home), jnp.exp(log_away)
    with (
        numpyro.plate("match", data.home_team.shape[0]),
        handlers.mask(mask=data.match_mask),
        handlers.scale(scale=data.weight),
    ):
        numpyro.sample("home_goals", dist.Poisson(home_rate), obs=data.home_goals)
        numpyro.sample("away_goals", dist.Poisson(away_rate), obs=data.away_goals)
        if rho is not None:
            log_tau = dixon_coles_log_tau(
                data.home_goals, data.away_goals, home_rate, away_rate, rho
            )
            numpyro.factor("dixon_coles_tau", log_tau)


def _model(data: ModelData, *, dynamic: bool, dependence: bool) -> None:
    intercept, home_advantage = _league_effects(data)
    strength = _dynamic_strength if dynamic else _static_strength
    params = Strengths(
        intercept, home_advantage, strength(data, "attack"), strength(data, "defence")
    )
    log_home, log_away = match_log_rates(params, data)
    rho = _rho(params, data) if dependence else None
    _likelihood(data, log_home, log_away, rho)


def poisson(data: ModelData) -> None:
    """Independent Poisson scores with hierarchical team strengths.

    Parameters
    ----------
    data : ModelData
        Padded match and team arrays from `engine.model.arrays.design`.
    """
    _model(data, dynamic=False, dependence=False)


def dixon_coles(data: ModelData) -> None:
    """Poisson scores with the Dixon–Coles low-score dependence rho.

    Parameters
    ----------
    data : ModelData
        Padded match and team arrays from `engine.model.arrays.design`.
    """
    _model(data, dynamic=False, dependence=True)


def poisson_dynamic(data: ModelData) -> None:
    """`poisson` with attack and defence moving between seasons.

    Parameters
    ----------
    data : ModelData
        Padded match and team arrays from `engine.model.arrays.design`.
    """
    _model(data, dynamic=True, dependence=False)


def dixon_coles_dynamic(data: ModelData) -> None:
    """`dixon_coles` with attack and defence moving between seasons.

    Parameters
    ----------
    data : ModelData
        Padded match and team arrays from `engine.model.arrays.design`.
    """
    _model(data, dynamic=True, dependence=True)


MODELS: dict[str, Callable[[ModelData], None]] = {
    "poisson": poisson,
    "dixon_coles": dixon_coles,
    "poisson_dynamic": poisson_dynamic,
    "dixon_coles_dynamic": dixon_coles_dynamic,
}
"""Model functions by name."""


def model_name(name: str, dynamic: bool = False) -> str:
    """Return the registered name of ``name``, with ``_dynamic`` when asked.

    Raises
    ------
    ValueError
        When the name is not a registered model.
    """
    full = f"{name}_dynamic" if dynamic and not name.endswith("_dynamic") else name
    if full not in MODELS:
        raise ValueError(f"unknown model {full!r}; expected one of {', '.join(MODELS)}")
    return full


def is_dynamic(name: str) -> bool:
    """Whether the named model lets strengths move between seasons."""
    return name.endswith("_dynamic")


def has_rho(name: str) -> bool:
    """Whether the named model has the Dixon–Coles dependence rho."""
    return name.startswith("dixon_coles")
