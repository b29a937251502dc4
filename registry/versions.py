"""Model versions: immutable fits, each with its posterior artefact.

A model version is one fit, kept whole: the model name and the resolved config,
the training selection and a hash of its exact rows, the seed, the package
version and git commit, the diagnostics summary and the posterior as netCDF
bytes with their sha256. It is registered by one short write transaction and
never changed afterwards.

Immutability is kept in code, since DuckDB has no triggers. This module is the
only writer of ``model_versions`` and it has no update path: a version is
inserted whole by :func:`register_version` and can only be removed whole by
:func:`delete_version`, which leaves a row in ``version_deletions``. Every row
also carries ``record_sha256``, a digest of all its other columns, and
``artefact_sha256``; :func:`load_artefact` checks both on every read and
:func:`registry.integrity.check_integrity` checks every row, so a change made
outside this module, by SQL or on disk, is found rather than trusted.

Any table that names a model version calls the column ``version_id`` (or ends
it in ``_version_id``); :func:`delete_version` refuses while any such row
exists, so tables added later protect their versions without changes here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from engine.artefacts import from_netcdf_bytes
from registry.provenance import (
    checked_inputs,
    current_user,
    git_commit,
    package_version,
)
from registry.provenance import training_rows_hash as training_rows_hash
from registry.store import Store, StoreError

if TYPE_CHECKING:
    import arviz

logger = logging.getLogger(__name__)

ID_LENGTH = 10
MIN_PREFIX = 4
LIST_HINT = "run `touchline registry list` to see the ids"

_HEX = re.compile(r"[0-9a-f]+")
_OWN_TABLES = ("model_versions", "version_deletions")
_RECORD_COLUMNS = (
    "version_id",
    "created_at",
    "model",
    "config",
    "selection",
    "scope",
    "training_hash",
    "seed",
    "package_version",
    "git_commit",
    "diagnostics",
    "artefact_sha256",
    "artefact_size",
    "created_by",
)


class RegistryError(StoreError):
    """A registry request that cannot be done; the message says what to do."""


class InvalidVersionInput(RegistryError, ValueError):
    """A value given to register a version does not meet its schema."""


class UnknownVersion(RegistryError, LookupError):
    """No model version has the id (or id prefix) given."""


class ArtefactCorrupted(RegistryError):
    """A stored version no longer matches its recorded sha256 digests."""


class VersionInUse(RegistryError):
    """A model version cannot be deleted while an alias or a run names it."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered fit, as stored; the posterior bytes are read separately.

    Attributes
    ----------
    version_id : str
        Ten lowercase hex characters.
    created_at : datetime.datetime
        Registration time, UTC without a time zone.
    model : str
        Model name, e.g. ``dixon_coles``.
    config : dict
        The full resolved run configuration.
    selection : dict
        Which matches trained the model (leagues, cut-off, window, ...).
    scope : str or None
        The selection's leagues as sorted comma-joined codes (``E0,SP1``), or
        None when the selection names no leagues.
    training_hash : str
        :func:`training_rows_hash` of the training rows.
    seed : int
        The seed the fit drew from.
    package_version : str or None
        Version of the installed ``touchline`` package.
    git_commit : str or None
        Commit of the source tree, when it is a git checkout.
    diagnostics : dict
        Summary of the sampler diagnostics (see :mod:`registry.policy`).
    artefact_sha256 : str
        Hex sha256 of the netCDF bytes.
    artefact_size : int
        Length of the netCDF bytes.
    created_by : str
        Who registered it.
    """

    version_id: str
    created_at: datetime
    model: str
    config: dict[str, Any] = field(repr=False)
    selection: dict[str, Any]
    scope: str | None
    training_hash: str
    seed: int
    package_version: str | None
    git_commit: str | None
    diagnostics: dict[str, Any] = field(repr=False)
    artefact_sha256: str
    artefact_size: int
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        """Return the version as JSON-ready values under stable keys.

        The keys are the attribute names, in their order; ``created_at`` is
        ISO 8601 in UTC with a ``Z``.
        """
        out = {name: getattr(self, name) for name in _RECORD_COLUMNS}
        out["created_at"] = _iso(self.created_at)
        out["config"] = json.loads(json.dumps(self.config))
        out["selection"] = json.loads(json.dumps(self.selection))
        out["diagnostics"] = json.loads(json.dumps(self.diagnostics))
        return out


def register_version(
    store: Store,
    *,
    model: str,
    config: dict[str, Any],
    selection: dict[str, Any],
    training_hash: str,
    seed: int,
    idata_netcdf: bytes,
    diagnostics: dict[str, Any],
    created_by: str | None = None,
) -> ModelVersion:
    """Register a new immutable model version in one write transaction.

    Everything is checked and computed first (digests, package version, git
    commit); the transaction only picks a fresh id and inserts one row, so a
    process killed at any point leaves either the whole version or nothing.

    Parameters
    ----------
    store : Store
        The registry store.
    model : str
        Model name.
    config : dict
        The full resolved configuration, JSON-serialisable.
    selection : dict
        The training selection; a ``leagues`` list sets the version's scope.
    training_hash : str
        64 hex characters, from :func:`training_rows_hash`.
    seed : int
        The seed of the fit, ``0 <= seed < 2**63``.
    idata_netcdf : bytes
        The posterior as ArviZ InferenceData in netCDF-4, with a ``posterior``
        group (see :func:`engine.artefacts.to_netcdf_bytes`).
    diagnostics : dict
        Diagnostics summary, JSON-serialisable.
    created_by : str, optional
        Who registers it; defaults to the operating-system user.

    Returns
    -------
    ModelVersion
        The stored version.

    Raises
    ------
    InvalidVersionInput
        When a value does not meet its schema; nothing is written.
    """
    try:
        checked = checked_inputs(
            model=model,
            config=config,
            selection=selection,
            diagnostics=diagnostics,
            training_hash=training_hash,
            seed=seed,
            idata_netcdf=idata_netcdf,
        )
    except ValueError as exc:
        raise InvalidVersionInput(str(exc)) from exc
    data = bytes(idata_netcdf)
    row: dict[str, Any] = {
        "created_at": datetime.now(UTC).replace(tzinfo=None),
        **checked,
        "package_version": package_version(),
        "git_commit": git_commit(),
        "artefact_sha256": hashlib.sha256(data).hexdigest(),
        "artefact_size": len(data),
        "created_by": created_by or current_user(),
    }

    with store.write() as con:
        row["version_id"] = _fresh_id(con)
        row["record_sha256"] = record_digest(row)
        columns = [*_RECORD_COLUMNS, "record_sha256", "netcdf"]
        values = [row[name] for name in columns[:-1]] + [data]
        con.execute(
            f"INSERT INTO model_versions ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            values,
        )

    logger.info("registered model version %s (%s)", row["version_id"], model)
    return _version_from_row(row)


def get_version(store: Store, version_id: str) -> ModelVersion:
    """Return one model version by id or unique id prefix.

    Raises
    ------
    UnknownVersion
        When no version, or more than one, matches.
    """
    with store.read() as con:
        full_id = resolve_version_id(con, version_id)
        return fetch_version(con, full_id)


def list_versions(store: Store, *, scope: str | None = None) -> list[ModelVersion]:
    """Return every model version, oldest first.

    Parameters
    ----------
    store : Store
        The registry store.
    scope : str, optional
        Only versions whose scope is exactly this canonical league set.

    Returns
    -------
    list of ModelVersion
    """
    query = f"SELECT {', '.join(_RECORD_COLUMNS)} FROM model_versions"
    params: list[Any] = []
    if scope is not None:
        query += " WHERE scope = ?"
        params.append(scope)
    with store.read() as con:
        rows = con.execute(query + " ORDER BY created_at, version_id", params)
        return [
            _version_from_row(dict(zip(_RECORD_COLUMNS, r, strict=True)))
            for r in rows.fetchall()
        ]


def load_artefact(store: Store, version_id: str) -> bytes:
    """Return the netCDF bytes of a version after checking their digests.

    Raises
    ------
    UnknownVersion
        When the id matches no version.
    ArtefactCorrupted
        When the bytes or the record no longer match their sha256.
    """
    with store.read() as con:
        full_id = resolve_version_id(con, version_id)
        row = _fetch_row(con, full_id, with_artefact=True)

    problems = verify_row(row)
    if problems:
        raise ArtefactCorrupted(
            f"{'; '.join(problems)}; the version cannot be trusted: restore the store "
            "from a backup, or delete the version and fit it again"
        )
    return bytes(row["netcdf"])


def load_inference_data(store: Store, version_id: str) -> arviz.InferenceData:
    """Return the posterior of a version as ArviZ InferenceData, fully loaded.

    The netCDF bytes are opened in memory with h5netcdf; nothing is unpickled.
    """
    return from_netcdf_bytes(load_artefact(store, version_id))


def export_version(
    store: Store, version_id: str, path: str | Path, *, overwrite: bool = False
) -> Path:
    """Write a version's posterior to a ``.nc`` file that ArviZ opens as is.

    The bytes are checked first and written to a temporary file beside
    ``path`` that is renamed into place, so a reader never sees half a file.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    RegistryError
        When ``path`` exists and ``overwrite`` is false.
    """
    target = Path(path).expanduser()
    if target.exists() and not overwrite:
        raise RegistryError(
            f"{target} already exists; pick another path or pass overwrite"
        )
    data = load_artefact(store, version_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def delete_version(
    store: Store, version_id: str, *, deleted_by: str | None = None
) -> ModelVersion:
    """Delete a version that no alias and no run names; record the deletion.

    The check and the delete happen in one write transaction, so an alias or
    a run added by another process cannot slip in between.

    Returns
    -------
    ModelVersion
        The version as it was.

    Raises
    ------
    VersionInUse
        When an alias or any row of another table names the version.
    """
    who = deleted_by or current_user()
    with store.read() as con:  # an unknown id is refused before any file is made
        resolve_version_id(con, version_id)
    with store.write() as con:
        full_id = resolve_version_id(con, version_id)
        version = fetch_version(con, full_id)
        _refuse_if_referenced(con, full_id)
        con.execute(
            "INSERT INTO version_deletions VALUES (?, ?, ?, ?)",
            [
                full_id,
                datetime.now(UTC).replace(tzinfo=None),
                who,
                json.dumps(version.to_dict(), sort_keys=True),
            ],
        )
        con.execute("DELETE FROM model_versions WHERE version_id = ?", [full_id])
    logger.info("deleted model version %s", full_id)
    return version


def resolve_version_id(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """Return the full id of the one version whose id starts with ``text``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection to the store.
    text : str
        A full id or a prefix of at least four hex characters.

    Raises
    ------
    UnknownVersion
        When nothing or more than one version matches.
    """
    given = str(text).strip().lower()
    if not (MIN_PREFIX <= len(given) <= ID_LENGTH and _HEX.fullmatch(given)):
        raise UnknownVersion(
            f"a model version id is {MIN_PREFIX} to {ID_LENGTH} hex characters, "
            f"got {text!r}; {LIST_HINT}"
        )
    found = [
        vid
        for (vid,) in con.execute(
            "SELECT version_id FROM model_versions WHERE starts_with(version_id, ?) "
            "ORDER BY version_id LIMIT 5",
            [given],
        ).fetchall()
    ]
    if len(found) == 1:
        return found[0]
    if found:
        raise UnknownVersion(
            f"id prefix {given!r} matches several model versions "
            f"({', '.join(found)}); give more characters"
        )
    raise UnknownVersion(_missing_message(con, given))


def record_digest(row: dict[str, Any]) -> str:
    """Return the sha256 of a version row's stored columns, bar the digest."""
    values = [row[name] for name in _RECORD_COLUMNS]
    values = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def verify_row(row: dict[str, Any]) -> list[str]:
    """Return what is wrong with a stored version row; empty when it is sound.

    ``row`` holds the record columns, ``record_sha256`` and, when the
    artefact is to be checked, ``netcdf``.
    """
    vid = row["version_id"]
    problems = []
    if record_digest(row) != row["record_sha256"]:
        problems.append(f"model version {vid} was changed after it was registered")
    if "netcdf" not in row:
        return problems

    data = row["netcdf"]
    computed = hashlib.sha256(data or b"").hexdigest()
    if computed != row["artefact_sha256"] or len(data or b"") != row["artefact_size"]:
        problems.append(
            f"artefact of model version {vid} fails its sha256 check "
            f"(recorded {row['artefact_sha256'][:12]}, read {computed[:12]})"
        )
    return problems


def fetch_row(
    con: duckdb.DuckDBPyConnection, version_id: str, *, with_artefact: bool
) -> dict[str, Any] | None:
    """Return a stored version row as a dict, or None when absent."""
    columns = [*_RECORD_COLUMNS, "record_sha256"]
    if with_artefact:
        columns.append("netcdf")
    found = con.execute(
        f"SELECT {', '.join(columns)} FROM model_versions WHERE version_id = ?",
        [version_id],
    ).fetchone()
    return dict(zip(columns, found, strict=True)) if found else None


def _fetch_row(
    con: duckdb.DuckDBPyConnection, version_id: str, *, with_artefact: bool
) -> dict[str, Any]:
    row = fetch_row(con, version_id, with_artefact=with_artefact)
    if row is None:
        raise UnknownVersion(_missing_message(con, version_id))
    return row


def fetch_version(con: duckdb.DuckDBPyConnection, version_id: str) -> ModelVersion:
    """Return the version with this full id, within a connection.

    Raises
    ------
    UnknownVersion
        When it does not exist.
    """
    return _version_from_row(_fetch_row(con, version_id, with_artefact=False))


def _version_from_row(row: dict[str, Any]) -> ModelVersion:
    values = {name: row[name] for name in _RECORD_COLUMNS}
    for name in ("config", "selection", "diagnostics"):
        values[name] = json.loads(values[name])
    return ModelVersion(**values)


def _missing_message(con: duckdb.DuckDBPyConnection, given: str) -> str:
    deleted = con.execute(
        "SELECT version_id, deleted_at FROM version_deletions "
        "WHERE starts_with(version_id, ?) ORDER BY version_id LIMIT 1",
        [given],
    ).fetchone()
    if deleted:
        return (
            f"model version {deleted[0]} was deleted at {_iso(deleted[1])}; {LIST_HINT}"
        )
    return f"no model version has the id {given!r}; {LIST_HINT}"


def _fresh_id(con: duckdb.DuckDBPyConnection) -> str:
    while True:
        candidate = uuid.uuid4().hex[:ID_LENGTH]
        taken = con.execute(
            "SELECT count(*) FROM (SELECT version_id FROM model_versions "
            "UNION ALL SELECT version_id FROM version_deletions) "
            "WHERE version_id = ?",
            [candidate],
        ).fetchone()
        if not taken or not taken[0]:
            return candidate


def _refuse_if_referenced(con: duckdb.DuckDBPyConnection, version_id: str) -> None:
    alias = con.execute(
        "SELECT alias, scope FROM aliases WHERE version_id = ? "
        "ORDER BY alias, scope LIMIT 1",
        [version_id],
    ).fetchone()
    if alias:
        raise VersionInUse(
            f"model version {version_id} is the {alias[0]} of {alias[1]}; move "
            "that alias to another version (promote or rollback) before deleting"
        )
    for table, column in _referencing_columns(con):
        count = con.execute(
            f'SELECT count(*) FROM "{table}" WHERE "{column}" = ?', [version_id]
        ).fetchone()
        if count and count[0]:
            raise VersionInUse(
                f"model version {version_id} is named by {count[0]} row(s) of "
                f"{table}.{column}; delete those first or keep the version"
            )


def _referencing_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND database_name = current_database() "
        "AND (column_name = 'version_id' OR column_name LIKE '%\\_version\\_id' "
        "ESCAPE '\\') ORDER BY table_name, column_name"
    ).fetchall()
    skip = {*_OWN_TABLES, "aliases"}
    return [(t, c) for t, c in rows if t not in skip]


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"
