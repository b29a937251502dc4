"""Promotion: judge a version against the policy, then move the alias.

:func:`evaluate_gates` is the one place the policy is applied: it reads the
version, the aliases and the evidence in one short read and hands them to the
gates of :mod:`registry.policy`. :func:`promote` moves an alias only on that
verdict, or, with ``force``, against it, on the record.

The champion alias needs every gate. The challenger alias needs the scope and
diagnostics gates only: a challenger is, by definition, not yet shown to beat
the champion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from registry.aliases import (
    AliasError,
    PromotionResult,
    check_alias,
    check_reason,
    check_scope,
    current_target,
    write_move,
)
from registry.evidence import latest_drift_check, paired_scores, score_summary
from registry.policy import (
    GateVerdict,
    PromotionPolicy,
    diagnostics_gate,
    drift_gate,
    performance_gate,
    scope_gate,
)
from registry.provenance import current_user
from registry.store import Store
from registry.versions import RegistryError, fetch_version, resolve_version_id

logger = logging.getLogger(__name__)


class PromotionBlocked(RegistryError):
    """A gate did not pass and the promotion was not forced.

    Parameters
    ----------
    message : str
        Which gates blocked and what to do.
    report : GateReport
        The gate report the decision was made on.

    Attributes
    ----------
    report : GateReport
        As given.
    """

    def __init__(self, message: str, report: GateReport):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class GateReport:
    """Every gate's verdict on one version for one alias and scope.

    Attributes
    ----------
    version_id, alias, scope : str
        What was judged, for which alias of which league set.
    current : str or None
        The version the alias names now.
    champion : str or None
        The scope's champion, compared against.
    verdicts : tuple of GateVerdict
        In gate order.
    policy : PromotionPolicy
        The policy applied.
    """

    version_id: str
    alias: str
    scope: str
    current: str | None
    champion: str | None
    verdicts: tuple[GateVerdict, ...]
    policy: PromotionPolicy

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return all(v.passed is True for v in self.verdicts)

    @property
    def blocking(self) -> list[GateVerdict]:
        """The gates that failed or found no evidence."""
        return [v for v in self.verdicts if v.passed is not True]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values under stable keys."""
        return {
            "version_id": self.version_id,
            "alias": self.alias,
            "scope": self.scope,
            "current": self.current,
            "champion": self.champion,
            "passed": self.passed,
            "gates": [v.to_dict() for v in self.verdicts],
            "policy": self.policy.to_dict(),
        }


def evaluate_gates(
    store: Store,
    version_id: str,
    alias: str = "champion",
    scope: str | None = None,
    policy: PromotionPolicy | None = None,
) -> GateReport:
    """Judge a version against every gate for an alias of a scope.

    Reads the version, the aliases and the evidence in one short read, then
    judges without holding the store.

    Parameters
    ----------
    store : Store
        The registry store.
    version_id : str
        Id or unique prefix of the candidate.
    alias : str, default "champion"
        The alias it would take.
    scope : str, optional
        League set; defaults to the version's own scope.
    policy : PromotionPolicy, optional
        Defaults to ``PromotionPolicy()``.

    Returns
    -------
    GateReport
    """
    alias, policy = check_alias(alias), policy or PromotionPolicy()
    with store.read() as con:
        full_id = resolve_version_id(con, version_id)
        version = fetch_version(con, full_id)
        scope = check_scope(scope if scope is not None else version.scope or "")
        current = current_target(con, alias, scope)
        champion = current_target(con, "champion", scope)
        scores = paired_scores(con, full_id, champion)
        own = score_summary(con, full_id)
        drift = latest_drift_check(con, full_id)

    verdicts = [
        scope_gate(version, scope),
        diagnostics_gate(version.diagnostics, policy),
    ]
    if alias == "champion":
        scored = own["matches"] if own else 0
        performance = performance_gate(
            full_id, champion, scores, policy, scored_matches=scored
        )
        verdicts.append(performance)
        verdicts.append(drift_gate(full_id, drift, policy))
    else:
        verdicts += [_not_required("performance", alias), _not_required("drift", alias)]
    return GateReport(full_id, alias, scope, current, champion, tuple(verdicts), policy)


def promote(
    store: Store,
    version_id: str,
    *,
    alias: str = "champion",
    scope: str | None = None,
    reason: str,
    force: bool = False,
    policy: PromotionPolicy | None = None,
    who: str | None = None,
) -> PromotionResult:
    """Point an alias of a scope at a version when every gate passes.

    The gates are judged once, first; the move and its audit row are then
    written in one transaction that also checks the alias has not moved
    meanwhile. The report judged is the one recorded as evidence and the one
    handed back, on the result or on :class:`PromotionBlocked`, so what a
    caller shows is what the decision used.

    Parameters
    ----------
    store : Store
        The registry store.
    version_id : str
        Id or unique prefix of the version.
    alias : str, default "champion"
        ``champion`` or ``challenger``.
    scope : str, optional
        League set, e.g. ``"E0,SP1"``; defaults to the version's own scope.
    reason : str
        Why; required.
    force : bool, default False
        Move even when a gate fails or finds no evidence; recorded as forced.
    policy : PromotionPolicy, optional
        Defaults to ``PromotionPolicy()``.
    who : str, optional
        Defaults to the operating-system user.

    Returns
    -------
    PromotionResult
        Its ``report`` is the gate report the move was decided on.

    Raises
    ------
    PromotionBlocked
        When a gate did not pass and ``force`` is false; nothing is written.
        Its ``report`` is the gate report that blocked the move.
    AliasError
        When the alias already names the version, or on a bad argument.
    """
    reason = check_reason(reason)
    report = evaluate_gates(store, version_id, alias, scope, policy)
    if report.current == report.version_id:
        raise _already(report)
    if not report.passed and not force:
        raise PromotionBlocked(_blocked_message(report), report)

    with store.write() as con:
        entry = write_move(
            con,
            action="promote",
            alias=report.alias,
            scope=report.scope,
            expected_from=report.current,
            to_version=report.version_id,
            who=who or current_user(),
            reason=reason,
            forced=not report.passed,
            evidence=report.to_dict(),
        )
    logger.info("promoted %s to %s of %s", entry.to_version, alias, entry.scope)
    return PromotionResult(entry=entry, report=report)


def _not_required(name: str, alias: str) -> GateVerdict:
    return GateVerdict(name, True, f"not required for the {alias} alias", {})


def _already(report: GateReport) -> RegistryError:
    return AliasError(
        f"model version {report.version_id} is already the {report.alias} of "
        f"{report.scope}; nothing to do"
    )


def _blocked_message(report: GateReport) -> str:
    gates = "; ".join(f"{v.name}: {v.detail}" for v in report.blocking)
    return (
        f"model version {report.version_id} cannot become {report.alias} of "
        f"{report.scope}: {gates}; fix the evidence or pass force with a reason"
    )
