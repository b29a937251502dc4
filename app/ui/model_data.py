"""The app's registry source: model versions, aliases and the audit log.

Like :class:`~app.ui.data.StoreData`, this data source never keeps the store
open: every refresh, every gate report and every promotion or rollback is one
short read or write through :mod:`registry`, so a refit on the command line
can register a version while the page is open. What it reads is cached here
and the views arrange it.

Posteriors are the exception to "read again on refresh": a model version never
changes once registered, so its InferenceData is loaded once per version id
and kept (the few most recently used) for the match explorer.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import param
import polars as pl
from jax import random

from engine.markets import MatchMarkets
from engine.model.rates import fixture_rates
from registry.aliases import (
    AliasTarget,
    AuditEntry,
    audit_log,
    list_aliases,
    resolve_alias,
    rollback,
)
from registry.policy import PromotionPolicy
from registry.promotion import GateReport, PromotionBlocked, evaluate_gates, promote
from registry.provenance import current_user
from registry.store import Store, StoreBusy, StoreError
from registry.versions import (
    ModelVersion,
    RegistryError,
    list_versions,
    load_inference_data,
)

if TYPE_CHECKING:
    import arviz

logger = logging.getLogger(__name__)

T = TypeVar("T")

AUDIT_LIMIT = 50
"""How many of the latest audit-log entries the page shows."""

CACHED_POSTERIORS = 4
"""How many loaded posteriors a data source keeps, most recently used."""

SCORELINE_GOALS = 6
"""Goals a side of the scoreline grid the match explorer shows."""

VERSION_COLUMNS = (
    "version_id",
    "aliases",
    "created_at",
    "model",
    "scope",
    "cutoff",
    "matches",
    "max_rhat",
    "min_ess_bulk",
    "divergences",
    "log_score_loo",
    "caveats",
)
ALIAS_COLUMNS = ("scope", "alias", "version_id", "moved_at")
AUDIT_COLUMNS = (
    "moved_at",
    "action",
    "alias",
    "scope",
    "from",
    "to",
    "who",
    "forced",
    "reason",
)


@dataclass(frozen=True)
class Outcome:
    """What a request to the registry came to, as the page says it.

    Attributes
    ----------
    level : str
        ``success``, ``warning`` (a blocked promotion) or ``danger`` (the
        request could not be done).
    text : str
        One line saying what happened or why not.
    report : GateReport or None
        The gates judged, when the request judged any.
    """

    level: str
    text: str
    report: GateReport | None = None


@dataclass(frozen=True)
class ChosenVersion:
    """The model version the match explorer prices a league with, and why.

    Attributes
    ----------
    version_id : str
        The version.
    why : str
        How it was chosen, e.g. ``champion of E0``.
    """

    version_id: str
    why: str


class RegistryData(param.Parameterized):
    """Model versions, aliases and audit log as the app shows them.

    Parameters
    ----------
    db_path : str
        The store's DuckDB file; a missing one reads as an empty store and
        is not created by reading.
    busy_timeout_s : float, default 3.0
        How long a read or write waits for another writer to let go.
    policy : PromotionPolicy
        The policy every gate report and promotion applies.
    """

    db_path = param.String(doc="The store's DuckDB file.")

    busy_timeout_s = param.Number(
        default=3.0, bounds=(0, None), doc="Seconds a request waits for a writer."
    )

    policy = param.ClassSelector(
        class_=PromotionPolicy,
        default=PromotionPolicy(),
        doc="The promotion policy the gates apply.",
    )

    versions = param.List(default=[], doc="Every model version, oldest first.")

    aliases = param.List(default=[], doc="Every alias that names a version.")

    audit = param.List(default=[], doc="The latest audit-log entries, oldest first.")

    message = param.String(
        default="", doc="Why the last refresh failed; empty when it succeeded."
    )

    loaded_at = param.Date(default=None, allow_None=True, doc="When last read.")

    def __init__(self, **params):
        super().__init__(**params)
        self._posteriors: OrderedDict[str, arviz.InferenceData] = OrderedDict()
        self.load()

    def load(self) -> None:
        """Read versions, aliases and the audit log again.

        A busy or unreadable store leaves the previous lists in place and
        sets ``message`` to say why.
        """

        def read(store: Store) -> tuple[list, list, list]:
            return (
                list_versions(store),
                list_aliases(store),
                audit_log(store, limit=AUDIT_LIMIT),
            )

        try:
            versions, aliases, audit = self._request(read)
        except StoreError as exc:
            self.message = _store_message(exc)
            return

        self.param.update(
            versions=versions,
            aliases=aliases,
            audit=audit,
            message="",
            loaded_at=datetime.now(),
        )

    @property
    def path(self) -> Path:
        """The store's file as a path."""
        return Path(self.db_path)

    def version(self, version_id: str) -> ModelVersion | None:
        """Return the version with this id from the last read, or None."""
        return next((v for v in self.versions if v.version_id == version_id), None)

    def aliases_of(self, version_id: str) -> list[AliasTarget]:
        """Return the aliases that name a version, by scope then alias."""
        return [t for t in self.aliases if t.version_id == version_id]

    def versions_frame(self) -> pd.DataFrame:
        """Return one row per model version, newest first, with its aliases."""
        rows = [self._version_row(v) for v in reversed(self.versions)]
        return pd.DataFrame(rows, columns=list(VERSION_COLUMNS))

    def aliases_frame(self) -> pd.DataFrame:
        """Return one row per alias and scope, with the version it names."""
        rows = [
            (t.scope, t.alias, t.version_id, _minute(t.moved_at)) for t in self.aliases
        ]
        return pd.DataFrame(rows, columns=list(ALIAS_COLUMNS))

    def audit_frame(self) -> pd.DataFrame:
        """Return the latest audit-log entries, newest first."""
        rows = [_audit_row(entry) for entry in reversed(self.audit)]
        return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))

    def gate_report(self, version_id: str, alias: str, scope: str) -> GateReport:
        """Judge a version against the policy's gates, in one short read.

        Raises
        ------
        registry.store.StoreError
            When the store cannot be read, or the version, alias or scope is
            not one (a ``RegistryError``, whose message says what to do).
        """
        return self._request(
            lambda store: evaluate_gates(store, version_id, alias, scope, self.policy)
        )

    def promote(
        self, version_id: str, *, alias: str, scope: str, reason: str, force: bool
    ) -> Outcome:
        """Move ``alias`` of ``scope`` to a version when the gates allow it.

        A blocked promotion, a bad request or a busy store comes back as an
        :class:`Outcome` to show, never as an exception. The lists are read
        again afterwards.
        """

        def move(store: Store) -> Any:
            return promote(
                store,
                version_id,
                alias=alias,
                scope=scope,
                reason=reason,
                force=force,
                policy=self.policy,
                who=current_user(),
            )

        try:
            result = self._request(move)
        except PromotionBlocked as exc:
            outcome = Outcome("warning", str(exc), exc.report)
        except StoreError as exc:
            outcome = Outcome("danger", _store_message(exc))
        else:
            outcome = Outcome("success", _moved_text(result.entry), result.report)
        self.load()
        return outcome

    def rollback(self, *, alias: str, scope: str, reason: str) -> Outcome:
        """Return ``alias`` of ``scope`` to the version before its last promotion.

        Failures come back as an :class:`Outcome`; the lists are read again.
        """

        def move(store: Store) -> Any:
            return rollback(
                store, alias=alias, scope=scope, reason=reason, who=current_user()
            )

        try:
            result = self._request(move)
        except StoreError as exc:
            outcome = Outcome("danger", _store_message(exc))
        else:
            outcome = Outcome("success", _moved_text(result.entry))
        self.load()
        return outcome

    def version_for_league(self, league: str) -> ChosenVersion | None:
        """Return the version that prices a league by default, and why.

        The champion of the league alone comes first; then a champion, then
        a challenger, whose scope includes the league; then the newest model
        version trained on it. None when no version covers the league.

        Raises
        ------
        registry.store.StoreError
            When the store cannot be read.
        """
        champion = self._request(lambda store: resolve_alias(store, "champion", league))
        if champion is not None:
            return ChosenVersion(champion, f"champion of {league}")

        for alias in ("champion", "challenger"):
            for target in self.aliases:
                if target.alias == alias and league in target.scope.split(","):
                    return ChosenVersion(
                        target.version_id, f"{alias} of {target.scope}"
                    )

        for version in reversed(self.versions):
            if league in _leagues_of(version):
                why = f"newest model version trained on {league}; no alias covers it"
                return ChosenVersion(version.version_id, why)
        return None

    def leagues(self) -> list[str]:
        """Return every league some model version was trained on, sorted."""
        return sorted({code for v in self.versions for code in _leagues_of(v)})

    def inference_data(self, version_id: str) -> arviz.InferenceData:
        """Return a version's posterior, loaded once and then kept.

        Raises
        ------
        registry.store.StoreError
            When the store cannot be read or the artefact fails its checks.
        """
        if version_id in self._posteriors:
            self._posteriors.move_to_end(version_id)
            return self._posteriors[version_id]

        idata = self._request(lambda store: load_inference_data(store, version_id))
        self._posteriors[version_id] = idata
        while len(self._posteriors) > CACHED_POSTERIORS:
            self._posteriors.popitem(last=False)
        return idata

    def model_posterior(self, version_id: str) -> arviz.InferenceData:
        """Return a version's posterior after checking it can price fixtures.

        Raises
        ------
        ValueError
            When the posterior lacks the model name, or the league or team
            coordinates, that pricing a fixture needs.
        registry.store.StoreError
            When the posterior cannot be loaded.
        """
        idata = self.inference_data(version_id)
        posterior = idata.posterior
        lacking = [name for name in ("league", "team") if name not in posterior.coords]
        if "model" not in idata.attrs:
            lacking.append("the model name")
        if lacking:
            raise ValueError(
                f"model version {version_id} cannot price fixtures: its posterior "
                f"lacks {', '.join(lacking)}; choose a version made by touchline fit"
            )
        return idata

    def fixture_markets(
        self,
        version_id: str,
        *,
        league: str,
        home_team: str,
        away_team: str,
        kickoff: date,
    ) -> MatchMarkets:
        """Return every market of one fixture under a version's posterior.

        The rates come from :func:`engine.model.rates.fixture_rates` with a
        fixed ``rng_key`` (so the page shows the same figures each time) and
        the markets from :class:`engine.markets.MatchMarkets`.

        Raises
        ------
        ValueError
            When the engine refuses the fixture (its message says why).
        registry.store.StoreError
            When the posterior cannot be loaded.
        """
        idata = self.model_posterior(version_id)
        fixture = pl.DataFrame(
            {
                "league": [league],
                "kickoff": [kickoff],
                "home_team": [home_team],
                "away_team": [away_team],
            },
            schema={
                "league": pl.String,
                "kickoff": pl.Date,
                "home_team": pl.String,
                "away_team": pl.String,
            },
        )
        rates = fixture_rates(idata, fixture, rng_key=random.key(0))
        return MatchMarkets.from_rates(rates, max_goals=SCORELINE_GOALS)

    def _request(self, action: Callable[[Store], T]) -> T:
        store = Store(self.db_path, busy_timeout_s=self.busy_timeout_s)
        try:
            return action(store)
        except StoreBusy as exc:
            logger.warning("store busy: %s", exc)
            raise
        except StoreError as exc:
            logger.info("registry request refused: %s", exc)
            raise

    def _version_row(self, version: ModelVersion) -> dict[str, Any]:
        selection, diagnostics = version.selection, version.diagnostics
        in_sample = diagnostics.get("in_sample") or {}
        named = [f"{t.alias} of {t.scope}" for t in self.aliases_of(version.version_id)]
        return {
            "version_id": version.version_id,
            "aliases": ", ".join(named),
            "created_at": _minute(version.created_at),
            "model": version.model,
            "scope": version.scope or "",
            "cutoff": selection.get("cutoff"),
            "matches": selection.get("matches"),
            "max_rhat": _number(diagnostics.get("max_rhat"), 3),
            "min_ess_bulk": _number(diagnostics.get("min_ess_bulk"), 0),
            "divergences": diagnostics.get("divergences"),
            "log_score_loo": _number(in_sample.get("log_score_loo"), 3),
            "caveats": "; ".join(diagnostics.get("caveats") or []),
        }


def fill_registry_instructions(db_path: str) -> str:
    """Return the Markdown that tells how to create and promote a version.

    Parameters
    ----------
    db_path : str
        The store's file, written into the commands.

    Returns
    -------
    str
        A heading, the two commands and a line on each.
    """
    import shlex

    db = shlex.quote(db_path)
    return (
        "### No model version yet\n\n"
        f"The store `{db_path}` holds no model version. Fit one on stored "
        "matches, then make it the champion of its league, and press "
        "**Refresh**:\n\n"
        "```text\n"
        f"touchline --db {db} fit --league E0 --until DATE\n"
        f"touchline --db {db} registry promote ID --reason TEXT\n"
        "```\n\n"
        "`fit` prints the new model version's id as its last line; "
        "`registry promote` moves the champion alias to it when the promotion "
        "gates pass (add `--force` to override them, on the record)."
    )


def _leagues_of(version: ModelVersion) -> list[str]:
    return version.scope.split(",") if version.scope else []


def _moved_text(entry: AuditEntry) -> str:
    verb = "rolled back to" if entry.action == "rollback" else "moved to"
    forced = " (forced past failing gates)" if entry.forced else ""
    return (
        f"The {entry.alias} of {entry.scope} {verb} model version "
        f"{entry.to_version}{forced}; audit entry {entry.audit_id}."
    )


def _audit_row(entry: AuditEntry) -> tuple:
    return (
        _minute(entry.moved_at),
        entry.action,
        entry.alias,
        entry.scope,
        entry.from_version or "",
        entry.to_version,
        entry.who,
        "yes" if entry.forced else "no",
        entry.reason,
    )


def _store_message(exc: StoreError) -> str:
    if isinstance(exc, StoreBusy):
        return f"The store is busy, try again soon: {exc}"
    if isinstance(exc, RegistryError):
        return str(exc)
    return f"The store could not be read: {exc}"


def _minute(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _number(value: Any, digits: int) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    return round(float(value), digits)
