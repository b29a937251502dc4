"""Posterior artefacts: ArviZ InferenceData with named dims, and diagnostics.

The InferenceData of a fit holds the groups ``posterior`` (league and team
parameters with dims ``league``, ``team`` and, for dynamic models, ``season``),
``log_likelihood`` (one joint score log-likelihood per match, padding
excluded), ``posterior_predictive`` (``home_goals``, ``away_goals`` per match),
``sample_stats`` (NUTS only), ``observed_data`` and ``constant_data``, with the
fit settings in its attributes. It serialises to netCDF; nothing is pickled.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import arviz as az
import jax
import numpy as np
import numpyro

from engine.model.arrays import Design
from engine.model.inference import Draws

RHAT_MAX = 1.01
"""Largest acceptable split r-hat (Vehtari et al. 2021)."""

ESS_PER_CHAIN_MIN = 100
"""Smallest acceptable bulk and tail ESS, per chain (Vehtari et al. 2021)."""

BFMI_MIN = 0.3
"""Smallest acceptable energy Bayesian fraction of missing information."""

SVI_LOSS_CHANGE_MAX = 0.002
"""Largest relative fall of the SVI loss over its last tenth of steps."""

_HIDDEN_SUFFIXES = ("_raw", "_unit")
_DIMS = {
    "intercept": ("league",),
    "home_advantage": ("league",),
    "attack": ("team",),
    "defence": ("team",),
}


class ConvergenceWarning(UserWarning):
    """A fit whose diagnostics say its draws may not represent the posterior."""


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a fit.

    Attributes
    ----------
    max_rhat, min_ess_bulk, min_ess_tail : float or None
        Over every posterior variable and element; None for SVI, and r-hat
        None for a single chain.
    divergences : int
        Divergent NUTS transitions after warmup.
    tree_depth_hits : int
        Draws whose trajectory stopped at the maximum tree depth.
    bfmi_min : float or None
        Smallest energy BFMI over chains; None without NUTS.
    num_chains, num_draws : int
        Chains and draws per chain.
    caveats : tuple of str
        One sentence per failed check; empty when all pass.
    """

    max_rhat: float | None
    min_ess_bulk: float | None
    min_ess_tail: float | None
    divergences: int
    tree_depth_hits: int
    bfmi_min: float | None
    num_chains: int
    num_draws: int
    caveats: tuple[str, ...]

    @property
    def converged(self) -> bool:
        """Whether every check passed."""
        return not self.caveats

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready values (caveats as a list)."""
        out = asdict(self)
        out["caveats"] = list(self.caveats)
        return out


def build_inference_data(
    draws: Draws,
    design: Design,
    *,
    model_name: str,
    seed: int,
) -> az.InferenceData:
    """Assemble the InferenceData of a fit, with padding removed.

    Parameters
    ----------
    draws : Draws
        Output of `engine.model.inference.run`.
    design : Design
        The arrays and names the fit used.
    model_name : str
        Registered model name.
    seed : int
        The seed the fit's rng_key came from.

    Returns
    -------
    arviz.InferenceData
    """
    sizes = {
        "team": len(design.teams),
        "league": len(design.leagues),
        "season": len(design.seasons),
        "match": design.num_matches,
    }
    posterior, dims = _posterior(draws.samples, sizes)
    n = sizes["match"]
    groups: dict[str, Any] = {
        "posterior": posterior,
        "log_likelihood": {"score": draws.log_likelihood[..., :n]},
        "posterior_predictive": {
            "home_goals": draws.home_goals[..., :n].astype(np.int16),
            "away_goals": draws.away_goals[..., :n].astype(np.int16),
        },
        "observed_data": {
            "home_goals": design.data.home_goals[:n],
            "away_goals": design.data.away_goals[:n],
        },
        "constant_data": _constant_data(design),
    }
    if draws.stats:
        groups["sample_stats"] = _sample_stats(draws.stats)
    dims.update(
        score=["match"],
        home_goals=["match"],
        away_goals=["match"],
        **{name: ["match"] for name in _MATCH_CONSTANTS},
        weight=["match"],
        team_league=["team"],
        team_new=["team"],
    )
    return az.from_dict(
        **groups,
        coords={
            "team": list(design.teams),
            "league": list(design.leagues),
            "season": list(design.seasons),
            "match": list(design.match_ids),
        },
        dims=dims,
        attrs=_attrs(design, draws, model_name, seed),
    )


def _posterior(
    samples: dict[str, np.ndarray], sizes: dict[str, int]
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    posterior, dims = {}, {}
    for name, values in sorted(samples.items()):
        if name.endswith(_HIDDEN_SUFFIXES):
            continue
        names = list(_DIMS.get(name, ()))
        if name in ("attack", "defence") and values.ndim == 4:
            names = ["season", "team"]
        index = tuple(slice(0, sizes[d]) for d in names)
        posterior[name] = values[(slice(None), slice(None), *index)]
        dims[name] = names
    return posterior, dims


def _sample_stats(stats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(stats)
    out["tree_depth"] = np.ceil(np.log2(stats["n_steps"] + 1.0)).astype(np.int64)
    return out


_MATCH_CONSTANTS = ("home_team", "away_team", "league_code", "season_index")


def _constant_data(design: Design) -> dict[str, np.ndarray]:
    n, data = design.num_matches, design.data
    teams, leagues = np.array(design.teams), np.array(design.leagues)
    num_teams = len(design.teams)
    return {
        "home_team": teams[data.home_team[:n]],
        "away_team": teams[data.away_team[:n]],
        "league_code": leagues[data.league[:n]],
        "season_index": data.season[:n].astype(np.int64),
        "weight": data.weight[:n],
        "team_league": leagues[data.team_league[:num_teams]],
        "team_new": data.team_new[:num_teams].astype(np.int64),
    }


def _attrs(
    design: Design,
    draws: Draws,
    model_name: str,
    seed: int,
) -> dict[str, Any]:
    """Fit settings as netCDF-safe attributes: str, int and float only."""
    attrs: dict[str, Any] = {
        "model": model_name,
        "seed": int(seed),
        "cutoff": design.cutoff.isoformat(),
        "leagues": ",".join(design.leagues),
        "decay_half_life_days": float(design.decay_half_life_days or 0.0),
        "decay_rate": float(design.decay_rate),
        "numpyro_version": numpyro.__version__,
        "jax_version": jax.__version__,
    }
    for key, value in asdict(draws.settings).items():
        attrs[key] = value if isinstance(value, str | int) else float(value)
    if draws.losses is not None:
        attrs.update(_loss_summary(draws.losses))
    return attrs


def _loss_summary(losses: np.ndarray) -> dict[str, float]:
    """Return the final loss and its relative fall over the last tenth of steps."""
    tenth = max(len(losses) // 10, 1)
    last = float(np.mean(losses[-tenth:]))
    before = float(np.mean(losses[-2 * tenth : -tenth] if len(losses) > 1 else last))
    change = (before - last) / max(abs(last), 1.0)
    return {"svi_final_loss": last, "svi_loss_change": change}


def diagnose(idata: az.InferenceData) -> Diagnostics:
    """Summarise convergence of a fit and list every failed check.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit's InferenceData (as built by `build_inference_data`).

    Returns
    -------
    Diagnostics
        r-hat, bulk and tail ESS, divergences, tree-depth hits and BFMI, with
        a caveat sentence for each threshold missed.
    """
    posterior = idata.posterior
    num_chains, num_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    if "sample_stats" not in idata.groups():
        caveats = _approximation_caveats(idata.attrs)
        return Diagnostics(None, None, None, 0, 0, None, num_chains, num_draws, caveats)

    rhat = _extreme(az.rhat(posterior), np.nanmax) if num_chains > 1 else None
    ess_bulk = _extreme(az.ess(posterior, method="bulk"), np.nanmin)
    ess_tail = _extreme(az.ess(posterior, method="tail"), np.nanmin)
    stats = idata.sample_stats
    divergences = int(stats["diverging"].sum())
    depth_hits = int((stats["tree_depth"] >= idata.attrs["max_tree_depth"]).sum())
    bfmi = float(np.min(az.bfmi(idata)))
    summary = Diagnostics(
        rhat,
        ess_bulk,
        ess_tail,
        divergences,
        depth_hits,
        bfmi,
        num_chains,
        num_draws,
        (),
    )
    return Diagnostics(**{**asdict(summary), "caveats": _caveats(summary)})


def _approximation_caveats(attrs: dict[str, Any]) -> tuple[str, ...]:
    loss, change = attrs.get("svi_final_loss"), attrs.get("svi_loss_change", 0.0)
    if loss is None or not math.isfinite(loss):
        return (f"{attrs.get('method')} loss is not finite: the fit failed",)
    if change > SVI_LOSS_CHANGE_MAX:
        return (
            f"{attrs['method']} loss still fell by {change:.2%} over the last "
            "tenth of its steps: raise svi_steps",
        )
    return ()


def _extreme(dataset: Any, reduce: Any) -> float:
    values = [np.ravel(v.values) for v in dataset.data_vars.values()]
    return float(reduce(np.concatenate(values)))


def _caveats(d: Diagnostics) -> tuple[str, ...]:
    caveats = []
    ess_min = ESS_PER_CHAIN_MIN * d.num_chains
    if d.max_rhat is None:
        caveats.append(
            "one chain: r-hat cannot compare chains, so convergence is unchecked; "
            "run two or more chains"
        )
    elif not (d.max_rhat <= RHAT_MAX):
        caveats.append(
            f"max r-hat {d.max_rhat:.3f} exceeds {RHAT_MAX}: chains disagree; "
            "sample longer or check the model"
        )
    if not (d.min_ess_bulk >= ess_min):
        caveats.append(
            f"min bulk ESS {d.min_ess_bulk:.0f} is below {ess_min}: draw more samples"
        )
    if not (d.min_ess_tail >= ess_min):
        caveats.append(
            f"min tail ESS {d.min_ess_tail:.0f} is below {ess_min}: tail "
            "probabilities are imprecise; draw more samples"
        )
    if d.divergences:
        caveats.append(
            f"{d.divergences} divergent transitions: the posterior may be biased; "
            "raise target_accept_prob or reparameterise"
        )
    if d.tree_depth_hits:
        caveats.append(
            f"{d.tree_depth_hits} draws hit the maximum tree depth: sampling is "
            "inefficient; raise max_tree_depth"
        )
    if not (d.bfmi_min >= BFMI_MIN):
        caveats.append(
            f"min energy BFMI {d.bfmi_min:.2f} is below {BFMI_MIN}: warmup may not "
            "have adapted; sample longer"
        )
    return tuple(caveats)
