"""Chains spread over several JAX devices, or vectorized, in a fresh process.

The device count of JAX is fixed when it is first imported, so these fits run in
a child interpreter started with two CPU devices.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import jax, numpy as np
    sys.path.insert(0, sys.argv[1])
    from simulated import CUTOFF, simulate
    from engine.model import ConvergenceWarning, design, fit

    warnings.simplefilter("ignore", ConvergenceWarning)
    d = design(simulate(11)[0], cutoff=CUTOFF)
    settings = dict(num_warmup=60, num_samples=40, num_chains=4)
    out = {"devices": jax.local_device_count()}
    for method in ("parallel", "vectorized"):
        runs, steps = [], []
        for _ in range(2):
            result = fit(
                d, model="dixon_coles", seed=5, chain_method=method,
                progress=lambda phase, done, total: steps.append(done), **settings,
            )
            runs.append(result)
        a, b = (r.idata.posterior.attack.values for r in runs)
        out[method] = {
            "chain_method": runs[0].idata.attrs["chain_method"],
            "shape": list(a.shape),
            "repeatable": bool(np.array_equal(a, b)),
            "chains_differ": bool(not np.array_equal(a[0], a[1])),
            "finite": bool(np.isfinite(a).all()),
            "last_step": steps[-1],
            "warm_start_chains": int(runs[0].warm_start.state.step_size.shape[0]),
        }
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_parallel_and_vectorized_chains_are_repeatable() -> None:
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(REPO / "tests" / "engine")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2
    for method in ("parallel", "vectorized"):
        result = out[method]
        assert result["chain_method"] == method
        assert result["shape"] == [4, 40, 20]
        assert result["repeatable"] and result["chains_differ"] and result["finite"]
        assert result["last_step"] == 4 * 100
        assert result["warm_start_chains"] == 4
