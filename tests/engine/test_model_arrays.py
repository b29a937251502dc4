"""Design arrays, buckets and the models' pure functions (no sampling)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import jax
import jax.numpy as jnp
import numpy as np
import polars as pl
import pytest
from scipy import stats
from simulated import match_frame

from engine.model import arrays, models
from engine.model.arrays import ModelInputError, bucket_size, design


def _matches(rows: list[tuple[str, int, date, str, str, int, int]]) -> pl.DataFrame:
    return match_frame(rows)


@pytest.fixture
def two_seasons() -> pl.DataFrame:
    """E0 with A, B, C in 2021 and A, B, D in 2022 (D promoted); one D1 match."""
    start = date(2021, 8, 14)
    rows = [
        ("E0", 2021, start, "A", "B", 2, 1),
        ("E0", 2021, start + timedelta(days=7), "B", "C", 0, 0),
        ("E0", 2021, start + timedelta(days=14), "C", "A", 1, 3),
        ("E0", 2022, date(2022, 8, 13), "A", "D", 1, 1),
        ("E0", 2022, date(2022, 8, 20), "D", "B", 2, 0),
        ("D1", 2022, date(2022, 8, 20), "X", "Y", 4, 2),
    ]
    return _matches(rows)


def test_bucket_ladder_grows_by_at_most_half() -> None:
    assert [bucket_size(n, 64) for n in (1, 64, 65, 96, 97, 380, 760)] == [
        64,
        64,
        96,
        96,
        128,
        384,
        768,
    ]
    for n in range(1, 5000, 37):
        size = bucket_size(n, 64)
        assert size >= n
        assert size <= max(64, 1.5 * n)


def test_design_pads_and_masks(two_seasons: pl.DataFrame) -> None:
    d = design(two_seasons, cutoff=date(2023, 6, 1), leagues=["E0"])

    assert d.teams == ("A", "B", "C", "D")
    assert d.leagues == ("E0",)
    assert d.seasons == (2021, 2022)
    assert d.num_matches == 5
    assert d.bucket == arrays.Bucket(64, 8, 1, 2)
    assert d.data.match_mask.sum() == 5
    assert not d.data.match_mask[5:].any()
    assert d.data.team_mask.tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert d.data.home_goals[:5].tolist() == [2, 0, 1, 1, 2]
    assert d.data.season[:5].tolist() == [0, 0, 0, 1, 1]
    assert (d.data.weight == 1.0).all()


def test_new_team_flags_promoted_sides_only(two_seasons: pl.DataFrame) -> None:
    d = design(two_seasons, cutoff=date(2023, 6, 1))

    new = dict(zip(d.teams, d.data.team_new[: len(d.teams)], strict=True))
    assert new == {"A": 0, "B": 0, "C": 0, "D": 1, "X": 0, "Y": 0}
    league_of = dict(zip(d.teams, d.data.team_league[: len(d.teams)], strict=True))
    assert d.leagues[league_of["X"]] == "D1"
    assert d.leagues[league_of["A"]] == "E0"


def test_decay_weights_halve_every_half_life(two_seasons: pl.DataFrame) -> None:
    cutoff = date(2022, 8, 27)
    d = design(two_seasons, cutoff=cutoff, decay_half_life_days=7.0)

    days = np.array([(cutoff - k).days for k in d.kickoffs])
    expected = np.exp(-math.log(2) / 7.0 * days)
    np.testing.assert_allclose(d.data.weight[: d.num_matches], expected, rtol=1e-6)
    assert d.decay_rate == pytest.approx(math.log(2) / 7.0)
    assert d.data.weight[d.num_matches - 1] == pytest.approx(0.5)


def test_selection_by_cutoff_window_and_season(two_seasons: pl.DataFrame) -> None:
    before = design(two_seasons, cutoff=date(2022, 8, 20))
    assert before.num_matches == 4
    assert all(k < date(2022, 8, 20) for k in before.kickoffs)

    window = design(two_seasons, cutoff=date(2022, 8, 21), window_days=30)
    assert window.num_matches == 3
    only = design(two_seasons, cutoff=date(2023, 1, 1), seasons=[2021])
    assert only.seasons == (2021,)


def test_design_ignores_row_order(two_seasons: pl.DataFrame) -> None:
    a = design(two_seasons, cutoff=date(2023, 6, 1))
    b = design(two_seasons.reverse(), cutoff=date(2023, 6, 1))

    for x, y in zip(a.data, b.data, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.match_ids == b.match_ids


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop("home_goals"), "lacks columns"),
        (
            lambda f: f.with_columns(home_goals=pl.lit(None, pl.Int32)),
            "missing values",
        ),
        (lambda f: f.with_columns(away_goals=pl.lit(-1, pl.Int32)), "non-negative"),
        (lambda f: f.with_columns(away_team=pl.col("home_team")), "play itself"),
        (lambda f: pl.concat([f, f.head(1)]), "unique"),
        (lambda f: f.with_columns(pl.col("kickoff").cast(pl.String)), "type Date"),
    ],
)
def test_bad_frames_get_one_line_errors(
    two_seasons: pl.DataFrame, change: object, message: str
) -> None:
    with pytest.raises(ModelInputError, match=message) as info:
        design(change(two_seasons), cutoff=date(2023, 6, 1))
    assert "\n" not in str(info.value)


def test_bad_arguments_and_empty_selection(two_seasons: pl.DataFrame) -> None:
    with pytest.raises(ModelInputError, match="decay_half_life_days"):
        design(two_seasons, cutoff=date(2023, 6, 1), decay_half_life_days=0.0)
    with pytest.raises(ModelInputError, match="window_days"):
        design(two_seasons, cutoff=date(2023, 6, 1), window_days=-3)
    with pytest.raises(ModelInputError, match="no matches left"):
        design(two_seasons, cutoff=date(2000, 1, 1))
    with pytest.raises(ModelInputError, match=r"league 'SP1'.*present: D1, E0"):
        design(two_seasons, cutoff=date(2023, 6, 1), leagues=["E0", "SP1", "D1"])
    with pytest.raises(ModelInputError, match="cutoff"):
        design(two_seasons, cutoff="2023-06-01")  # type: ignore[arg-type]


def test_tau_matches_dixon_coles_definition() -> None:
    lam, mu, rho = 1.4, 1.1, -0.12
    expected = {
        (0, 0): 1 - lam * mu * rho,
        (0, 1): 1 + lam * rho,
        (1, 0): 1 + mu * rho,
        (1, 1): 1 - rho,
        (2, 1): 1.0,
        (0, 3): 1.0,
    }
    for (x, y), tau in expected.items():
        got = models.dixon_coles_log_tau(
            jnp.array(x), jnp.array(y), jnp.array(lam), jnp.array(mu), jnp.array(rho)
        )
        assert float(jnp.exp(got)) == pytest.approx(tau, rel=1e-6)


def test_rho_bounds_keep_every_tau_non_negative() -> None:
    rng = np.random.default_rng(3)
    lam, mu = rng.uniform(0.05, 5.0, 500), rng.uniform(0.05, 5.0, 500)
    lower, upper = np.asarray(
        models.rho_bounds(np.maximum(lam, mu).max(), (lam * mu).max())
    )
    for rho in (lower, upper, 0.5 * (lower + upper)):
        taus = np.stack(
            [1 - lam * mu * rho, 1 + lam * rho, 1 + mu * rho, 1 - rho + 0 * lam]
        )
        assert taus.min() >= -1e-6
    # Just outside the bound some tau is negative: the bound is tight.
    for rho in (lower - 1e-3, upper + 1e-3):
        taus = np.stack(
            [1 - lam * mu * rho, 1 + lam * rho, 1 + mu * rho, 1 - rho + 0 * lam]
        )
        assert taus.min() < 0


def _dixon_coles_pmf(lam: float, mu: float, rho: float, top: int) -> np.ndarray:
    grid = np.outer(
        stats.poisson.pmf(np.arange(top), lam), stats.poisson.pmf(np.arange(top), mu)
    )
    grid[0, 0] *= 1 - lam * mu * rho
    grid[0, 1] *= 1 + lam * rho
    grid[1, 0] *= 1 + mu * rho
    grid[1, 1] *= 1 - rho
    return grid


def test_score_log_likelihood_is_a_normalised_distribution() -> None:
    lam, mu, rho = 1.7, 0.9, -0.15
    x, y = np.meshgrid(np.arange(30), np.arange(30), indexing="ij")
    log_p = models.score_log_likelihood(
        jnp.asarray(x),
        jnp.asarray(y),
        jnp.float32(lam),
        jnp.float32(mu),
        jnp.float32(rho),
    )
    np.testing.assert_allclose(
        np.exp(log_p), _dixon_coles_pmf(lam, mu, rho, 30), rtol=1e-4, atol=1e-9
    )
    assert float(jnp.exp(log_p).sum()) == pytest.approx(1.0, abs=1e-5)


def test_simulated_scores_follow_dixon_coles() -> None:
    lam, mu, rho, n = 1.3, 1.0, -0.2, 200_000
    home, away = models.simulate_scores(
        jax.random.key(5), jnp.full(n, lam), jnp.full(n, mu), jnp.float32(rho)
    )
    counts = np.zeros((4, 4))
    np.add.at(counts, (np.minimum(home, 3), np.minimum(away, 3)), 1)
    pmf = _dixon_coles_pmf(lam, mu, rho, 60)
    expected = np.zeros((4, 4))
    for i in range(60):
        for j in range(60):
            expected[min(i, 3), min(j, 3)] += pmf[i, j]
    chi2 = ((counts - n * expected) ** 2 / (n * expected)).sum()
    assert chi2 < stats.chi2.ppf(0.999, df=15)


@pytest.mark.parametrize("name", ["poisson", "dixon_coles", "poisson_dynamic"])
def test_decay_weights_scale_each_matchs_log_likelihood(
    two_seasons: pl.DataFrame, name: str
) -> None:
    """Down-weighting matches lowers the log density by (1 - w) * their score."""
    from numpyro import handlers
    from numpyro.infer.util import log_density

    from engine.model.fitting import model_arrays

    flat = model_arrays(design(two_seasons, cutoff=date(2024, 6, 1)), name)
    decayed = model_arrays(
        design(two_seasons, cutoff=date(2024, 6, 1), decay_half_life_days=90.0),
        name,
    )
    assert float(decayed.weight[decayed.match_mask].min()) < 0.5
    model = models.MODELS[name]
    trace = handlers.trace(handlers.seed(model, 3)).get_trace(flat)
    params = {
        site: value["value"]
        for site, value in trace.items()
        if value["type"] == "sample" and not value["is_observed"]
    }
    full, _ = log_density(model, (flat,), {}, params)
    weighted, _ = log_density(model, (decayed,), {}, params)

    sites = handlers.trace(handlers.substitute(model, params)).get_trace(flat)
    home_rate = sites["home_goals"]["fn"].base_dist.rate
    away_rate = sites["away_goals"]["fn"].base_dist.rate
    rho = sites["rho"]["value"] if "rho" in sites else None
    score = models.score_log_likelihood(
        flat.home_goals, flat.away_goals, home_rate, away_rate, rho
    )
    expected = jnp.sum(jnp.where(flat.match_mask, (1 - decayed.weight) * score, 0.0))
    np.testing.assert_allclose(float(full - weighted), float(expected), rtol=1e-4)


def test_squashed_rho_stays_in_its_bound_and_is_identity_near_zero() -> None:
    value = jnp.linspace(-3.0, 3.0, 601)
    rho = models.squash_rho(value, jnp.float32(-0.4), jnp.float32(0.25))
    assert float(rho.min()) >= -0.4 and float(rho.max()) <= 0.25
    assert bool(jnp.all(jnp.diff(rho) >= -1e-6))  # float32 rounding where flat
    small = jnp.abs(value) <= 0.02
    np.testing.assert_allclose(rho[small], value[small], atol=1e-4)
    slope = jax.grad(lambda v: models.squash_rho(v, -0.4, 0.25))
    assert float(slope(0.0)) == pytest.approx(1.0)
    assert float(slope(-1e-6)) == pytest.approx(1.0, abs=1e-4)
