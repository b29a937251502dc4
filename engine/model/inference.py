"""Compiled posterior inference: NUTS by default, SVI as a fast mode.

``numpyro.infer.MCMC.run`` compiles its sampling loop again on every call, even
for arrays of the same shape. Here a fit (initialisation, warmup, sampling, and
the pointwise log-likelihood and posterior predictive of every match) is built
from NumPyro's kernel primitives as three functions of ``(rng_key, data)``
(see `engine.model.nuts`), compiled ahead of time once per model, array bucket
and sampler settings, and kept in a process-wide cache. A refit on new data of
the same bucket reuses them; `compile_count` says how many compilations
happened. The steps run in stretches, so a caller can show progress.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from jax import lax, random
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoNormal
from numpyro.infer.initialization import init_to_median

from engine.model import models, nuts
from engine.model.arrays import ModelData
from engine.model.nuts import ChainState

logger = logging.getLogger(__name__)

METHODS = ("nuts", "svi")
CHAIN_METHODS = ("vectorized", "sequential", "parallel")

_compilations = 0
_compiled: dict[tuple[Any, ...], Callable[..., Any]] = {}


@dataclass(frozen=True)
class SamplerSettings:
    """How a posterior is computed.

    Attributes
    ----------
    method : {"nuts", "svi"}
        NUTS, or SVI with a mean-field normal guide as a fast approximation.
        A Laplace approximation is not offered: around the joint mode of these
        non-centred hierarchical models its team-strength scales come out
        several times too large.
    num_warmup, num_samples, num_chains : int
        As in NumPyro. For SVI, ``num_chains * num_samples`` independent draws
        come from the fitted guide.
    chain_method : {"parallel", "sequential", "vectorized"}
        How chains run. "parallel" spreads them over JAX devices (on CPU, set
        ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before JAX is
        imported), one after another within a device; with one device it is
        "sequential". "vectorized" steps all chains together with `jax.vmap`.
    target_accept_prob : float
        NUTS step-size adaptation target.
    max_tree_depth : int
        NUTS trajectory limit, ``2**max_tree_depth - 1`` leapfrog steps.
    svi_steps : int
        Optimisation steps of SVI.
    svi_learning_rate : float
        Adam step size of SVI.
    """

    method: str = "nuts"
    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    chain_method: str = "parallel"
    target_accept_prob: float = 0.8
    max_tree_depth: int = 10
    svi_steps: int = 4000
    svi_learning_rate: float = 0.02

    def __post_init__(self) -> None:
        """Check every field; inputs are validated here, not in compiled code."""
        if self.method not in METHODS:
            raise ValueError(
                f"method must be one of {METHODS}, got {self.method!r}; "
                "use nuts, or svi for a fast approximation"
            )
        if self.chain_method not in CHAIN_METHODS:
            raise ValueError(
                f"chain_method must be one of {CHAIN_METHODS}, "
                f"got {self.chain_method!r}"
            )
        least = {"num_warmup": 0, "max_tree_depth": 1}
        for name in (
            "num_warmup",
            "num_samples",
            "num_chains",
            "svi_steps",
            "max_tree_depth",
        ):
            value, low = getattr(self, name), least.get(name, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(
                    f"{name} must be an integer of at least {low}, got {value!r}"
                )
        if self.max_tree_depth > 15:
            raise ValueError(
                f"max_tree_depth must be at most 15 (32,767 leapfrog steps), got "
                f"{self.max_tree_depth}; a deeper tree means the model needs work"
            )
        if not 0.0 < self.target_accept_prob < 1.0:
            raise ValueError(
                "target_accept_prob must lie strictly between 0 and 1, "
                f"got {self.target_accept_prob!r}; 0.8 is usual, 0.9-0.95 when "
                "there are divergences"
            )
        rate = self.svi_learning_rate
        if not (isinstance(rate, int | float) and 0.0 < rate < 1.0):
            raise ValueError(
                f"svi_learning_rate must be a number between 0 and 1, got {rate!r}; "
                "0.02 is usual"
            )


@dataclass(frozen=True)
class WarmStart:
    """Where a NUTS fit ended: a start for the next refit of the same bucket.

    Attributes
    ----------
    model_name : str
        The model it came from.
    shapes : tuple
        Shapes of the model arrays it came from.
    state : ChainState
        Positions, step sizes and mass matrices per chain.
    """

    model_name: str
    shapes: tuple[tuple[int, ...], ...]
    state: ChainState


@dataclass(frozen=True)
class Draws:
    """The raw output of one compiled fit, every array with (chain, draw) first.

    Attributes
    ----------
    samples : dict of str to numpy.ndarray
        Latent and deterministic sites, padded as the design.
    stats : dict of str to numpy.ndarray
        Sampler statistics per draw (NUTS only; empty for SVI).
    log_likelihood : numpy.ndarray
        Unweighted log p(home_goals, away_goals) per padded match.
    home_goals, away_goals : numpy.ndarray
        Posterior predictive scores per padded match.
    warm_start : WarmStart or None
        Final NUTS state per chain; None for SVI.
    losses : numpy.ndarray or None
        Negative ELBO per optimisation step (SVI).
    settings : SamplerSettings
        The settings as run (``chain_method`` after any fallback).
    compiled : bool
        Whether this fit compiled its sampler (False: cache hit).
    compile_seconds, run_seconds : float
        Wall time spent compiling and running.
    """

    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    log_likelihood: np.ndarray
    home_goals: np.ndarray
    away_goals: np.ndarray
    warm_start: WarmStart | None
    losses: np.ndarray | None
    settings: SamplerSettings
    compiled: bool
    compile_seconds: float
    run_seconds: float


def compile_count() -> int:
    """Return how many samplers this process has compiled (traced) so far."""
    return _compilations


def clear_compiled() -> None:
    """Forget every compiled sampler, so the next fit compiles again."""
    _compiled.clear()


def enable_compilation_cache(cache_dir: str | Path) -> None:
    """Keep JAX compilations on disk so that a fresh process reuses them.

    Off unless called. A new process then loads a compiled sampler from
    ``cache_dir`` instead of compiling it (tracing still happens and still
    counts in `compile_count`).

    Parameters
    ----------
    cache_dir : str or Path
        A folder; created if missing.
    """
    path = Path(cache_dir)
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``, phase ``"compile"`` or ``"sample"``."""

PROGRESS_STRETCHES = 20
"""Stretches the NUTS steps of a watched fit run in: how often it reports.

An unwatched fit runs its steps in one call. The split changes no draw: every
stretch is the same compiled loop over the same sequence of kernel calls.
"""


def run(
    model_name: str,
    data: ModelData,
    rng_key: jax.Array,
    settings: SamplerSettings,
    *,
    warm_start: WarmStart | None = None,
    progress: Progress | None = None,
) -> Draws:
    """Fit a model to padded arrays with a sampler compiled once per bucket.

    Parameters
    ----------
    model_name : str
        A key of `engine.model.models.MODELS`.
    data : ModelData
        Padded arrays; their shapes select the compiled sampler.
    rng_key : jax.Array
        The key every draw of the fit derives from.
    settings : SamplerSettings
        Sampler settings; part of the compilation key.
    warm_start : WarmStart, optional
        Start NUTS chains from a previous fit's final positions, step sizes and
        mass matrices. Ignored (with a log message) when its shapes do not match
        this model, bucket and number of chains, or for SVI.
    progress : callable, optional
        Called as ``progress("compile", 0, 1)`` and ``("compile", 1, 1)``
        around a compilation, then ``progress("sample", done, total)`` as the
        sampler steps (all chains' kernel calls, warmup included). It runs
        between compiled calls and never changes a draw.

    Returns
    -------
    Draws
        Samples, statistics, pointwise log-likelihood and predictive draws.
    """
    settings = _resolve_chain_method(settings)
    warm = _usable_warm_start(warm_start, model_name, data, settings)
    key = _cache_key(model_name, data, settings, warm is not None)
    report = progress or _silent
    if settings.method == "nuts":
        args = (random.split(rng_key, settings.num_chains), data, warm)
    else:
        args = (rng_key, data)

    compiled, compile_seconds = key not in _compiled, 0.0
    if compiled:
        report("compile", 0, 1)
        start = time.perf_counter()
        _compiled[key] = _compile(model_name, settings, args)
        compile_seconds = time.perf_counter() - start
        report("compile", 1, 1)
        logger.info("compiled %s for %s in %.1f s", model_name, key, compile_seconds)

    start = time.perf_counter()
    out = jax.block_until_ready(_compiled[key](*args, report=report))
    run_seconds = time.perf_counter() - start
    timing = (compiled, compile_seconds, run_seconds)
    return _to_draws(out, model_name, data, settings, timing)


def _silent(phase: str, done: int, total: int) -> None:
    """Progress sink of a fit nobody watches."""


def _devices_for(num_chains: int) -> int:
    """Return the most devices, up to one per chain, that split chains evenly."""
    available = min(jax.local_device_count(), num_chains)
    return max(n for n in range(1, available + 1) if num_chains % n == 0)


def _resolve_chain_method(settings: SamplerSettings) -> SamplerSettings:
    if settings.chain_method != "parallel" or settings.method != "nuts":
        return settings
    if _devices_for(settings.num_chains) > 1:
        return settings
    logger.info(
        "%d chains on one JAX device: running them sequentially; for parallel "
        "chains on CPU set XLA_FLAGS=--xla_force_host_platform_device_count=N "
        "before importing JAX",
        settings.num_chains,
    )
    return replace(settings, chain_method="sequential")


def _cache_key(
    model_name: str, data: ModelData, settings: SamplerSettings, warm: bool
) -> tuple[Any, ...]:
    shapes = tuple((x.shape, str(x.dtype)) for x in jax.tree.leaves(data))
    devices = _devices_for(settings.num_chains)
    return (model_name, shapes, settings, warm, devices)


def _compile(
    model_name: str, settings: SamplerSettings, args: tuple[Any, ...]
) -> Callable[..., Any]:
    global _compilations
    _compilations += 1
    model = models.MODELS[model_name]
    if settings.method == "nuts":
        return _NutsPipeline.compile(model, model_name, settings, *args)

    fit_fn = partial(_approximate_fit, model, model_name, settings)
    compiled = jax.jit(fit_fn).lower(*args).compile()

    def call(rng_key: jax.Array, data: ModelData, *, report: Progress) -> Any:
        report("sample", 0, 1)
        out = jax.block_until_ready(compiled(rng_key, data))
        report("sample", 1, 1)
        return out

    return call


@dataclass(frozen=True)
class _NutsPipeline:
    """The compiled stages of a NUTS fit and how chains map onto devices.

    Every stage is a function ``(chained, shared)`` of arrays with a leading
    chain axis and of arrays all chains share. With ``chain_method="parallel"``
    the chain axis is split into ``(device, chain)`` once at the start, kept so
    between stages, and merged at the end.
    """

    start: Callable[..., Any]
    steps: Callable[..., Any]
    finish: Callable[..., Any]
    devices: int
    total_steps: int

    @classmethod
    def compile(
        cls,
        model: Callable[..., None],
        model_name: str,
        settings: SamplerSettings,
        chain_keys: jax.Array,
        data: ModelData,
        warm: ChainState | None,
    ) -> _NutsPipeline:
        config = nuts.NutsConfig(
            settings.num_warmup,
            settings.num_samples,
            settings.target_accept_prob,
            settings.max_tree_depth,
        )
        score = partial(_pointwise, model_name)
        stages = (
            lambda c, shared: nuts.start(model, config, c[0], shared, c[1]),
            lambda c, shared: nuts.steps(model, config, c, *shared),
            lambda c, shared: nuts.finish(model, score, c[0], c[1], shared),
        )
        devices = (
            _devices_for(settings.num_chains)
            if settings.chain_method == "parallel"
            else 1
        )
        mapped = [_over_chains(s, settings.chain_method) for s in stages]
        split = partial(_split, devices)
        keys, warm = split(chain_keys), split(warm)
        step_bounds = (np.int32(0), np.int32(1))

        start = mapped[0].lower((keys, warm), data).compile()
        carry = jax.eval_shape(mapped[0], (keys, warm), data)
        steps = mapped[1].lower(carry, (data, *step_bounds)).compile()
        finish = mapped[2].lower((carry, keys), data).compile()
        total = settings.num_chains * (settings.num_warmup + settings.num_samples)
        return cls(start, steps, finish, devices, total)

    def __call__(
        self,
        chain_keys: jax.Array,
        data: ModelData,
        warm: ChainState | None,
        *,
        report: Progress,
    ) -> dict[str, Any]:
        keys = _split(self.devices, chain_keys)
        carry = self.start((keys, _split(self.devices, warm)), data)
        per_chain = self.total_steps // chain_keys.shape[0]
        report("sample", 0, self.total_steps)
        count = 1 if report is _silent else PROGRESS_STRETCHES
        for begin, end in _stretches(per_chain, count):
            carry = self.steps(carry, (data, np.int32(begin), np.int32(end)))
            jax.block_until_ready(carry)
            report("sample", end * chain_keys.shape[0], self.total_steps)
        return _merge(self.devices, self.finish((carry, keys), data))


def _over_chains(
    stage: Callable[[Any, Any], Any], chain_method: str
) -> Callable[[Any, Any], Any]:
    """Map a one-chain stage over the chain axis, as ``chain_method`` says.

    Chains on one device run one after another rather than vectorized: a
    vectorized NUTS step waits for the longest trajectory among its chains.
    """
    if chain_method == "vectorized":
        return jax.jit(jax.vmap(stage, in_axes=(0, None)))

    def one_after_another(chained: Any, shared: Any) -> Any:
        return lax.map(lambda one: stage(one, shared), chained)

    if chain_method == "parallel":
        return jax.pmap(one_after_another, in_axes=(0, None))
    return jax.jit(one_after_another)


def _split(devices: int, tree: Any) -> Any:
    if devices == 1:
        return tree
    return jax.tree.map(lambda x: x.reshape(devices, -1, *x.shape[1:]), tree)


def _merge(devices: int, tree: Any) -> Any:
    if devices == 1:
        return tree
    return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), tree)


def _stretches(num_steps: int, count: int) -> list[tuple[int, int]]:
    """Split ``range(num_steps)`` into at most ``count`` contiguous stretches."""
    edges = sorted({round(num_steps * k / count) for k in range(count + 1)})
    return list(itertools.pairwise(edges))


def _approximate_fit(
    model: Callable[..., None],
    model_name: str,
    settings: SamplerSettings,
    rng_key: jax.Array,
    data: ModelData,
) -> dict[str, Any]:
    """SVI with a mean-field normal guide, then independent draws of the guide.

    The guide is built inside the traced function, so nothing it caches
    outlives one compilation.
    """
    init_key, draw_key, predictive_key = random.split(rng_key, 3)
    guide = AutoNormal(model, init_loc_fn=init_to_median(num_samples=15))
    optimiser = numpyro.optim.Adam(settings.svi_learning_rate)
    svi = SVI(model, guide, optimiser, Trace_ELBO())

    def step(state: Any, _: None) -> tuple[Any, jax.Array]:
        return svi.update(state, data)

    state, losses = lax.scan(
        step, svi.init(init_key, data), None, length=settings.svi_steps
    )
    num_draws = settings.num_chains * settings.num_samples
    latent = guide.sample_posterior(
        draw_key, svi.get_params(state), data, sample_shape=(num_draws,)
    )
    samples = jax.vmap(partial(_with_deterministic, model, data))(latent)

    out = _pointwise(model_name, samples, data, predictive_key)
    out = jax.tree.map(lambda x: x[None], out)
    out.update(samples=jax.tree.map(lambda x: x[None], samples), losses=losses)
    return out


def _with_deterministic(
    model: Callable[..., None], data: ModelData, latent: dict[str, jax.Array]
) -> dict[str, jax.Array]:
    conditioned = numpyro.handlers.substitute(numpyro.handlers.seed(model, 0), latent)
    trace = numpyro.handlers.trace(conditioned).get_trace(data)
    sites = {
        name: site["value"]
        for name, site in trace.items()
        if site["type"] == "deterministic"
    }
    return {**latent, **sites}


def _pointwise(
    model_name: str,
    samples: dict[str, jax.Array],
    data: ModelData,
    rng_key: jax.Array,
) -> dict[str, jax.Array]:
    """Per-draw, per-match log-likelihood and posterior predictive scores."""
    params = models.Strengths(
        samples["intercept"],
        samples["home_advantage"],
        samples["attack"],
        samples["defence"],
    )
    rho = samples["rho"] if models.has_rho(model_name) else None
    keys = random.split(rng_key, samples["intercept"].shape[0])

    def one(params: models.Strengths, rho: Any, key: jax.Array) -> Any:
        log_home, log_away = models.match_log_rates(params, data)
        home_rate, away_rate = jnp.exp(log_home), jnp.exp(log_away)
        log_lik = models.score_log_likelihood(
            data.home_goals, data.away_goals, home_rate, away_rate, rho
        )
        home, away = models.simulate_scores(key, home_rate, away_rate, rho)
        return log_lik, home, away

    log_lik, home, away = jax.vmap(one)(params, rho, keys)
    return {"log_likelihood": log_lik, "home_goals": home, "away_goals": away}


def _usable_warm_start(
    warm_start: WarmStart | None,
    model_name: str,
    data: ModelData,
    settings: SamplerSettings,
) -> ChainState | None:
    if warm_start is None or settings.method != "nuts":
        return None
    same_model = warm_start.model_name == model_name
    same_shapes = warm_start.shapes == _shapes(data)
    same_chains = warm_start.state.step_size.shape == (settings.num_chains,)
    if same_model and same_shapes and same_chains:
        return warm_start.state
    logger.info(
        "warm start from %s with other shapes or chains; starting afresh",
        warm_start.model_name,
    )
    return None


def _shapes(data: ModelData) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(x.shape) for x in jax.tree.leaves(data))


def _to_draws(
    out: dict[str, Any],
    model_name: str,
    data: ModelData,
    settings: SamplerSettings,
    timing: tuple[bool, float, float],
) -> Draws:
    out = jax.tree.map(np.asarray, out)
    warm = out.get("warm_start")
    return Draws(
        samples=out["samples"],
        stats=out.get("stats", {}),
        log_likelihood=out["log_likelihood"],
        home_goals=out["home_goals"],
        away_goals=out["away_goals"],
        warm_start=None
        if warm is None
        else WarmStart(model_name, _shapes(data), ChainState(*warm)),
        losses=out.get("losses"),
        settings=settings,
        compiled=timing[0],
        compile_seconds=timing[1],
        run_seconds=timing[2],
    )
