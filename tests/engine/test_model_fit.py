"""Fits on simulated data: recovery, compilation, determinism and artefacts.

Every fit here shares one array bucket (20 teams, two seasons: 760 matches) and
tiny sampler settings, so each distinct sampler compiles once for the module.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import jax
import numpy as np
import polars as pl
import pytest
import xarray as xr
from simulated import (
    CUTOFF,
    SETTINGS,
    TEAMS,
    TRUTH,
    interval,
    quiet_fit,
    simulate,
    simulate_leagues,
)

from engine.model import (
    ConvergenceWarning,
    Fit,
    SamplerSettings,
    compile_count,
    design,
    diagnose,
    fit,
    fixture_rates,
    from_netcdf_bytes,
    to_netcdf_bytes,
)


def test_known_strengths_are_recovered(
    simulated: tuple[pl.DataFrame, dict[str, np.ndarray]],
    poisson_fit: tuple[Fit, int],
) -> None:
    _, truth = simulated
    post = poisson_fit[0].idata.posterior
    covered = []
    for name in ("attack", "defence"):
        low, high = interval(post[name].sel(team=TEAMS), 0.9)
        covered.extend((low <= truth[name]) & (truth[name] <= high))
    assert np.mean(covered) >= 0.75, f"90% intervals cover {np.mean(covered):.0%}"

    for name in ("intercept", "home_advantage"):
        draws = post[name].sel(league="E0")
        assert abs(float(draws.mean()) - TRUTH[name]) < 4 * float(draws.std())
    estimate = post["attack"].mean(("chain", "draw")).sel(team=TEAMS).values
    assert np.corrcoef(estimate, truth["attack"])[0, 1] > 0.9


def test_interval_coverage_over_several_seeds(sim_design: Any) -> None:
    """90 % intervals of attack and defence cover the truth about 90 % of the time.

    Pooled over four simulated data sets (160 team parameters), the coverage
    of a calibrated posterior lies in [0.82, 0.96] with probability above 0.99;
    too narrow and too wide intervals both fail.
    """
    covered = []
    for seed in (31, 32, 33, 34):
        frame, truth = simulate(seed)
        d = design(frame, cutoff=CUTOFF)
        assert d.bucket == sim_design.bucket
        post = quiet_fit(d, model="poisson", seed=seed).idata.posterior
        for name in ("attack", "defence"):
            low, high = interval(post[name].sel(team=TEAMS), 0.9)
            covered.extend((low <= truth[name]) & (truth[name] <= high))
    assert 0.82 <= np.mean(covered) <= 0.96, f"coverage {np.mean(covered):.1%}"


def test_progress_reports_every_stretch_and_changes_no_draw(
    sim_design: Any, poisson_fit: tuple[Fit, int]
) -> None:
    calls: list[tuple[str, int, int]] = []
    watched = quiet_fit(
        sim_design,
        model="poisson",
        seed=7,
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )
    total = SETTINGS["num_chains"] * (SETTINGS["num_warmup"] + SETTINGS["num_samples"])
    sampled = [done for phase, done, t in calls if phase == "sample" and t == total]
    assert len(sampled) == len(calls) > 2
    assert sampled[0] == 0 and sampled[-1] == total
    assert sampled == sorted(set(sampled))
    for group in ("posterior", "posterior_predictive", "sample_stats"):
        for name, values in poisson_fit[0].idata[group].data_vars.items():
            np.testing.assert_array_equal(values.values, watched.idata[group][name])


def test_refit_on_new_data_of_the_same_bucket_does_not_recompile(
    simulated: tuple[pl.DataFrame, Any], sim_design: Any, poisson_fit: tuple[Fit, int]
) -> None:
    first, compilations = poisson_fit
    assert compilations == (1 if first.compiled else 0)

    fewer = design(simulated[0].slice(0, 740), cutoff=CUTOFF)
    other, _ = simulate(12)
    for new in (fewer, design(other, cutoff=CUTOFF)):
        assert new.bucket == sim_design.bucket
        before = compile_count()
        refit = quiet_fit(new, model="poisson", seed=1)
        assert compile_count() == before
        assert not refit.compiled
        assert refit.idata.posterior.sizes["draw"] == SETTINGS["num_samples"]
    assert refit.idata.posterior.sizes["team"] == 20


def test_same_data_and_seed_give_identical_draws(
    sim_design: Any, poisson_fit: tuple[Fit, int]
) -> None:
    first = poisson_fit[0].idata
    again = quiet_fit(sim_design, model="poisson", seed=7).idata
    for group in ("posterior", "log_likelihood", "posterior_predictive"):
        for name, values in first[group].data_vars.items():
            np.testing.assert_array_equal(values.values, again[group][name].values)

    other = quiet_fit(sim_design, model="poisson", seed=8).idata
    assert not np.array_equal(
        first.posterior.attack.values, other.posterior.attack.values
    )


def test_parallel_on_one_device_runs_sequentially_with_the_same_draws(
    sim_design: Any, poisson_fit: tuple[Fit, int]
) -> None:
    if jax.local_device_count() > 1:
        pytest.skip("this process has several JAX devices")
    before = compile_count()
    result = quiet_fit(sim_design, model="poisson", seed=7, chain_method="parallel")
    assert compile_count() == before
    assert result.idata.attrs["chain_method"] == "sequential"
    np.testing.assert_array_equal(
        result.idata.posterior.attack.values,
        poisson_fit[0].idata.posterior.attack.values,
    )


def test_inference_data_has_named_dims_without_padding(
    sim_design: Any, poisson_fit: tuple[Fit, int]
) -> None:
    idata = poisson_fit[0].idata
    for group in (
        "posterior",
        "log_likelihood",
        "posterior_predictive",
        "sample_stats",
        "observed_data",
        "constant_data",
    ):
        assert group in idata.groups()
    post = idata.posterior
    assert post.attack.dims == ("chain", "draw", "team")
    assert post.intercept.dims == ("chain", "draw", "league")
    assert list(post.team.values) == TEAMS
    assert idata.log_likelihood.score.dims == ("chain", "draw", "match")
    assert idata.log_likelihood.sizes["match"] == 760
    assert list(idata.observed_data.match.values) == list(sim_design.match_ids)
    assert np.isfinite(idata.log_likelihood.score.values).all()
    assert idata.posterior_predictive.home_goals.shape == (2, 200, 760)
    for name in ("diverging", "energy", "step_size", "tree_depth", "lp"):
        assert name in idata.sample_stats
    assert not any(name.endswith("_raw") for name in post.data_vars)

    for key, value in idata.attrs.items():
        assert isinstance(value, str | int | float | np.integer | np.floating), key
    assert idata.attrs["model"] == "poisson"
    assert idata.attrs["seed"] == 7
    assert idata.attrs["cutoff"] == "2024-06-01"
    assert idata.attrs["num_samples"] == 200


def test_log_likelihood_is_the_poisson_score_probability(
    poisson_fit: tuple[Fit, int],
) -> None:
    idata = poisson_fit[0].idata
    draw = idata.posterior.isel(chain=1, draw=17)
    data = idata.constant_data
    home_goals = idata.observed_data.home_goals.values
    away_goals = idata.observed_data.away_goals.values
    attack = draw.attack.sel(team=data.home_team).values
    defence_away = draw.defence.sel(team=data.away_team).values
    base = float(draw.intercept.sel(league="E0"))
    home = np.exp(
        base + float(draw.home_advantage.sel(league="E0")) + attack - defence_away
    )
    away = np.exp(
        base
        + draw.attack.sel(team=data.away_team).values
        - draw.defence.sel(team=data.home_team).values
    )
    from scipy import stats

    expected = stats.poisson.logpmf(home_goals, home) + stats.poisson.logpmf(
        away_goals, away
    )
    got = idata.log_likelihood.score.isel(chain=1, draw=17).values
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_inference_data_round_trips_through_netcdf_bytes(
    poisson_fit: tuple[Fit, int],
) -> None:
    idata = poisson_fit[0].idata
    back = from_netcdf_bytes(to_netcdf_bytes(idata))
    for group in idata.groups():
        xr.testing.assert_identical(idata[group].drop_attrs(), back[group].drop_attrs())
    assert dict(back.attrs) == dict(idata.attrs)
    restored = Fit.from_idata(back)
    assert restored.model == "poisson"
    assert restored.diagnostics == poisson_fit[0].diagnostics


def test_diagnostics_catch_a_stuck_chain_and_divergences(
    poisson_fit: tuple[Fit, int],
) -> None:
    idata = poisson_fit[0].idata.copy()
    attack = idata.posterior["attack"].values.copy()
    attack[1] += 0.5
    idata.posterior["attack"] = (("chain", "draw", "team"), attack)
    diverging = idata.sample_stats["diverging"].values.copy()
    diverging[0, :3] = True
    idata.sample_stats["diverging"] = (("chain", "draw"), diverging)

    summary = diagnose(idata)
    assert summary.max_rhat > 1.5
    assert summary.divergences == 3 + poisson_fit[0].diagnostics.divergences
    assert any("r-hat" in c for c in summary.caveats)
    assert any("divergent" in c for c in summary.caveats)
    assert not summary.converged
    json.dumps(summary.to_dict())


def test_a_struggling_sampler_warns_and_records_caveats(sim_design: Any) -> None:
    with pytest.warns(ConvergenceWarning, match="tree depth"):
        result = fit(sim_design, model="poisson", seed=2, max_tree_depth=1, **SETTINGS)
    assert result.diagnostics.tree_depth_hits > 0
    assert any("tree depth" in c for c in result.diagnostics.caveats)


def test_dixon_coles_tau_is_positive_for_every_posterior_rate(
    dixon_coles_fit: Fit,
) -> None:
    post = dixon_coles_fit.idata.posterior.stack(sample=("chain", "draw"))
    rho = post.rho.values
    base = post.intercept.sel(league="E0").values
    home_base = base + post.home_advantage.sel(league="E0").values
    attack, defence = post.attack.values, post.defence.values  # (team, sample)
    # Every home/away pairing of the league, which includes every training match.
    home_rate = np.exp(home_base + attack[:, None] - defence[None, :])
    away_rate = np.exp(base + attack[None, :] - defence[:, None])
    taus = [
        1 - home_rate * away_rate * rho,
        1 + home_rate * rho,
        1 + away_rate * rho,
        1 - rho + 0 * home_rate,
    ]
    assert min(float(t.min()) for t in taus) > 0
    assert np.isfinite(dixon_coles_fit.idata.log_likelihood.score.values).all()


def test_dynamic_strengths_move_by_season_and_step_forward(sim_design: Any) -> None:
    result = quiet_fit(sim_design, model="poisson", dynamic=True, seed=5)
    post = result.idata.posterior
    assert result.model == "poisson_dynamic"
    assert post.attack.dims == ("chain", "draw", "season", "team")
    assert list(post.season.values) == [2022, 2023]
    assert "attack_season_sd" in post

    fixtures = pl.DataFrame(
        {
            "league": ["E0", "E0"],
            "season": [2023, 2025],
            "kickoff": [date(2024, 5, 1), date(2025, 9, 1)],
            "home_team": ["Team A", "Team A"],
            "away_team": ["Team B", "Team B"],
        }
    )
    rates = fixture_rates(result, fixtures, rng_key=jax.random.key(2))
    assert np.isfinite(rates.home_rate).all()
    spread = np.log(rates.home_rate).std(axis=0)
    assert spread[1] > spread[0]


def test_svi_agrees_with_nuts(sim_design: Any, poisson_fit: tuple[Fit, int]) -> None:
    result = quiet_fit(sim_design, model="poisson", method="svi", svi_steps=1500)
    post = result.idata.posterior
    assert post.sizes["chain"] == 1
    assert post.sizes["draw"] == SETTINGS["num_chains"] * SETTINGS["num_samples"]
    assert "sample_stats" not in result.idata.groups()
    assert result.diagnostics.max_rhat is None
    assert result.idata.attrs["method"] == "svi"
    assert result.diagnostics.caveats == ()

    nuts = poisson_fit[0].idata.posterior
    for name in ("attack", "defence"):
        fast = post[name].mean(("chain", "draw")).values
        exact = nuts[name].mean(("chain", "draw")).values
        assert np.abs(fast - exact).max() < 0.1
    assert np.isfinite(result.idata.log_likelihood.score.values).all()


def test_warm_start_reuses_a_compiled_sampler(
    sim_design: Any, simulated: tuple[pl.DataFrame, Any], poisson_fit: tuple[Fit, int]
) -> None:
    previous = poisson_fit[0]
    assert previous.warm_start is not None
    first = quiet_fit(
        sim_design, model="poisson", seed=9, warm_start=previous.warm_start
    )
    before = compile_count()
    fewer = design(simulated[0].slice(0, 740), cutoff=CUTOFF)
    second = quiet_fit(fewer, model="poisson", seed=9, warm_start=first.warm_start)
    assert compile_count() == before and not second.compiled

    exact = previous.idata.posterior.attack.mean(("chain", "draw")).values
    warm = first.idata.posterior.attack.mean(("chain", "draw")).values
    assert np.abs(exact - warm).max() < 0.1
    assert first.diagnostics.divergences == 0


def test_leagues_pool_and_promoted_sides_start_lower() -> None:
    frame, truth = simulate_leagues(21)
    d = design(frame, cutoff=CUTOFF)
    assert d.leagues == ("L1", "L2")
    assert int(d.data.team_new.sum()) == 4
    result = quiet_fit(d, model="poisson", seed=4)
    post = result.idata.posterior

    for league, value in truth["intercept"].items():
        draws = post.intercept.sel(league=league)
        assert abs(float(draws.mean()) - value) < 4 * float(draws.std())
    gap = post.intercept.sel(league="L2") - post.intercept.sel(league="L1")
    assert float((gap > 0).mean()) > 0.95
    for name in ("new_team_attack", "new_team_defence"):
        draws = post[name]
        assert float(draws.mean()) < 0
        assert abs(float(draws.mean()) - truth["new_team"]) < 4 * float(draws.std())

    # Team deviations are centred within each league, draw by draw.
    constant = result.idata.constant_data
    new = constant.team_new.values.astype(bool)
    for league in ("L1", "L2"):
        in_league = constant.team_league.values == league
        attack = post.attack.values[..., in_league]
        offset = post.new_team_attack.values[..., None] * new[in_league]
        np.testing.assert_allclose((attack - offset).sum(-1), 0.0, atol=1e-4)
        assert (in_league & ~new).sum() == 10


def test_a_small_league_borrows_strength_from_a_large_one() -> None:
    """Pooled with a full league, a league of 30 matches is pinned down better.

    Its home advantage shrinks towards the shared mean, and the spread of team
    strengths (one scale for all leagues) is learned from both.
    """
    frame, _ = simulate_leagues(22)
    small = frame.filter(pl.col("league") == "L2", pl.col("season") == 2023)
    small = small.head(30)
    large = frame.filter(pl.col("league") == "L1")
    pooled = quiet_fit(design(pl.concat([large, small]), cutoff=CUTOFF), seed=6)
    alone = quiet_fit(design(small, cutoff=CUTOFF), seed=6)
    together, by_itself = pooled.idata.posterior, alone.idata.posterior
    home = [p.home_advantage.sel(league="L2").std() for p in (together, by_itself)]
    assert float(home[0]) < 0.9 * float(home[1])
    assert float(together.attack_sd.std()) < 0.6 * float(by_itself.attack_sd.std())


def test_bad_settings_are_refused_before_anything_compiles(sim_design: Any) -> None:
    before = compile_count()
    bad: list[tuple[dict[str, Any], str]] = [
        ({"model": "poison"}, "unknown model 'poison'"),
        ({"method": "laplace"}, "method must be one of"),
        ({"num_samples": 0}, "num_samples must be an integer of at least 1"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 2**32}, r"below 2\*\*32, got 4294967296; JAX keys keep 32 bits"),
        ({"max_tree_depth": 0}, "max_tree_depth must be an integer of at least 1"),
        ({"max_tree_depth": 16}, "max_tree_depth must be at most 15"),
        ({"chain_method": "threads"}, "chain_method must be one of"),
        ({"target_accept_prob": 1.0}, "target_accept_prob"),
    ]
    for options, message in bad:
        with pytest.raises(ValueError, match=message):
            fit(sim_design, **options)
    for rate in (0.0, float("nan"), "fast"):
        with pytest.raises(ValueError, match="svi_learning_rate must be a number"):
            SamplerSettings(svi_learning_rate=rate)
    assert compile_count() == before


def test_one_chain_says_its_convergence_is_unchecked(sim_design: Any) -> None:
    with pytest.warns(ConvergenceWarning, match="one chain: r-hat cannot compare"):
        result = fit(sim_design, **{**SETTINGS, "num_chains": 1}, seed=2)
    assert result.diagnostics.max_rhat is None
    assert json.loads(json.dumps(result.diagnostics.to_dict()))["max_rhat"] is None
