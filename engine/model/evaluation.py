"""How well a fit predicts its own training matches, left out one at a time.

PSIS-LOO (Vehtari, Gelman & Gabry 2017; Pareto smoothing as in Vehtari et al.
2024) estimates the expected log predictive density of each training match as
if it had been left out of the fit, from the posterior draws alone. Here the
likelihood of match ``i`` enters the posterior raised to its decay weight
``w_i``, so leaving it out divides each draw by ``p(y_i | theta) ** w_i``: the
raw importance log-ratios are ``-w_i * log p(y_i | theta)``, which reduce to
the usual ones when every weight is 1.

The figures compare models fitted to the same training rows; out-of-sample
scores on later matches are the business of walk-forward validation.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import arviz as az
import numpy as np
from scipy.special import logsumexp

PARETO_K_MAX = 0.7
"""Pareto k above which an importance-sampling estimate is unreliable."""


def pareto_k_threshold(num_draws: int) -> float:
    """Return the Pareto k above which an estimate from ``num_draws`` is unreliable.

    ``min(1 - 1 / log10(S), 0.7)`` for S draws (Vehtari et al. 2024, sec. 3),
    the rule ArviZ applies.
    """
    return min(1.0 - 1.0 / np.log10(num_draws), PARETO_K_MAX)


class LooWarning(UserWarning):
    """PSIS-LOO estimates that are unreliable for some matches."""


@dataclass(frozen=True)
class InSampleMetrics:
    """Leave-one-out and in-sample log scores of a fit's training matches.

    Attributes
    ----------
    matches : int
        Training matches scored.
    elpd_loo : float
        Sum over matches of the PSIS-LOO log predictive density of the exact
        score; higher is better.
    elpd_loo_se : float
        Its standard error.
    p_loo : float
        Effective number of parameters: in-sample minus leave-one-out density.
    log_score_loo, log_score : float
        Mean per match of the leave-one-out and the in-sample log density.
    pareto_k_max : float
        Largest Pareto shape estimate over matches.
    pareto_k_high : int
        Matches whose Pareto k exceeds `pareto_k_threshold` of the draws.
    caveats : tuple of str
        One sentence when some estimates are unreliable; empty otherwise.
    """

    matches: int
    elpd_loo: float
    elpd_loo_se: float
    p_loo: float
    log_score_loo: float
    log_score: float
    pareto_k_max: float
    pareto_k_high: int
    caveats: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready values (caveats as a list)."""
        out = asdict(self)
        out["caveats"] = list(self.caveats)
        return out


def pointwise_loo(
    idata: az.InferenceData,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each training match's leave-one-out and in-sample log density.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit's InferenceData, with ``log_likelihood.score`` and the decay
        ``weight`` of each match in ``constant_data``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(loo, in_sample, pareto_k)``, each of shape ``(match,)``. A match of
        weight 0 never informed the posterior: its leave-one-out density is
        its in-sample one, with nothing to smooth (k = 0).
    """
    if "log_likelihood" not in idata.groups() or "score" not in idata.log_likelihood:
        raise ValueError(
            "in_sample_metrics needs log_likelihood.score per match, got groups "
            f"{list(idata.groups())}; pass the InferenceData of a Touchline fit"
        )
    score = idata.log_likelihood["score"]
    log_lik = score.stack(__sample__=("chain", "draw")).transpose("match", ...).values
    log_lik = log_lik.astype(np.float64)
    weight = np.asarray(idata.constant_data["weight"].values, dtype=np.float64)
    in_sample = logsumexp(log_lik, axis=1) - np.log(log_lik.shape[1])

    loo, pareto_k = in_sample.copy(), np.zeros_like(in_sample)
    informed = weight > 0
    if informed.any():
        ratios = -weight[informed, None] * log_lik[informed]
        log_weights, pareto_k[informed] = az.psislw(
            ratios, reff=_relative_efficiency(idata)
        )
        loo[informed] = logsumexp(log_lik[informed] + log_weights, axis=1)
    return loo, in_sample, pareto_k


def in_sample_metrics(idata: az.InferenceData) -> InSampleMetrics:
    """Return PSIS-LOO and in-sample log scores of a fit's training matches.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit's InferenceData (see `pointwise_loo`).

    Returns
    -------
    InSampleMetrics

    Warns
    -----
    LooWarning
        When some matches have a Pareto k above `pareto_k_threshold`.
    """
    loo, in_sample, pareto_k = pointwise_loo(idata)
    num_draws = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    threshold = pareto_k_threshold(num_draws)
    high = int(np.sum(pareto_k > threshold))
    caveats = ()
    if high:
        caveats = (
            f"PSIS-LOO is unreliable for {high} of {loo.size} matches (Pareto k "
            f"above {threshold:.2f}): compare models on out-of-sample scores",
        )
        warnings.warn(LooWarning(caveats[0]), stacklevel=2)
    return InSampleMetrics(
        matches=int(loo.size),
        elpd_loo=float(loo.sum()),
        elpd_loo_se=float(np.sqrt(loo.size * np.var(loo))),
        p_loo=float(np.sum(in_sample - loo)),
        log_score_loo=float(loo.mean()),
        log_score=float(in_sample.mean()),
        pareto_k_max=float(np.max(pareto_k)),
        pareto_k_high=high,
        caveats=caveats,
    )


def _relative_efficiency(idata: az.InferenceData) -> float:
    """Mean ESS per draw of the posterior variables, as ArviZ's ``loo`` takes it.

    One chain (SVI draws, which are independent) counts as fully efficient.
    """
    posterior = idata.posterior
    num_chains, num_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    if num_chains == 1:
        return 1.0
    ess = az.ess(posterior, method="mean")
    values = np.concatenate([np.ravel(v.values) for v in ess.data_vars.values()])
    return float(np.nanmean(values) / (num_chains * num_draws))
