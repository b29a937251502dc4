"""PSIS-LOO of training matches under decay weights."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from engine.model.evaluation import (
    LooWarning,
    in_sample_metrics,
    pareto_k_threshold,
    pointwise_loo,
)


def normal_fit(weight: np.ndarray, seed: int = 0) -> az.InferenceData:
    """Posterior draws of a normal mean and each observation's log-likelihood.

    The draws come from the exact posterior of ``y_i ~ N(mu, 1)`` with a flat
    prior and likelihood weights ``weight``: ``N(sum(w y) / sum(w), 1 / sum(w))``.
    """
    rng = np.random.default_rng(seed)
    y = rng.normal(0.5, 1.0, weight.size)
    mean, sd = np.sum(weight * y) / weight.sum(), 1 / np.sqrt(weight.sum())
    mu = rng.normal(mean, sd, (4, 500))
    log_lik = -0.5 * (y - mu[..., None]) ** 2 - 0.5 * np.log(2 * np.pi)
    return az.from_dict(
        posterior={"mu": mu},
        log_likelihood={"score": log_lik},
        constant_data={"weight": weight},
        dims={"score": ["match"], "weight": ["match"]},
    )


def test_unit_weights_agree_with_arviz_loo():
    idata = normal_fit(np.ones(40))
    ours = in_sample_metrics(idata)
    reference = az.loo(idata, var_name="score")
    assert ours.matches == 40
    assert ours.elpd_loo == pytest.approx(reference.elpd_loo, rel=1e-9)
    assert ours.elpd_loo_se == pytest.approx(reference.se, rel=1e-9)
    assert ours.p_loo == pytest.approx(reference.p_loo, rel=1e-9)
    assert ours.pareto_k_max == pytest.approx(float(reference.pareto_k.max()))
    assert ours.log_score_loo == pytest.approx(ours.elpd_loo / 40)
    assert ours.log_score_loo < ours.log_score
    assert ours.to_dict()["caveats"] == []


def test_a_match_of_weight_zero_is_already_left_out():
    weight = np.linspace(0.2, 1.0, 30)
    weight[7] = 0.0
    loo, in_sample, pareto_k = pointwise_loo(normal_fit(weight, seed=3))
    assert loo[7] == in_sample[7] and pareto_k[7] == 0.0
    others = np.arange(30) != 7
    assert np.all(loo[others] < in_sample[others])


def test_lighter_weights_leave_less_to_remove():
    """Leaving out a match that counted for less changes the posterior less."""
    full = in_sample_metrics(normal_fit(np.ones(40), seed=4))
    light = in_sample_metrics(normal_fit(np.full(40, 0.25), seed=4))
    assert 0 < light.p_loo < full.p_loo


def test_a_posterior_that_leans_on_one_match_warns_and_says_so():
    rng = np.random.default_rng(5)
    log_lik = rng.normal(-1.0, 0.1, (4, 250, 10))
    log_lik[..., 0] = rng.standard_cauchy((4, 250)) * 40.0 - 60.0
    idata = az.from_dict(
        posterior={"mu": rng.normal(size=(4, 250))},
        log_likelihood={"score": log_lik},
        constant_data={"weight": np.ones(10)},
        dims={"score": ["match"], "weight": ["match"]},
    )
    with pytest.warns(LooWarning, match="unreliable for 1 of 10 matches"):
        metrics = in_sample_metrics(idata)
    assert metrics.pareto_k_high == 1
    assert metrics.pareto_k_max > pareto_k_threshold(1000)
    assert "compare models on out-of-sample scores" in metrics.caveats[0]


def test_threshold_follows_the_number_of_draws():
    assert pareto_k_threshold(100) == pytest.approx(0.5)
    assert pareto_k_threshold(10_000) == pytest.approx(0.7)


def test_inference_data_without_match_scores_is_refused():
    idata = az.from_dict(posterior={"mu": np.zeros((2, 10))})
    with pytest.raises(ValueError, match=r"needs log_likelihood\.score per match"):
        in_sample_metrics(idata)
