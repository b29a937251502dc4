"""Where a model version comes from: its rows, its code, its user, its scope.

These helpers compute and check, before anything is written, what a version
records: the digest of its exact training rows, the package version and git
commit of the code that fitted it, who registered it, the league set it
covers, and its posterior as netCDF bytes.
"""

from __future__ import annotations

import getpass
import hashlib
import importlib.metadata
import io
import json
import re
import subprocess
from collections.abc import Iterable
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

_LEAGUE = re.compile(r"[A-Za-z0-9_]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NETCDF_SIGNATURES = (b"\x89HDF\r\n\x1a\n",)
_COMMIT = re.compile(r"[0-9a-f]{40,64}")


def training_rows_hash(frame: pl.DataFrame) -> str:
    r"""Return a sha256 that names exactly a set of training rows.

    The digest does not depend on row or column order. Columns are taken in
    sorted name order; each row becomes one line, the JSON array of its
    values (null; true/false; integers; floats by their shortest round-trip
    form, NaN as ``NaN``; dates, times and datetimes in ISO 8601; anything
    else as its ``str``). The lines are sorted by byte value and hashed after
    a first line holding the JSON array of column names, every line ending in
    ``\n``. Duplicate rows count, so repeating a row changes the digest.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows the model was trained on.

    Returns
    -------
    str
        64 lowercase hex characters.
    """
    columns = sorted(frame.columns)
    lines = sorted(
        json.dumps([_canonical_value(v) for v in row], ensure_ascii=False)
        for row in frame.select(columns).iter_rows()
    )

    digest = hashlib.sha256()
    digest.update((json.dumps(columns, ensure_ascii=False) + "\n").encode())
    for line in lines:
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()


def canonical_scope(leagues: str | Iterable[str]) -> str:
    """Return a league set as sorted, comma-joined, de-duplicated codes.

    Parameters
    ----------
    leagues : str or iterable of str
        Codes such as ``["SP1", "E0"]`` or a comma-separated ``"SP1, E0"``.

    Returns
    -------
    str
        E.g. ``"E0,SP1"``.

    Raises
    ------
    ValueError
        When no code is given or a code is not letters and digits.
    """
    parts = leagues.split(",") if isinstance(leagues, str) else list(leagues)
    codes = sorted({str(code).strip() for code in parts})
    bad = [code for code in codes if not _LEAGUE.fullmatch(code)]
    if bad or not codes:
        raise ValueError(
            f"a scope is one or more league codes such as E0,SP1, got "
            f"{leagues!r}; name the leagues by their division codes"
        )
    return ",".join(codes)


def current_user() -> str:
    """Return the operating-system user name, or ``unknown`` when none is set."""
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"


def package_version() -> str | None:
    """Return the installed ``touchline`` version, or None when not installed."""
    try:
        return importlib.metadata.version("touchline")
    except importlib.metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """Return the commit of the package's source tree, or None when unknown.

    Runs ``git rev-parse HEAD`` in the folder holding the packages; any
    failure (no git, not a checkout, a slow disk) gives None.
    """
    source = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=source,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and _COMMIT.fullmatch(commit) else None


def _canonical_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def checked_inputs(
    *,
    model: str,
    config: dict[str, Any],
    selection: dict[str, Any],
    diagnostics: dict[str, Any],
    training_hash: str,
    seed: int,
    idata_netcdf: bytes,
) -> dict[str, Any]:
    """Check what a version is to record and return its stored form.

    Returns
    -------
    dict
        ``model``; ``config``, ``selection`` and ``diagnostics`` as JSON text
        with sorted keys; ``scope`` from the selection's leagues;
        ``training_hash``; ``seed``.

    Raises
    ------
    ValueError
        Naming the first value that does not meet its schema.
    """
    texts = _checked_texts(model, config, selection, diagnostics)
    _check_hash(training_hash)
    _check_seed(seed)
    _check_netcdf(idata_netcdf)
    return {
        "model": model,
        **texts,
        "scope": _selection_scope(selection),
        "training_hash": training_hash,
        "seed": int(seed),
    }


def _checked_texts(
    model: str,
    config: dict[str, Any],
    selection: dict[str, Any],
    diagnostics: dict[str, Any],
) -> dict[str, str]:
    if not isinstance(model, str) or not model.strip():
        raise ValueError(
            f"model must be a non-empty model name, got {model!r}; pass e.g. "
            "'dixon_coles'"
        )
    named = {"config": config, "selection": selection, "diagnostics": diagnostics}
    return {name: _json_text(name, value) for name, value in named.items()}


def _json_text(name: str, value: Any) -> str:
    if not isinstance(value, dict):
        raise ValueError(
            f"{name} must be a dict, got {type(value).__name__}; pass plain "
            "values such as Config.to_dict()"
        )
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} is not JSON-serialisable ({exc}); pass plain values "
            "(str, int, float, bool, None, list, dict)"
        ) from exc


def _check_hash(training_hash: str) -> None:
    if not (isinstance(training_hash, str) and _SHA256.fullmatch(training_hash)):
        raise ValueError(
            f"training_hash must be 64 lowercase hex characters, got "
            f"{training_hash!r}; compute it with training_rows_hash(frame)"
        )


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(
            f"seed must be an integer in [0, 2**63), got {seed!r}; pass the "
            "seed the fit drew from"
        )


def _check_netcdf(data: bytes) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(
            f"idata_netcdf must be bytes, got {type(data).__name__}; pass "
            "engine.artefacts.to_netcdf_bytes(idata)"
        )
    if bytes(data[:8]) not in _NETCDF_SIGNATURES:
        raise ValueError(
            f"idata_netcdf is not netCDF-4 (starts {bytes(data[:8])!r}); pass "
            "engine.artefacts.to_netcdf_bytes(idata)"
        )
    import h5py

    try:
        with h5py.File(io.BytesIO(bytes(data)), "r") as handle:
            groups = set(handle.keys())
    except OSError as exc:
        raise ValueError(
            f"idata_netcdf cannot be opened as netCDF-4 ({exc}); pass "
            "engine.artefacts.to_netcdf_bytes(idata)"
        ) from exc
    if "posterior" not in groups:
        raise ValueError(
            f"idata_netcdf has no posterior group (groups: {sorted(groups)}); "
            "pass InferenceData holding the fitted posterior"
        )


def _selection_scope(selection: dict[str, Any]) -> str | None:
    leagues = selection.get("leagues")
    if leagues is None:
        return None
    try:
        return canonical_scope(leagues)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"selection['leagues']: {exc}") from exc
