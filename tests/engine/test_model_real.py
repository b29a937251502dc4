"""The Poisson model on a real Premier League season, and its PyMC twin."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import polars as pl
import pytest
from scipy import stats

from engine.football_data import combine, read_paths
from engine.model import ConvergenceWarning, Design, Fit, design, fit
from engine.standings import league_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def e0_2022(shared_data: Path) -> pl.DataFrame:
    batch = combine(read_paths([shared_data / "mmz4281" / "2223" / "E0.csv"]))
    return batch.matches


@pytest.fixture(scope="module")
def e0_design(e0_2022: pl.DataFrame) -> Design:
    return design(e0_2022, cutoff=date(2023, 6, 1), seasons=[2022])


@pytest.fixture(scope="module")
def e0_fit(e0_design: Design) -> Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(
            e0_design,
            model="poisson",
            num_warmup=300,
            num_samples=300,
            num_chains=2,
            chain_method="sequential",
            seed=2022,
        )


def _points(matches: pl.DataFrame) -> dict[str, int]:
    table = league_table(matches)
    return dict(zip(table["team"], table["points"], strict=True))


def test_strengths_rank_the_final_table(e0_2022: pl.DataFrame, e0_fit: Fit) -> None:
    post = e0_fit.idata.posterior
    # Defence is subtracted from the opponent's log rate: higher is better.
    strength = (post.attack + post.defence).mean(("chain", "draw"))
    points = _points(e0_2022)
    teams = list(post.team.values)
    assert len(teams) == 20
    rho = stats.spearmanr(strength.values, [points[t] for t in teams]).statistic
    assert rho > 0.7, f"Spearman rank correlation with points {rho:.2f}"
    assert e0_fit.diagnostics.divergences == 0
    assert e0_fit.diagnostics.max_rhat < 1.05


def test_pymc_twin_gives_the_same_posterior(e0_design: Design, e0_fit: Fit) -> None:
    from engine.model.pymc_twin import sample_twin

    twin = sample_twin(e0_design, draws=500, tune=500, chains=2, seed=5)
    names = ["intercept", "home_advantage", "attack_sd", "defence_sd"]
    for name in [*names, "attack", "defence"]:
        ours, theirs = e0_fit.idata.posterior[name], twin.posterior[name]
        error = np.hypot(_mcse(ours), _mcse(theirs))
        gap = np.abs(_mean(ours) - _mean(theirs))
        assert (gap < 4 * error).all(), f"{name}: means differ by {gap.max():.4f}"
        ratio = _sd(ours) / _sd(theirs)
        assert ((ratio > 0.75) & (ratio < 1.33)).all(), f"{name}: sd ratios {ratio}"


def _mean(values: Any) -> np.ndarray:
    return np.ravel(values.mean(("chain", "draw")).values)


def _sd(values: Any) -> np.ndarray:
    return np.ravel(values.std(("chain", "draw")).values)


def _mcse(values: Any) -> np.ndarray:
    return np.ravel(az.mcse(values.to_dataset())[values.name].values)
