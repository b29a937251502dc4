"""The promotion policy: its limits, its gates and the paired bootstrap.

Everything here is pure: a gate judges values handed to it and touches no
store, so each can be tested alone; :func:`registry.promotion.evaluate_gates`
reads the evidence and applies them in one place. A gate passes (True), fails
(False) or finds no evidence (None); anything but True blocks a promotion
that is not forced.

Gates, in order:

scope
    The version was trained on every league of the scope it is promoted for.
diagnostics
    From the version's stored diagnostics: ``max_rhat``, ``min_ess_bulk``,
    ``min_ess_tail`` and ``divergences`` (the count of divergent
    transitions) against the policy's limits. A summary without them (an SVI
    fit) is no evidence.
performance
    Out-of-sample scores of the version against the scope's current champion
    on the same matches (see :mod:`registry.evidence`): the paired bootstrap
    interval of the mean gain in log score and in ranked probability score
    must lie wholly above the policy's margins. A version with no
    out-of-sample scores of its own finds no evidence, champion or not; one
    with scores and no champion to beat passes.
drift
    The latest drift check of the version must raise no alert. It passes with
    a note when the policy does not require it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from registry.evidence import SCORES_RELATION

if TYPE_CHECKING:
    from registry.versions import ModelVersion

_DIAGNOSTICS = ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")


class PolicyError(ValueError):
    """A promotion policy field that does not meet its schema."""


@dataclass(frozen=True)
class PromotionPolicy:
    """Limits and margins the gates apply.

    Attributes
    ----------
    max_rhat : float
        Largest split r-hat allowed (>= 1).
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes allowed (>= 0).
    max_divergences : int
        Most divergent transitions allowed (>= 0).
    min_log_score_gain, min_rps_gain : float
        Margins the lower end of each gain's bootstrap interval must exceed;
        log score gain is candidate minus champion, RPS gain champion minus
        candidate, both per match.
    min_paired_matches : int
        Fewest matches scored by both versions that count as evidence (>= 2).
    bootstrap_samples : int
        Bootstrap resamples (>= 100).
    bootstrap_level : float
        Two-sided level of the bootstrap interval, in (0, 1).
    seed : int
        Seed of the bootstrap resampling (>= 0).
    require_drift_check : bool
        Whether the drift gate needs a clean drift check.
    """

    max_rhat: float = 1.01
    min_ess_bulk: float = 400.0
    min_ess_tail: float = 400.0
    max_divergences: int = 0
    min_log_score_gain: float = 0.0
    min_rps_gain: float = 0.0
    min_paired_matches: int = 100
    bootstrap_samples: int = 2000
    bootstrap_level: float = 0.9
    seed: int = 20240601
    require_drift_check: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            _check_field(f.name, value)
            if _FIELD_RULES[f.name][0] is float:
                object.__setattr__(self, f.name, float(value))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PromotionPolicy:
        """Build a policy from a mapping such as a TOML ``[promotion]`` table.

        Missing fields take their defaults.

        Raises
        ------
        PolicyError
            Naming the first unknown or bad field.
        """
        if not isinstance(values, Mapping):
            raise PolicyError(
                f"promotion policy must be a table of fields, got "
                f"{type(values).__name__}"
            )
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise PolicyError(
                f"promotion.{unknown[0]} is not a policy field; expected one of "
                f"{', '.join(known)}"
            )
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as plain values."""
        return asdict(self)


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile bootstrap interval of a mean paired difference.

    Attributes
    ----------
    mean : float
        Mean of ``candidate - baseline``.
    lower, upper : float
        Ends of the interval.
    level : float
        Its two-sided level.
    num_resamples, num_matches : int
        Resamples drawn and pairs resampled.
    """

    mean: float
    lower: float
    upper: float
    level: float
    num_resamples: int
    num_matches: int

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as plain values."""
        return asdict(self)


@dataclass(frozen=True)
class GateVerdict:
    """One gate's judgement.

    Attributes
    ----------
    name : str
        ``scope``, ``diagnostics``, ``performance`` or ``drift``.
    passed : bool or None
        True, False, or None for no evidence; only True lets a promotion on.
    detail : str
        One line saying why.
    evidence : dict
        The numbers judged, JSON-ready.
    """

    name: str
    passed: bool | None
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as plain values."""
        return asdict(self)


def paired_bootstrap(
    candidate: ArrayLike,
    baseline: ArrayLike,
    *,
    num_resamples: int = 2000,
    level: float = 0.9,
    seed: int,
) -> BootstrapInterval:
    """Return a percentile bootstrap interval of the mean paired difference.

    Pairs (matches) are resampled with replacement, keeping each candidate
    score with its baseline score, so the interval reflects how the two
    differ on the same matches rather than how matches differ (Efron and
    Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13).

    Parameters
    ----------
    candidate, baseline : array_like
        One finite score per match, same length, at least 2.
    num_resamples : int, default 2000
        Bootstrap resamples.
    level : float, default 0.9
        Two-sided level; the ends are the ``(1 - level) / 2`` and
        ``(1 + level) / 2`` quantiles of the resampled means.
    seed : int
        Seed of the resampling: the same inputs and seed give the same
        interval.

    Returns
    -------
    BootstrapInterval
    """
    diff = _paired_differences(candidate, baseline)
    if isinstance(num_resamples, bool) or not isinstance(num_resamples, int):
        raise ValueError(f"num_resamples must be an integer, got {num_resamples!r}")
    if num_resamples < 1 or not 0.0 < level < 1.0:
        raise ValueError(
            f"need num_resamples >= 1 and 0 < level < 1, got {num_resamples} "
            f"and {level}"
        )
    rng = np.random.default_rng(seed)
    n = diff.size
    chunk = max(1, min(num_resamples, 4_000_000 // n))
    means = np.empty(num_resamples)

    for start in range(0, num_resamples, chunk):
        stop = min(start + chunk, num_resamples)
        picks = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = diff[picks].mean(axis=1)

    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(means, [tail, 1.0 - tail])
    return BootstrapInterval(
        float(diff.mean()),
        float(lower),
        float(upper),
        float(level),
        num_resamples,
        n,
    )


def scope_gate(version: ModelVersion, scope: str) -> GateVerdict:
    """Judge whether a version was trained on every league of ``scope``."""
    trained = set(version.scope.split(",")) if version.scope else set()
    wanted = set(scope.split(","))
    evidence = {"trained_on": version.scope, "scope": scope}
    if not trained:
        return GateVerdict(
            "scope",
            None,
            "no evidence: the training selection names no leagues",
            evidence,
        )
    missing = sorted(wanted - trained)
    if missing:
        detail = f"not trained on {','.join(missing)} (trained on {version.scope})"
        return GateVerdict("scope", False, detail, evidence)
    return GateVerdict("scope", True, f"trained on {version.scope}", evidence)


def diagnostics_gate(
    diagnostics: Mapping[str, Any], policy: PromotionPolicy
) -> GateVerdict:
    """Judge r-hat, ESS and divergences from a stored diagnostics summary."""
    values = {key: diagnostics.get(key) for key in _DIAGNOSTICS}
    absent = [key for key, value in values.items() if not _is_number(value)]
    if absent:
        return GateVerdict(
            "diagnostics",
            None,
            f"no evidence: diagnostics lack {', '.join(absent)}",
            {"diagnostics": values},
        )
    checks = {
        "max_rhat": values["max_rhat"] <= policy.max_rhat,
        "min_ess_bulk": values["min_ess_bulk"] >= policy.min_ess_bulk,
        "min_ess_tail": values["min_ess_tail"] >= policy.min_ess_tail,
        "divergences": values["divergences"] <= policy.max_divergences,
    }
    limits = {
        "max_rhat": f"<= {policy.max_rhat:g}",
        "min_ess_bulk": f">= {policy.min_ess_bulk:g}",
        "min_ess_tail": f">= {policy.min_ess_tail:g}",
        "divergences": f"<= {policy.max_divergences}",
    }

    failed = [
        f"{k} {values[k]:g} not {limits[k]}" for k, ok in checks.items() if not ok
    ]
    detail = (
        "; ".join(failed)
        if failed
        else ", ".join(f"{k} {values[k]:g}" for k in _DIAGNOSTICS)
    )
    return GateVerdict("diagnostics", not failed, detail, {"diagnostics": values})


def performance_gate(
    version_id: str,
    champion: str | None,
    scores: np.ndarray | None,
    policy: PromotionPolicy,
    *,
    scored_matches: int,
) -> GateVerdict:
    """Judge out-of-sample gains over the champion on the same matches.

    Parameters
    ----------
    version_id : str
        The candidate.
    champion : str or None
        The scope's champion; None when the scope has none.
    scores : numpy.ndarray or None
        One row per match scored by both versions: candidate log score,
        champion log score, candidate RPS, champion RPS; None when there is
        no champion or the store holds no scores.
    policy : PromotionPolicy
        The margins and the fewest paired matches.
    scored_matches : int
        Matches the candidate itself has out-of-sample scores on.

    Returns
    -------
    GateVerdict
    """
    evidence: dict[str, Any] = {"champion": champion, "scored_matches": scored_matches}
    if champion is None:
        if scored_matches < 1:
            return GateVerdict(
                "performance",
                None,
                f"no evidence: model version {version_id} has no out-of-sample "
                f"scores ({SCORES_RELATION}) and there is no champion to beat; "
                f"backtest {version_id}",
                evidence,
            )
        return GateVerdict("performance", True, "no champion to beat", evidence)
    if champion == version_id:
        return GateVerdict(
            "performance", None, "no evidence: the version is the champion", evidence
        )
    if scores is None:
        return GateVerdict(
            "performance",
            None,
            f"no evidence: the store holds no out-of-sample scores "
            f"({SCORES_RELATION}); backtest {version_id} and {champion}",
            evidence,
        )
    evidence["num_matches"] = len(scores)
    if len(scores) < policy.min_paired_matches:
        return GateVerdict(
            "performance",
            None,
            f"no evidence: {len(scores)} matches scored by both {version_id} and "
            f"{champion}, the policy needs {policy.min_paired_matches}",
            evidence,
        )
    return _judge_gains(scores, policy, evidence)


def drift_gate(
    version_id: str, latest: dict[str, Any] | None, policy: PromotionPolicy
) -> GateVerdict:
    """Judge the latest drift check of a version (None when it has none)."""
    evidence = {"latest_check": latest}
    if not policy.require_drift_check:
        return GateVerdict(
            "drift",
            True,
            "not required by the policy (require_drift_check)",
            evidence,
        )
    if latest is None:
        return GateVerdict(
            "drift",
            None,
            f"no evidence: no drift check of {version_id} in the store; run "
            "touchline drift",
            evidence,
        )
    when = latest["checked_at"]
    if latest["alert"]:
        return GateVerdict(
            "drift", False, f"drift alert at {when}: {latest['detail']}", evidence
        )
    return GateVerdict("drift", True, f"no drift alert at {when}", evidence)


def _judge_gains(
    scores: np.ndarray, policy: PromotionPolicy, evidence: dict[str, Any]
) -> GateVerdict:
    settings = {
        "num_resamples": policy.bootstrap_samples,
        "level": policy.bootstrap_level,
        "seed": policy.seed,
    }
    log_score = paired_bootstrap(scores[:, 0], scores[:, 1], **settings)
    rps = paired_bootstrap(scores[:, 3], scores[:, 2], **settings)
    evidence["log_score_gain"] = log_score.to_dict()
    evidence["rps_gain"] = rps.to_dict()

    passed = (
        log_score.lower > policy.min_log_score_gain and rps.lower > policy.min_rps_gain
    )
    detail = (
        f"log score gain {log_score.mean:+.4f} [{log_score.lower:+.4f}, "
        f"{log_score.upper:+.4f}] vs margin {policy.min_log_score_gain:g}; "
        f"RPS gain {rps.mean:+.4f} [{rps.lower:+.4f}, {rps.upper:+.4f}] vs "
        f"margin {policy.min_rps_gain:g}; {len(scores)} matches"
    )
    return GateVerdict("performance", passed, detail, evidence)


def _paired_differences(candidate: ArrayLike, baseline: ArrayLike) -> np.ndarray:
    first = np.asarray(candidate, dtype=float)
    second = np.asarray(baseline, dtype=float)
    if first.ndim != 1 or first.shape != second.shape or first.size < 2:
        raise ValueError(
            f"paired scores must be two 1-d arrays of one length >= 2, got "
            f"shapes {first.shape} and {second.shape}"
        )
    diff = first - second
    if not np.all(np.isfinite(diff)):
        raise ValueError(
            f"paired scores must be finite, got {int(np.sum(~np.isfinite(diff)))} "
            "non-finite differences; drop or fix those matches"
        )
    return diff


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_FIELD_RULES: dict[str, tuple[type, str, Any]] = {
    "max_rhat": (float, "a number >= 1", lambda v: v >= 1.0),
    "min_ess_bulk": (float, "a number >= 0", lambda v: v >= 0.0),
    "min_ess_tail": (float, "a number >= 0", lambda v: v >= 0.0),
    "max_divergences": (int, "an integer >= 0", lambda v: v >= 0),
    "min_log_score_gain": (float, "a finite number", lambda v: True),
    "min_rps_gain": (float, "a finite number", lambda v: True),
    "min_paired_matches": (int, "an integer >= 2", lambda v: v >= 2),
    "bootstrap_samples": (int, "an integer >= 100", lambda v: v >= 100),
    "bootstrap_level": (float, "a number in (0, 1)", lambda v: 0.0 < v < 1.0),
    "seed": (int, "an integer >= 0", lambda v: v >= 0),
    "require_drift_check": (bool, "true or false", lambda v: True),
}


def _check_field(name: str, value: Any) -> None:
    kind, expected, ok = _FIELD_RULES[name]
    if kind is bool:
        good = isinstance(value, bool)
    elif kind is int:
        good = isinstance(value, int) and not isinstance(value, bool) and ok(value)
    else:
        good = _is_number(value) and math.isfinite(value) and ok(value)
    if not good:
        raise PolicyError(f"promotion.{name} must be {expected}, got {value!r}")
