"""Posterior artefacts as bytes: ArviZ InferenceData to and from netCDF-4.

Kept apart from :mod:`engine.model` so that reading or writing an artefact
needs ArviZ and h5netcdf only, not JAX. Nothing here pickles.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import arviz


def to_netcdf_bytes(idata: arviz.InferenceData) -> bytes:
    """Serialise InferenceData to netCDF-4 bytes with the h5netcdf engine.

    Parameters
    ----------
    idata : arviz.InferenceData
        Any InferenceData; every group is written.

    Returns
    -------
    bytes
        An HDF5 file, readable by :func:`from_netcdf_bytes` or by plain
        ``arviz.from_netcdf`` once written to disk.
    """
    with tempfile.TemporaryDirectory(prefix="touchline-") as folder:
        path = os.path.join(folder, "posterior.nc")
        idata.to_netcdf(path, engine="h5netcdf")
        with open(path, "rb") as handle:
            return handle.read()


def from_netcdf_bytes(blob: bytes) -> arviz.InferenceData:
    """Read InferenceData from netCDF-4 bytes, every group loaded in memory.

    Parameters
    ----------
    blob : bytes
        Bytes such as :func:`to_netcdf_bytes` returns.

    Returns
    -------
    arviz.InferenceData
        Fully loaded, so that it outlives ``blob``.
    """
    import arviz

    with arviz.rc_context({"data.load": "eager"}):
        return arviz.from_netcdf(io.BytesIO(bytes(blob)), engine="h5netcdf")
