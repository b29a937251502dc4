"""A PyMC twin of the ``poisson`` model, to cross-check the NumPyro posterior.

Same priors, the same non-centred, league-centred parameterisation and the same
decay-weighted likelihood as `engine.model.models.poisson`, written
independently in PyMC, so that two samplers on two code bases must agree on the
posterior. PyMC is imported only when this module is.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pymc as pm
import pytensor.tensor as pt

from engine.model.arrays import Design
from engine.model.models import HOME_ADVANTAGE_PRIOR, INTERCEPT_PRIOR


def poisson_twin(design: Design) -> pm.Model:
    """Build the PyMC model of `engine.model.models.poisson` for a design.

    Parameters
    ----------
    design : Design
        Training arrays; padding is dropped.

    Returns
    -------
    pymc.Model
        Variables named as in the NumPyro model (``intercept``,
        ``home_advantage``, ``attack``, ``defence``, ``attack_sd``, ...).
    """
    n, num_teams = design.num_matches, len(design.teams)
    data = design.data
    coords = {
        "league": list(design.leagues),
        "team": list(design.teams),
        "match": list(design.match_ids),
    }
    with pm.Model(coords=coords) as model:
        intercept, home_advantage = _league_effects(len(design.leagues))
        team_league = data.team_league[:num_teams]
        team_new = data.team_new[:num_teams]
        attack = _strength("attack", team_league, team_new, len(design.leagues))
        defence = _strength("defence", team_league, team_new, len(design.leagues))

        home, away = data.home_team[:n], data.away_team[:n]
        league = data.league[:n]
        log_home = intercept[league] + home_advantage[league] + attack[home]
        log_home = log_home - defence[away]
        log_away = intercept[league] + attack[away] - defence[home]
        log_lik = pm.logp(pm.Poisson.dist(pt.exp(log_home)), data.home_goals[:n])
        log_lik += pm.logp(pm.Poisson.dist(pt.exp(log_away)), data.away_goals[:n])
        pm.Potential("score", pt.sum(data.weight[:n] * log_lik))
    return model


def _league_effects(num_leagues: int) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    if num_leagues == 1:
        intercept = pm.Normal("intercept", *INTERCEPT_PRIOR, dims="league")
        home = pm.Normal("home_advantage", *HOME_ADVANTAGE_PRIOR, dims="league")
        return intercept, home

    intercept_mean = pm.Normal("intercept_mean", *INTERCEPT_PRIOR)
    intercept_sd = pm.HalfNormal("intercept_sd", 0.2)
    home_mean = pm.Normal("home_advantage_mean", *HOME_ADVANTAGE_PRIOR)
    home_sd = pm.HalfNormal("home_advantage_sd", 0.1)
    intercept_raw = pm.Normal("intercept_raw", 0.0, 1.0, dims="league")
    home_raw = pm.Normal("home_advantage_raw", 0.0, 1.0, dims="league")
    intercept = pm.Deterministic(
        "intercept", intercept_mean + intercept_sd * intercept_raw, dims="league"
    )
    home = pm.Deterministic(
        "home_advantage", home_mean + home_sd * home_raw, dims="league"
    )
    return intercept, home


def _strength(
    name: str, team_league: np.ndarray, team_new: np.ndarray, num_leagues: int
) -> pt.TensorVariable:
    scale = pm.HalfNormal(f"{name}_sd", 0.5)
    new_team = pm.Normal(f"new_team_{name}", -0.2, 0.2)
    raw = pm.Normal(f"{name}_raw", 0.0, 1.0, dims="team")
    membership = np.eye(num_leagues)[team_league]
    league_mean = pt.dot(membership.T, raw) / membership.sum(axis=0)
    centred = raw - pt.dot(membership, league_mean)
    return pm.Deterministic(name, new_team * team_new + scale * centred, dims="team")


def sample_twin(
    design: Design,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    cores: int | None = 1,
) -> az.InferenceData:
    """Sample the twin with PyMC's default NUTS.

    Parameters
    ----------
    design : Design
        Training arrays.
    draws, tune, chains : int
        As in `pymc.sample`.
    seed : int
        ``random_seed`` of `pymc.sample`.
    cores : int or None
        Processes for chains; 1 runs them one after another, None lets PyMC
        choose (its default: up to 4, one per CPU).

    Returns
    -------
    arviz.InferenceData
    """
    with poisson_twin(design):
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
        )
