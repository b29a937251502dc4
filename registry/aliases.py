"""Aliases on model versions and the audit log of every move.

An alias (``champion`` or ``challenger``) names one model version per scope,
a league set written canonically as sorted comma-joined codes (``E0,SP1``).
The ``audit_log`` table is the history: every move, by promotion or rollback,
is one row saying who moved which alias of which scope from which version to
which, when, why, on what evidence and whether failing gates were overridden.
The ``aliases`` table is the current state, kept in the same transaction as
its audit row and naming it, so the two cannot disagree; its foreign key to
``model_versions`` keeps an alias from pointing at nothing.

Promotion decides through the gates of :mod:`registry.policy`; this module
holds the state, the history, the move itself and the rollback.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from registry.provenance import canonical_scope, current_user
from registry.store import Store
from registry.versions import RegistryError, resolve_version_id

if TYPE_CHECKING:
    from registry.promotion import GateReport

logger = logging.getLogger(__name__)

ALIASES = ("champion", "challenger")
ACTIONS = ("promote", "rollback")

_AUDIT_COLUMNS = (
    "audit_id",
    "moved_at",
    "action",
    "alias",
    "scope",
    "from_version",
    "to_version",
    "who",
    "reason",
    "forced",
    "evidence",
)


class AliasError(RegistryError, ValueError):
    """An alias request names a bad alias, scope or reason."""


class AliasMoved(RegistryError):
    """The alias moved in another process while this one was deciding."""


class NothingToRollBack(RegistryError):
    """The alias has no earlier version to return to."""


@dataclass(frozen=True)
class AuditEntry:
    """One move of an alias, as written to the audit log.

    Attributes
    ----------
    audit_id : int
        Position in the log, increasing.
    moved_at : datetime.datetime
        When, UTC without a time zone.
    action : str
        ``promote`` or ``rollback``.
    alias, scope : str
        Which alias of which league set.
    from_version : str or None
        The version the alias named before; None for its first move.
    to_version : str
        The version it names after.
    who : str
        The operating-system user, or who the caller named.
    reason : str
        Why, as given.
    forced : bool
        True when a gate had not passed and the move was forced through.
    evidence : dict
        What was evaluated: each gate's verdict and numbers.
    """

    audit_id: int
    moved_at: datetime
    action: str
    alias: str
    scope: str
    from_version: str | None
    to_version: str
    who: str
    reason: str
    forced: bool
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-ready values under stable keys."""
        out = {name: getattr(self, name) for name in _AUDIT_COLUMNS}
        out["moved_at"] = self.moved_at.isoformat() + "Z"
        return out


@dataclass(frozen=True)
class AliasTarget:
    """Where an alias of one scope points now.

    Attributes
    ----------
    alias, scope, version_id : str
        The alias, its league set and the version it names.
    moved_at : datetime.datetime
        When it last moved.
    audit_id : int
        The audit row of that move.
    """

    alias: str
    scope: str
    version_id: str
    moved_at: datetime
    audit_id: int

    def to_dict(self) -> dict[str, Any]:
        """Return the target as JSON-ready values under stable keys."""
        return {
            "alias": self.alias,
            "scope": self.scope,
            "version_id": self.version_id,
            "moved_at": self.moved_at.isoformat() + "Z",
            "audit_id": self.audit_id,
        }


@dataclass(frozen=True)
class PromotionResult:
    """The outcome of a promotion or a rollback.

    Attributes
    ----------
    entry : AuditEntry
        The audit row written.
    report : GateReport or None
        The gates evaluated; None for a rollback.
    """

    entry: AuditEntry
    report: GateReport | None = None

    @property
    def version_id(self) -> str:
        """The version the alias names now."""
        return self.entry.to_version

    def to_dict(self) -> dict[str, Any]:
        """Return the audit entry's keys; its evidence holds the gate report."""
        return self.entry.to_dict()


def resolve_alias(store: Store, alias: str, scope: str) -> str | None:
    """Return the id of the version an alias names for a scope, or None."""
    alias, scope = check_alias(alias), check_scope(scope)
    with store.read() as con:
        return current_target(con, alias, scope)


def list_aliases(store: Store) -> list[AliasTarget]:
    """Return every alias that names a version, by scope then alias."""
    with store.read() as con:
        rows = con.execute(
            "SELECT alias, scope, version_id, moved_at, audit_id FROM aliases "
            "ORDER BY scope, alias"
        ).fetchall()
    return [AliasTarget(*row) for row in rows]


def audit_log(
    store: Store,
    *,
    alias: str | None = None,
    scope: str | None = None,
    version_id: str | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Return audit-log entries, oldest first.

    Parameters
    ----------
    store : Store
        The registry store.
    alias, scope : str, optional
        Only moves of this alias, of this league set.
    version_id : str, optional
        Only moves from or to this version (full id; deleted ones too).
    limit : int, optional
        Only the latest ``limit`` entries.

    Returns
    -------
    list of AuditEntry
    """
    where, params = _audit_filter(alias, scope, version_id)
    query = f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit_log{where}"
    query += " ORDER BY audit_id DESC"
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise AliasError(f"limit must be a positive integer, got {limit!r}")
        query += f" LIMIT {limit}"
    with store.read() as con:
        rows = con.execute(query, params).fetchall()
    return [_entry(row) for row in reversed(rows)]


def rollback(
    store: Store,
    *,
    alias: str,
    reason: str,
    scope: str | None = None,
    who: str | None = None,
) -> PromotionResult:
    """Return an alias to the version it named before its latest promotion.

    Rollbacks undo promotions in reverse order: a second rollback returns to
    the version before the one promoted before, and so on. The move is
    written to the audit log like a promotion, with action ``rollback`` and
    the audit id it undoes as evidence. A short read checks first that there
    is something to undo, so a refused rollback writes nothing and creates no
    store file.

    Parameters
    ----------
    store : Store
        The registry store.
    alias : str
        ``champion`` or ``challenger``.
    reason : str
        Why; required.
    scope : str, optional
        League set, e.g. ``"E0,SP1"``; when omitted, the one scope whose
        ``alias`` names a version.
    who : str, optional
        Defaults to the operating-system user.

    Returns
    -------
    PromotionResult

    Raises
    ------
    NothingToRollBack
        When no promotion of the alias is left to undo, the version it would
        return to was deleted, or, with no scope given, no scope holds the
        alias.
    AliasError
        When no scope is given and several hold the alias, or on a bad
        argument.
    """
    alias, reason = check_alias(alias), check_reason(reason)
    with store.read() as con:
        scope = _rollback_scope(con, alias, scope)
        _rollback_target(con, alias, scope)
    who = who or current_user()
    with store.write() as con:
        undone, target = _rollback_target(con, alias, scope)
        current = current_target(con, alias, scope)
        evidence = {"undoes_audit_id": undone, "rolled_back_from": current}
        entry = write_move(
            con,
            action="rollback",
            alias=alias,
            scope=scope,
            expected_from=current,
            to_version=target,
            who=who,
            reason=reason,
            forced=False,
            evidence=evidence,
        )
    logger.info("rolled back %s of %s to %s", alias, scope, target)
    return PromotionResult(entry=entry)


def write_move(
    con: duckdb.DuckDBPyConnection,
    *,
    action: str,
    alias: str,
    scope: str,
    expected_from: str | None,
    to_version: str,
    who: str,
    reason: str,
    forced: bool,
    evidence: dict[str, Any],
) -> AuditEntry:
    """Move an alias and append its audit row, inside the caller's transaction.

    This is the only code that changes ``aliases``.

    Raises
    ------
    AliasMoved
        When the alias does not name ``expected_from`` any more.
    """
    current = current_target(con, alias, scope)
    if current != expected_from:
        raise AliasMoved(
            f"the {alias} of {scope} moved from {expected_from} to {current} "
            "while this command was deciding; run it again"
        )
    to_version = resolve_version_id(con, to_version)
    at = datetime.now(UTC).replace(tzinfo=None)
    (audit_id,) = con.execute("SELECT nextval('audit_id_seq')").fetchone() or (None,)
    entry = AuditEntry(
        int(audit_id),
        at,
        action,
        alias,
        scope,
        current,
        to_version,
        who,
        reason,
        forced,
        json.loads(json.dumps(evidence)),
    )

    con.execute(
        f"INSERT INTO audit_log ({', '.join(_AUDIT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_AUDIT_COLUMNS))})",
        [*_audit_values(entry)],
    )
    if current is None:
        con.execute(
            "INSERT INTO aliases VALUES (?, ?, ?, ?, ?)",
            [alias, scope, to_version, at, entry.audit_id],
        )
    else:
        con.execute(
            "UPDATE aliases SET version_id = ?, moved_at = ?, audit_id = ? "
            "WHERE alias = ? AND scope = ?",
            [to_version, at, entry.audit_id, alias, scope],
        )
    return entry


def current_target(
    con: duckdb.DuckDBPyConnection, alias: str, scope: str
) -> str | None:
    """Return the version an alias names for a scope, within a connection."""
    found = con.execute(
        "SELECT version_id FROM aliases WHERE alias = ? AND scope = ?",
        [alias, scope],
    ).fetchone()
    return found[0] if found else None


def check_alias(alias: str) -> str:
    """Return ``alias`` when it is a known alias name, else raise AliasError."""
    if alias not in ALIASES:
        raise AliasError(f"alias must be one of {', '.join(ALIASES)}, got {alias!r}")
    return alias


def check_scope(scope: Any) -> str:
    """Return the canonical form of a scope, else raise AliasError."""
    try:
        return canonical_scope(scope)
    except (ValueError, TypeError) as exc:
        raise AliasError(str(exc)) from exc


def check_reason(reason: Any) -> str:
    """Return a stripped, non-empty reason, else raise AliasError."""
    if not isinstance(reason, str) or not reason.strip():
        raise AliasError(
            f"a reason is required for every alias move, got {reason!r}; say "
            "why, e.g. 'beats the champion on the 2023 backtest'"
        )
    return reason.strip()


def _rollback_scope(
    con: duckdb.DuckDBPyConnection, alias: str, scope: str | None
) -> str:
    if scope is not None:
        return check_scope(scope)
    held = [
        name
        for (name,) in con.execute(
            "SELECT scope FROM aliases WHERE alias = ? ORDER BY scope", [alias]
        ).fetchall()
    ]
    if not held:
        raise NothingToRollBack(
            f"no scope has a {alias} yet, so there is nothing to roll back; "
            "promote a version first"
        )
    if len(held) > 1:
        raise AliasError(
            f"the {alias} alias is held in {len(held)} scopes ({'; '.join(held)}); "
            f"name the one to roll back with --scope, e.g. --scope {held[0]}"
        )
    return held[0]


def _rollback_target(
    con: duckdb.DuckDBPyConnection, alias: str, scope: str
) -> tuple[int, str]:
    rows = con.execute(
        "SELECT audit_id, action, from_version FROM audit_log "
        "WHERE alias = ? AND scope = ? ORDER BY audit_id",
        [alias, scope],
    ).fetchall()
    undo: list[tuple[int, str | None]] = []
    for audit_id, action, from_version in rows:
        if action == "promote":
            undo.append((audit_id, from_version))
        elif undo:
            undo.pop()

    if not undo or undo[-1][1] is None:
        raise NothingToRollBack(
            f"the {alias} of {scope} has no earlier version to return to; "
            "promote a version instead"
        )
    audit_id, target = undo[-1]
    exists = con.execute(
        "SELECT count(*) FROM model_versions WHERE version_id = ?", [target]
    ).fetchone()
    if not exists or not exists[0]:
        raise NothingToRollBack(
            f"the {alias} of {scope} would return to model version {target}, "
            "which was deleted; promote a version instead"
        )
    return audit_id, target


def _audit_filter(
    alias: str | None, scope: str | None, version_id: str | None
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if alias is not None:
        clauses.append("alias = ?")
        params.append(check_alias(alias))
    if scope is not None:
        clauses.append("scope = ?")
        params.append(check_scope(scope))
    if version_id is not None:
        clauses.append("(from_version = ? OR to_version = ?)")
        params += [version_id, version_id]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _audit_values(entry: AuditEntry) -> list[Any]:
    values = [getattr(entry, name) for name in _AUDIT_COLUMNS]
    values[-1] = json.dumps(entry.evidence, sort_keys=True)
    return values


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    values = dict(zip(_AUDIT_COLUMNS, row, strict=True))
    values["evidence"] = json.loads(values["evidence"])
    return AuditEntry(**values)
