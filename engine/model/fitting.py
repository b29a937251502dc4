"""Fit a team-strength model to a design: the engine's entry point for a fit."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import arviz as az
from jax import random

from engine.config import SEED_MAX
from engine.model import models
from engine.model.arrays import Design, ModelData
from engine.model.inference import Progress, SamplerSettings, WarmStart, run
from engine.model.posterior import (
    ConvergenceWarning,
    Diagnostics,
    build_inference_data,
    diagnose,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fit:
    """One fitted model: its posterior, diagnostics and how long it took.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior, log-likelihood, posterior predictive, sample statistics,
        observed and constant data; settings in ``idata.attrs``.
    diagnostics : Diagnostics
        Convergence summary, with a caveat per failed check.
    model : str
        Registered model name, e.g. ``"dixon_coles"`` or ``"poisson_dynamic"``.
    warm_start : WarmStart or None
        Final NUTS state, to start a refit of the same bucket from.
    compiled : bool
        Whether this fit compiled its sampler.
    compile_seconds, run_seconds : float
        Wall time compiling and sampling.
    """

    idata: az.InferenceData
    diagnostics: Diagnostics
    model: str
    warm_start: WarmStart | None = None
    compiled: bool = False
    compile_seconds: float = 0.0
    run_seconds: float = 0.0

    @classmethod
    def from_idata(cls, idata: az.InferenceData) -> Fit:
        """Rebuild a fit from its stored InferenceData (e.g. read from netCDF)."""
        return cls(idata=idata, diagnostics=diagnose(idata), model=idata.attrs["model"])


def fit(
    design: Design,
    *,
    model: str = "poisson",
    dynamic: bool = False,
    method: str = "nuts",
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    seed: int = 0,
    chain_method: str = "parallel",
    target_accept_prob: float = 0.8,
    max_tree_depth: int = 10,
    svi_steps: int = 4000,
    warm_start: WarmStart | None = None,
    progress: Progress | None = None,
) -> Fit:
    """Fit a model to the arrays of a design.

    Parameters
    ----------
    design : Design
        From `engine.model.arrays.design`.
    model : str
        ``"poisson"`` or ``"dixon_coles"``, optionally with ``"_dynamic"``.
    dynamic : bool
        Let attack and defence move between seasons (same as the suffix).
    method : {"nuts", "svi"}
        NUTS, or SVI (mean-field normal guide) as a fast approximation.
    num_warmup, num_samples, num_chains : int
        As in NumPyro.
    seed : int
        Source of the fit's rng_key; same data and seed give the same draws.
    chain_method : {"vectorized", "sequential", "parallel"}
        How chains run; see `SamplerSettings`.
    target_accept_prob, max_tree_depth : float, int
        NUTS settings.
    svi_steps : int
        Optimisation steps for SVI.
    warm_start : WarmStart, optional
        A previous fit's ``warm_start``, to start from where it ended.
    progress : callable, optional
        ``progress(phase, done, total)``, called around compilation and as the
        sampler steps (see `engine.model.inference.run`); draws are the same
        with or without it.

    Returns
    -------
    Fit

    Warns
    -----
    ConvergenceWarning
        When a diagnostic misses its threshold; the same sentences are kept in
        ``fit.diagnostics.caveats``.
    """
    name = models.model_name(model, dynamic)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= SEED_MAX:
        raise ValueError(
            f"seed must be a non-negative integer below 2**32, got {seed!r}; "
            "JAX keys keep 32 bits, so larger seeds would repeat smaller ones"
        )
    settings = SamplerSettings(
        method=method,
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        chain_method=chain_method,
        target_accept_prob=target_accept_prob,
        max_tree_depth=max_tree_depth,
        svi_steps=svi_steps,
    )
    data = model_arrays(design, name)
    draws = run(
        name,
        data,
        random.key(seed),
        settings,
        warm_start=warm_start,
        progress=progress,
    )

    idata = build_inference_data(draws, design, model_name=name, seed=seed)
    diagnostics = diagnose(idata)
    if diagnostics.caveats:
        warnings.warn(
            ConvergenceWarning(f"{name}: " + "; ".join(diagnostics.caveats)),
            stacklevel=2,
        )
    return Fit(
        idata=idata,
        diagnostics=diagnostics,
        model=name,
        warm_start=draws.warm_start,
        compiled=draws.compiled,
        compile_seconds=draws.compile_seconds,
        run_seconds=draws.run_seconds,
    )


def model_arrays(design: Design, model_name: str) -> ModelData:
    """Return the arrays a model reads; static models drop the season axis.

    A static model does not use seasons, so its compiled sampler must not
    depend on how many seasons the window spans.
    """
    if models.is_dynamic(model_name):
        return design.data
    return design.data._replace(season_mask=design.data.season_mask[:1])
