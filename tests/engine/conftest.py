"""Fits on simulated data shared by the engine tests, one per test module.

The helpers beside these tests are made importable (tests run in importlib
mode).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from simulated import CUTOFF, quiet_fit, simulate  # noqa: E402

from engine.model import Fit, compile_count, design  # noqa: E402


@pytest.fixture(scope="module")
def simulated() -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    return simulate(11)


@pytest.fixture(scope="module")
def sim_design(simulated: tuple[pl.DataFrame, Any]) -> Any:
    return design(simulated[0], cutoff=CUTOFF)


@pytest.fixture(scope="module")
def poisson_fit(sim_design: Any) -> tuple[Fit, int]:
    before = compile_count()
    result = quiet_fit(sim_design, model="poisson", seed=7)
    return result, compile_count() - before


@pytest.fixture(scope="module")
def dixon_coles_fit(sim_design: Any) -> Fit:
    return quiet_fit(sim_design, model="dixon_coles", seed=3)
