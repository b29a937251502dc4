"""One NUTS chain in three compiled stages: start, a stretch of steps, finish.

A fit runs its warmup and sampling as several calls of one compiled stretch of
NUTS steps, so that the caller can report progress between them without a host
callback inside compiled code (JAX does not keep executables with host
callbacks in its persistent compilation cache). The sequence of kernel calls,
and so every draw, is the same however the steps are split.

The chain moves a single flat vector (all latent sites raveled), which keeps
each leapfrog step to a few array operations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpyro
from jax import lax, random
from jax.flatten_util import ravel_pytree
from numpyro.distributions.transforms import biject_to
from numpyro.infer.hmc import hmc
from numpyro.infer.util import constrain_fn, potential_energy

from engine.model.arrays import ModelData

Model = Callable[[ModelData], None]


class ChainState(NamedTuple):
    """Final NUTS state per chain, on the flat unconstrained scale.

    ``position`` and the diagonal ``inverse_mass_matrix`` have shape
    ``(chain, dimension)``; ``step_size`` has shape ``(chain,)``.
    """

    position: Any
    step_size: Any
    inverse_mass_matrix: Any


class ChainCarry(NamedTuple):
    """What one chain carries from one stretch of steps to the next.

    ``state`` is NumPyro's ``HMCState`` (with its warmup adaptation state);
    ``positions`` and ``stats`` hold the kept draws, one row per draw.
    """

    state: Any
    positions: jax.Array
    stats: dict[str, jax.Array]


class NutsConfig(NamedTuple):
    """The sampler settings the compiled stages are built for."""

    num_warmup: int
    num_samples: int
    target_accept_prob: float
    max_tree_depth: int


def start(
    model: Model,
    config: NutsConfig,
    rng_key: jax.Array,
    data: ModelData,
    warm: ChainState | None,
) -> ChainCarry:
    """Initialise one chain: a start point, the kernel state and empty buffers.

    Parameters
    ----------
    model : callable
        A model function of `engine.model.models`.
    config : NutsConfig
        Sampler settings.
    rng_key : jax.Array
        The chain's key; `finish` derives its predictive key from the same one.
    data : ModelData
        Padded arrays.
    warm : ChainState, optional
        Start from this position, step size and mass matrix instead.

    Returns
    -------
    ChainCarry
    """
    init_key, kernel_key, _ = random.split(rng_key, 3)
    position, unravel = ravel_pytree(_initial_position(model, data, init_key))
    init_kernel, _ = _kernels(model, data, unravel)
    state = init_kernel(
        position if warm is None else warm.position,
        config.num_warmup,
        step_size=1.0 if warm is None else warm.step_size,
        inverse_mass_matrix=None if warm is None else warm.inverse_mass_matrix,
        target_accept_prob=config.target_accept_prob,
        max_tree_depth=config.max_tree_depth,
        rng_key=kernel_key,
    )
    record = (state.z, _nuts_stats(state))
    positions, stats = jax.tree.map(
        lambda x: jnp.zeros((config.num_samples, *jnp.shape(x)), jnp.result_type(x)),
        record,
    )
    return ChainCarry(state, positions, stats)


def steps(
    model: Model,
    config: NutsConfig,
    carry: ChainCarry,
    data: ModelData,
    begin: jax.Array,
    end: jax.Array,
) -> ChainCarry:
    """Advance one chain through kernel calls ``begin`` to ``end - 1``.

    Calls are numbered over warmup and sampling together. During warmup every
    draw is written to slot 0, which the first kept draw overwrites; one loop
    body holds one copy of the NUTS kernel, which halves what XLA compiles
    compared with a warmup loop followed by a sampling loop.
    """
    init_kernel, sample_kernel = _kernels(model, data, _unravel(model, data))
    # NumPyro's kernel reads the warmup schedule and tree depth that its init
    # function sets; the state it returns here is unused and compiled away.
    init_kernel(
        carry.state.z,
        config.num_warmup,
        target_accept_prob=config.target_accept_prob,
        max_tree_depth=config.max_tree_depth,
        rng_key=carry.state.rng_key,
    )

    def body(i: jax.Array, current: ChainCarry) -> ChainCarry:
        new = sample_kernel(current.state)
        slot = jnp.maximum(i - config.num_warmup, 0)
        positions, stats = jax.tree.map(
            lambda buf, x: lax.dynamic_update_index_in_dim(buf, x, slot, 0),
            (current.positions, current.stats),
            (new.z, _nuts_stats(new)),
        )
        return ChainCarry(new, positions, stats)

    return lax.fori_loop(begin, end, body, carry)


def finish(
    model: Model,
    score: Callable[..., dict[str, jax.Array]],
    carry: ChainCarry,
    rng_key: jax.Array,
    data: ModelData,
) -> dict[str, Any]:
    """Constrain the kept draws and score every match with them.

    Parameters
    ----------
    model : callable
        The model function.
    score : callable
        ``score(samples, data, rng_key)`` returning per-draw log-likelihood
        and posterior predictive scores.
    carry : ChainCarry
        The chain after its last step.
    rng_key : jax.Array
        The chain's key, as given to `start`.
    data : ModelData
        Padded arrays.

    Returns
    -------
    dict
        ``samples``, ``stats``, ``warm_start`` and what ``score`` returns.
    """
    _, _, predictive_key = random.split(rng_key, 3)
    samples = constrain_fn(
        model,
        (data,),
        {},
        jax.vmap(_unravel(model, data))(carry.positions),
        return_deterministic=True,
        batch_ndims=1,
    )
    out = score(samples, data, predictive_key)
    out.update(samples=samples, stats=carry.stats)
    adapt = carry.state.adapt_state
    out["warm_start"] = ChainState(
        carry.state.z, adapt.step_size, adapt.inverse_mass_matrix
    )
    return out


def _kernels(
    model: Model, data: ModelData, unravel: Callable[[jax.Array], Any]
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    def potential_fn(position: jax.Array) -> jax.Array:
        return potential_energy(model, (data,), {}, unravel(position))

    return hmc(potential_fn, algo="NUTS")


def _unravel(model: Model, data: ModelData) -> Callable[[jax.Array], Any]:
    """Return the map from the flat vector to named sites (structure only)."""
    return ravel_pytree(_initial_position(model, data, random.key(0)))[1]


def _initial_position(
    model: Model, data: ModelData, rng_key: jax.Array
) -> dict[str, jax.Array]:
    """Uniform(-1, 1) on the unconstrained scale of every latent site.

    Every such point has a finite log density in these models, so there is no
    search for a valid start (whose loop would double the compile time). The
    spread between chains lets r-hat see chains that fail to meet.
    """
    seeded = numpyro.handlers.seed(model, rng_seed=0)
    trace = numpyro.handlers.trace(seeded).get_trace(data)
    latent = {
        name: site
        for name, site in trace.items()
        if site["type"] == "sample" and not site["is_observed"]
    }
    keys = random.split(rng_key, len(latent))
    position = {}
    for key, (name, site) in zip(keys, sorted(latent.items()), strict=True):
        shape = jnp.shape(biject_to(site["fn"].support).inv(site["value"]))
        position[name] = random.uniform(key, shape, minval=-1.0, maxval=1.0)
    return position


def _nuts_stats(state: Any) -> dict[str, jax.Array]:
    return {
        "diverging": state.diverging,
        "energy": state.energy,
        "lp": -state.potential_energy,
        "n_steps": state.num_steps,
        "acceptance_rate": state.accept_prob,
        "step_size": state.adapt_state.step_size,
    }
