"""Time a walk-forward season: weekly refits through the 2023/24 Premier League.

Before each week with fixtures, the model is refitted on the matches of the
previous ``--window-days`` (decay-weighted, half-life ``--half-life`` days),
and the week's matches are scored out of sample with `fixture_rates`. Prints
the number of refits, the array buckets they used, compilations, total time and
the share of it spent compiling, per-refit times, convergence over all refits
and the mean out-of-sample log score of the exact result.

Usage::

    python bench/bench_walk_forward.py [--model dixon_coles] [--num-warmup 1000]
        [--num-samples 1000] [--warm-start] [--devices 4] [--quick]

Sampler settings default to those of a production fit, 4 chains of 1,000
warmup and 1,000 draws; shorter chains converge less often (at 500 + 500,
about a third of the Dixon-Coles refits carried a convergence caveat).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "football-data" / "mmz4281"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dixon_coles", help="model name")
    parser.add_argument("--num-warmup", type=int, default=1000)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--num-chains", type=int, default=4)
    parser.add_argument("--window-days", type=int, default=365)
    parser.add_argument("--half-life", type=float, default=365.0)
    parser.add_argument(
        "--warm-start",
        action="store_true",
        help="start each refit from the previous one, with --warm-warmup warmup",
    )
    parser.add_argument("--warm-warmup", type=int, default=200)
    parser.add_argument("--devices", type=int, default=4, help="JAX CPU devices")
    parser.add_argument(
        "--quick", action="store_true", help="first 8 weeks, 2 chains of 200 + 200"
    )
    return parser.parse_args(argv)


def read_matches():
    """Read E0 2022/23 and 2023/24 with the project's reader."""
    from engine.football_data import combine, read_paths

    paths = [DATA / code / "E0.csv" for code in ("2223", "2324")]
    return combine(read_paths(paths)).matches


def weeks(matches, season: int, limit: int | None) -> list[date]:
    """Return weekly cut-offs from the season's first kickoff that have fixtures."""
    import polars as pl

    kickoffs = matches.filter(pl.col("season") == season)["kickoff"]
    cutoff, last = kickoffs.min(), kickoffs.max()
    out = []
    while cutoff <= last:
        upcoming = (kickoffs >= cutoff) & (kickoffs < cutoff + timedelta(days=7))
        if upcoming.any():
            out.append(cutoff)
        cutoff += timedelta(days=7)
    return out[:limit]


def out_of_sample_log_score(result, fixtures) -> list[float]:
    """Return log of the posterior predictive probability of each exact result.

    Computed in NumPy: the number of fixtures changes every week, and JAX would
    compile its operations again for every new shape.
    """
    import jax
    import numpy as np
    from scipy import stats
    from scipy.special import logsumexp

    from engine.model import fixture_rates

    rates = fixture_rates(result, fixtures, rng_key=jax.random.key(0))
    x = fixtures["home_goals"].to_numpy()[None]
    y = fixtures["away_goals"].to_numpy()[None]
    lam, mu = rates.home_rate.astype(np.float64), rates.away_rate.astype(np.float64)
    log_p = stats.poisson.logpmf(x, lam) + stats.poisson.logpmf(y, mu)
    if rates.rho is not None:
        rho = rates.rho.astype(np.float64)
        tau = np.select(
            [
                (x == 0) & (y == 0),
                (x == 0) & (y == 1),
                (x == 1) & (y == 0),
                (x == 1) & (y == 1),
            ],
            [1 - lam * mu * rho, 1 + lam * rho, 1 + mu * rho, 1 - rho + 0 * lam],
            default=1.0,
        )
        log_p = log_p + np.log(tau)
    return list(logsumexp(log_p, axis=0) - np.log(log_p.shape[0]))


def walk(args: argparse.Namespace) -> None:
    """Refit week by week and print the figures."""
    import jax
    import polars as pl

    from engine.model import ConvergenceWarning, compile_count, design, fit

    matches = read_matches()
    cutoffs = weeks(matches, 2023, 8 if args.quick else None)
    settings = {
        "num_warmup": args.num_warmup,
        "num_samples": args.num_samples,
        "num_chains": args.num_chains,
    }
    if args.quick:
        settings = {"num_warmup": 200, "num_samples": 200, "num_chains": 2}
    print(
        f"walk-forward: E0 2023/24, {len(cutoffs)} weekly refits of {args.model}, "
        f"window {args.window_days} days, half-life {args.half_life:g} days; "
        f"{settings['num_chains']} chains x {settings['num_warmup']} warmup + "
        f"{settings['num_samples']} draws"
        + (f" (warm starts: {args.warm_warmup} warmup)" if args.warm_start else "")
    )
    print(
        f"{jax.local_device_count()} JAX devices, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    compiles_before, started = compile_count(), time.perf_counter()
    fits, buckets, scores, previous = [], set(), [], None
    for cutoff in cutoffs:
        d = design(
            matches,
            cutoff=cutoff,
            window_days=args.window_days,
            decay_half_life_days=args.half_life,
        )
        buckets.add(tuple(d.bucket))
        options = dict(settings)
        if args.warm_start and previous is not None:
            options.update(num_warmup=args.warm_warmup, warm_start=previous.warm_start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = fit(d, model=args.model, seed=cutoff.toordinal(), **options)
        week = matches.filter(
            (pl.col("kickoff") >= cutoff)
            & (pl.col("kickoff") < cutoff + timedelta(days=7))
        )
        scores.extend(out_of_sample_log_score(result, week))
        fits.append(result)
        previous = result
    total = time.perf_counter() - started
    summarise(fits, buckets, scores, total, compile_count() - compiles_before)


def summarise(fits, buckets, scores, total: float, compilations: int) -> None:
    """Print the walk-forward figures."""
    compiling = sum(f.compile_seconds for f in fits)
    sampling = [f.run_seconds for f in fits if not f.compiled]
    print(f"refits: {len(fits)}; buckets used: {sorted(buckets)}")
    print(f"compilations: {compilations}")
    print(
        f"total: {total:.1f} s; compiling {compiling:.1f} s "
        f"({compiling / total:.1%} of the total)"
    )
    other = (total - compiling - sum(f.run_seconds for f in fits)) / len(fits)
    if sampling:
        print(
            f"sampling per refit without compilation: median "
            f"{statistics.median(sampling):.2f} s, max {max(sampling):.2f} s; "
            f"everything else per refit (design, InferenceData, diagnostics, "
            f"scoring): {other:.2f} s"
        )
    print(
        f"convergence: max r-hat {max(f.diagnostics.max_rhat for f in fits):.3f}, "
        f"min bulk ESS {min(f.diagnostics.min_ess_bulk for f in fits):.0f}, "
        f"divergences {sum(f.diagnostics.divergences for f in fits)}, "
        f"refits with caveats {sum(bool(f.diagnostics.caveats) for f in fits)}"
    )
    print(
        f"out of sample: {len(scores)} matches, mean log score of the exact "
        f"result {statistics.fmean(scores):.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Set the device count before JAX loads, then walk the season."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    flag = f"--xla_force_host_platform_device_count={args.devices}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    sys.path.insert(0, str(REPO))
    warnings.filterwarnings("ignore", category=FutureWarning)
    walk(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
