"""Time one Premier League season fit: NumPyro's compiled NUTS against PyMC.

Fits the ``poisson`` model to E0 2022/23 (380 matches, cut-off 2023-06-01) with
4 chains of 1,000 warmup and 1,000 draws, and prints:

- the first fit's compile and sampling time, then the steady-state refit time
  (median of ``--refits`` refits with new seeds, the sampler already compiled);
- convergence (max r-hat, min bulk and tail ESS, divergences) and the Spearman
  rank correlation of attack + defence with the final table's points;
- the PyMC twin with PyMC's default sampler on the same data and settings, and
  the ratio of effective samples per second (min bulk ESS over wall time),
  NumPyro over PyMC.

Usage::

    python bench/bench_fit.py [--devices 4] [--refits 3] [--no-pymc] [--pymc-cores N]
        [--compilation-cache DIR] [--quick]

``--devices`` sets ``XLA_FLAGS=--xla_force_host_platform_device_count`` before
JAX is imported, so chains run in parallel on CPU cores. PyTensor is linked to
OpenBLAS when the system has it (Debian's libopenblas-dev), as a conda install
would be; without a BLAS PyMC would be measured at a disadvantage.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "football-data" / "mmz4281"
SHARED = [
    "intercept",
    "home_advantage",
    "attack_sd",
    "defence_sd",
    "new_team_attack",
    "new_team_defence",
    "attack",
    "defence",
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=4, help="JAX CPU devices")
    parser.add_argument("--refits", type=int, default=3, help="steady-state refits")
    parser.add_argument("--no-pymc", action="store_true", help="skip the PyMC twin")
    parser.add_argument(
        "--pymc-cores",
        type=int,
        default=None,
        help="processes for PyMC chains (default: PyMC's own choice)",
    )
    parser.add_argument(
        "--compilation-cache", type=Path, default=None, help="JAX cache folder"
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 chains of 200 + 200 draws"
    )
    return parser.parse_args(argv)


def season_matches(league: str, season: int):
    """Read one season file of the shared data with the project's reader."""
    from engine.football_data import combine, read_paths

    code = f"{season % 100:02d}{(season + 1) % 100:02d}"
    return combine(read_paths([DATA / code / f"{league}.csv"])).matches


def table_points(matches) -> dict[str, int]:
    """Return each team's league points (3 a win, 1 a draw)."""
    from engine.standings import league_table

    table = league_table(matches)
    return dict(zip(table["team"], table["points"], strict=True))


def min_ess_bulk(posterior) -> float:
    """Return the smallest bulk ESS over the variables both models share."""
    import arviz as az

    ess = az.ess(posterior[SHARED], method="bulk")
    return float(min(float(ess[name].min()) for name in SHARED))


def bench_numpyro(design, settings: dict, refits: int):
    """Fit once (compiling), refit ``refits`` times; return fits and times."""
    from engine.model import ConvergenceWarning, fit

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = fit(design, model="poisson", seed=0, **settings)
        first_wall = time.perf_counter() - started
        walls, fits = [], [first]
        for seed in range(1, refits + 1):
            started = time.perf_counter()
            fits.append(fit(design, model="poisson", seed=seed, **settings))
            walls.append(time.perf_counter() - started)
    return fits, first_wall, walls


def bench_pymc(design, settings: dict, cores: int | None):
    """Sample the PyMC twin with PyMC's default sampler; return idata and time."""
    from engine.model.pymc_twin import sample_twin

    started = time.perf_counter()
    idata = sample_twin(
        design,
        draws=settings["num_samples"],
        tune=settings["num_warmup"],
        chains=settings["num_chains"],
        seed=0,
        cores=cores,
    )
    return idata, time.perf_counter() - started


def report(args: argparse.Namespace) -> None:
    """Run the benchmark and print its figures."""
    import jax
    from scipy import stats

    from engine.model import compile_count, design, enable_compilation_cache

    if args.compilation_cache is not None:
        enable_compilation_cache(args.compilation_cache)
    settings = {"num_warmup": 1000, "num_samples": 1000, "num_chains": 4}
    if args.quick:
        settings = {"num_warmup": 200, "num_samples": 200, "num_chains": 2}
    matches = season_matches("E0", 2022)
    d = design(matches, cutoff=date(2023, 6, 1), seasons=[2022])
    print(f"data: E0 2022/23, {d.num_matches} matches, bucket {tuple(d.bucket)}")
    print(
        f"settings: {settings['num_chains']} chains x {settings['num_warmup']} "
        f"warmup + {settings['num_samples']} draws; {jax.local_device_count()} "
        f"JAX devices, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}"
    )

    fits, first_wall, walls = bench_numpyro(d, settings, args.refits)
    first, last = fits[0], fits[-1]
    steady = statistics.median(walls) if walls else float("nan")
    print(f"numpyro chain_method: {first.idata.attrs['chain_method']}")
    print(
        f"numpyro first fit: {first_wall:.2f} s wall "
        f"(compile {first.compile_seconds:.2f} s, sampling {first.run_seconds:.2f} s)"
    )
    sampling = [f.run_seconds for f in fits[1:]]
    print(
        f"numpyro steady-state refit: median {steady:.2f} s wall over "
        f"{len(walls)} refits, fastest {min(walls):.2f} s (sampling median "
        f"{statistics.median(sampling):.2f} s, fastest {min(sampling):.2f} s); "
        f"compilations {compile_count()}"
    )
    diag = last.diagnostics
    print(
        f"numpyro diagnostics: max r-hat {diag.max_rhat:.4f}, min bulk ESS "
        f"{diag.min_ess_bulk:.0f}, min tail ESS {diag.min_ess_tail:.0f}, "
        f"divergences {sum(f.diagnostics.divergences for f in fits)} over "
        f"{len(fits)} fits, BFMI min {diag.bfmi_min:.2f}"
    )
    post = last.idata.posterior
    strength = (post.attack + post.defence).mean(("chain", "draw"))
    points = table_points(matches)
    spearman = stats.spearmanr(
        strength.values, [points[str(t)] for t in post.team.values]
    ).statistic
    print(f"Spearman(attack + defence, 2022/23 points): {spearman:.3f}")

    numpyro_ess = min_ess_bulk(post)
    numpyro_rate = numpyro_ess / steady
    print(
        f"numpyro min bulk ESS {numpyro_ess:.0f}: {numpyro_rate:.0f} ESS/s "
        f"steady state, {min_ess_bulk(first.idata.posterior) / first_wall:.0f} "
        "ESS/s first fit"
    )
    if args.no_pymc:
        return
    twin, pymc_wall = bench_pymc(d, settings, args.pymc_cores)
    pymc_ess = min_ess_bulk(twin.posterior)
    pymc_rate = pymc_ess / pymc_wall
    print(
        f"pymc default sampler ({args.pymc_cores or 'default'} cores): "
        f"{pymc_wall:.2f} s wall, min bulk ESS "
        f"{pymc_ess:.0f}: {pymc_rate:.0f} ESS/s"
    )
    print(
        f"ESS/s ratio numpyro / pymc: {numpyro_rate / pymc_rate:.1f}x steady state, "
        f"{min_ess_bulk(first.idata.posterior) / first_wall / pymc_rate:.1f}x "
        "first fit including compilation"
    )


def main(argv: list[str] | None = None) -> int:
    """Set the device count before JAX loads, then run the benchmark."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    flag = f"--xla_force_host_platform_device_count={args.devices}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    link_pytensor_to_blas()
    sys.path.insert(0, str(REPO))
    warnings.filterwarnings("ignore", category=FutureWarning)
    report(args)
    return 0


def link_pytensor_to_blas() -> None:
    """Point PyTensor at a system BLAS, so PyMC is not measured without one.

    A pip-installed PyTensor finds no BLAS by itself and then runs its matrix
    operations several times slower. Debian's libopenblas-dev provides one.
    """
    if "blas__ldflags" in os.environ.get("PYTENSOR_FLAGS", ""):
        return
    found = [
        p
        for p in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")
        if Path(p, "libopenblas.so").exists()
    ]
    if found:
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        os.environ["PYTENSOR_FLAGS"] = f"{flags},blas__ldflags=-lopenblas".strip(",")
    else:
        print("PyTensor has no BLAS here (install libopenblas-dev): PyMC runs slower")


if __name__ == "__main__":
    raise SystemExit(main())
