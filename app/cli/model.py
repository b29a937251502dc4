"""``touchline fit`` and ``touchline predict``: fit a version, price fixtures."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.progress import TaskID

from app.cli.common import (
    AliasName,
    Context,
    FormatOption,
    OptionError,
    OutputFormat,
    emit_id,
    emit_json,
    emit_table,
    progress,
    shown_value,
    stderr,
    team_aliases,
)
from app.cli.data import check_leagues
from engine.config import Config, ModelConfig, SamplerConfig
from engine.fixture_list import read_fixture_list
from registry.aliases import list_aliases, resolve_alias
from registry.matches import load_matches
from registry.provenance import training_rows_hash
from registry.versions import (
    ModelVersion,
    get_version,
    load_inference_data,
    register_version,
)

log = logging.getLogger(__name__)

CACHE_ENV = "TOUCHLINE_JAX_CACHE"


def register(cli: typer.Typer) -> None:
    """Add ``fit`` and ``predict`` to ``cli``."""
    cli.command("fit")(fit_command)
    cli.command("predict")(predict_command)


def fit_command(
    ctx: typer.Context,
    league: Annotated[
        list[str] | None,
        typer.Option(help="Division code, repeatable; default the config's leagues."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Cut-off yyyy-mm-dd: train on matches before it; today."),
    ] = None,
    window_days: Annotated[
        int | None, typer.Option(help="Only matches this many days before the cut-off.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="poisson or dixon_coles; default the config's.")
    ] = None,
    dynamic: Annotated[
        bool | None,
        typer.Option("--dynamic/--static", help="Let strengths move between seasons."),
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="nuts, or svi for a fast approximation.")
    ] = None,
    num_warmup: Annotated[int | None, typer.Option(help="NUTS warmup steps.")] = None,
    num_samples: Annotated[int | None, typer.Option(help="Draws per chain.")] = None,
    num_chains: Annotated[int | None, typer.Option(help="Chains.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the fit's rng_key.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Fit the model on stored matches and register a new model version.

    Trains on the leagues' matches before the cut-off, prints the convergence
    diagnostics, and registers the posterior with its config, the hash of the
    training rows, the seed and the code version. The version id is the last
    line of stdout. Diagnostics that miss their thresholds are warnings and
    are stored with the version.
    """
    obj: Context = ctx.obj
    config = _overridden(
        obj.config,
        model=model,
        dynamic=dynamic,
        method=method,
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        seed=seed,
    )
    leagues = sorted(set(check_leagues(league) if league else config.data.leagues))
    cutoff = _date(until, "--until") if until else date.today()
    matches = load_matches(obj.store, leagues=leagues, until=cutoff)
    if matches.height == 0:
        raise ValueError(
            f"no stored match of {','.join(leagues)} before {cutoff}; fill the "
            "store with `touchline data pull` or `touchline data import PATH`"
        )

    from engine.artefacts import to_netcdf_bytes
    from engine.model.arrays import design
    from engine.model.evaluation import in_sample_metrics
    from engine.model.fitting import fit

    chosen = design(
        matches,
        cutoff=cutoff,
        decay_half_life_days=config.model.decay_half_life_days,
        leagues=leagues,
        window_days=window_days,
    )
    _enable_cache()
    label = f"sampling {config.model.name}, {chosen.num_matches} matches"
    with _fit_progress(label) as report:
        fitted = fit(
            chosen,
            model=config.model.name,
            dynamic=config.model.dynamic,
            method=config.sampler.method,
            num_warmup=config.sampler.num_warmup,
            num_samples=config.sampler.num_samples,
            num_chains=config.sampler.num_chains,
            seed=config.sampler.seed,
            progress=report,
        )
    trained = matches.filter(pl.col("match_id").is_in(list(chosen.match_ids)))
    selection = {
        "leagues": list(chosen.leagues),
        "cutoff": cutoff.isoformat(),
        "window_days": window_days,
        "matches": chosen.num_matches,
        "first_kickoff": min(chosen.kickoffs).isoformat(),
        "last_kickoff": max(chosen.kickoffs).isoformat(),
        "teams": len(chosen.teams),
    }
    metrics = in_sample_metrics(fitted.idata)
    diagnostics = {
        **fitted.diagnostics.to_dict(),
        "compile_seconds": round(fitted.compile_seconds, 3),
        "run_seconds": round(fitted.run_seconds, 3),
        "in_sample": metrics.to_dict(),
    }
    diagnostics["caveats"] += list(metrics.caveats)
    version = register_version(
        obj.store,
        model=fitted.model,
        config=config.to_dict(),
        selection=selection,
        training_hash=training_rows_hash(trained),
        seed=config.sampler.seed,
        idata_netcdf=to_netcdf_bytes(fitted.idata),
        diagnostics=diagnostics,
    )
    _report_fit(version, fmt)


def _report_fit(version: ModelVersion, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        emit_json(version.to_dict())
        return
    shown = {k: v for k, v in version.diagnostics.items() if k != "caveats"}
    shown.update({f"in_sample.{k}": v for k, v in shown.pop("in_sample", {}).items()})
    shown.pop("in_sample.caveats", None)
    rows = [[key, shown_value(value)] for key, value in shown.items()]
    rows += [["caveat", c] for c in version.diagnostics.get("caveats", [])]
    emit_table(f"diagnostics of {version.model}", ["check", "value"], rows)
    emit_id(version.version_id)


def predict_command(
    ctx: typer.Context,
    fixtures: Annotated[
        Path,
        typer.Option(
            help="CSV with league, kickoff, home_team, away_team; other columns "
            "pass through."
        ),
    ],
    version: Annotated[
        str | None,
        typer.Option(help="Version id or prefix; default the alias of the leagues."),
    ] = None,
    alias: Annotated[
        AliasName, typer.Option(help="Alias used when no version is named.")
    ] = AliasName.champion,
    out: Annotated[
        Path | None, typer.Option(help="Write the CSV here instead of stdout.")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed for the strengths of teams never seen.")
    ] = 0,
) -> None:
    """Write probabilities, intervals and fair odds for fixtures as CSV.

    Uses the champion of the fixtures' leagues unless --version names one.
    One row per fixture; columns are listed in the README. A team the model
    never saw is predicted from the new-team prior and flagged in
    unseen_team. Text cells starting with =, +, - or @ are neutralised.
    """
    obj: Context = ctx.obj
    if not fixtures.is_file():
        raise FileNotFoundError(
            f"fixture list {fixtures} does not exist; name a CSV file with "
            "league, kickoff, home_team, away_team"
        )
    aliases = team_aliases(obj.config)
    table = read_fixture_list(fixtures.read_bytes(), str(fixtures), aliases=aliases)
    chosen = _version_for(obj, version, alias.value, sorted(set(table["league"])))
    idata = load_inference_data(obj.store, chosen.version_id)

    from jax import random

    from engine.markets import MatchMarkets
    from engine.model.rates import fixture_rates
    from engine.predictions import prediction_table, write_predictions_csv

    rates = fixture_rates(idata, table, rng_key=random.key(seed))
    markets = MatchMarkets.from_rates(rates)
    predictions = prediction_table(
        table,
        markets,
        unseen_home=rates.unseen_home,
        unseen_away=rates.unseen_away,
        rho_clipped=rates.rho_clipped,
        model_version=chosen.version_id,
    )
    if out is None:
        buffer = io.StringIO()
        write_predictions_csv(predictions, buffer)
        sys.stdout.write(buffer.getvalue())
    else:
        write_predictions_csv(predictions, out)
        stderr.print(f"wrote {predictions.height} predictions to {out}", markup=False)


def _version_for(
    obj: Context, version: str | None, alias: str, leagues: list[str]
) -> ModelVersion:
    if version is not None:
        return get_version(obj.store, version)
    scope = ",".join(leagues)
    found = resolve_alias(obj.store, alias, scope)
    if found is None:
        wanted = set(leagues)
        covering = [
            t
            for t in list_aliases(obj.store)
            if t.alias == alias and wanted <= set(t.scope.split(","))
        ]
        # the narrowest scope that holds every league is the closest match
        covering.sort(key=lambda t: (len(t.scope.split(",")), t.scope))
        found = covering[0].version_id if covering else None
    if found is None:
        raise LookupError(
            f"no {alias} covers the leagues {scope}; promote a version with "
            "`touchline registry promote ID --reason TEXT` or pass --version ID"
        )
    return get_version(obj.store, found)


def _overridden(config: Config, **given: Any) -> Config:
    model_fields = {k: given[k] for k in ("dynamic",) if given[k] is not None}
    if given["model"] is not None:
        model_fields["name"] = given["model"]
    sampler_fields = {
        k: given[k]
        for k in ("method", "num_warmup", "num_samples", "num_chains", "seed")
        if given[k] is not None
    }
    from engine.config import ConfigError, parse_config

    try:  # the options alone first, so that an error names the option
        parse_config({"model": model_fields, "sampler": sampler_fields}, None)
    except ConfigError as exc:
        raise OptionError(_option_message(str(exc))) from None
    raw = config.to_dict()
    raw["model"].update(model_fields)
    raw["sampler"].update(sampler_fields)
    raw["data"].pop("team_aliases", None)
    checked = parse_config(
        {"model": raw["model"], "sampler": raw["sampler"]}, config.path
    )
    model: ModelConfig = checked.model
    sampler: SamplerConfig = checked.sampler
    return replace(config, model=model, sampler=sampler)


_OPTIONS = {
    "model.name": "--model",
    "model.dynamic": "--dynamic/--static",
    **{
        f"sampler.{key}": "--" + key.replace("_", "-")
        for key in ("method", "num_warmup", "num_samples", "num_chains", "seed")
    },
}


def _option_message(message: str) -> str:
    """Name the command-line option instead of the config field in an error."""
    message = message.removeprefix("<config>: ")
    for field_name, option in _OPTIONS.items():
        if message.startswith(field_name):
            return option + message[len(field_name) :]
    return message


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise OptionError(
            f"{option} expects a date as yyyy-mm-dd, got {text!r}"
        ) from None


def _enable_cache() -> None:
    from engine.model.inference import enable_compilation_cache

    default = Path.home() / ".cache" / "touchline" / "jax"
    cache = os.environ.get(CACHE_ENV, str(default))
    if cache:
        with contextlib.suppress(OSError):
            enable_compilation_cache(cache)


@contextlib.contextmanager
def _fit_progress(label: str) -> Iterator[Callable[[str, int, int], None]]:
    """Yield a fit's progress sink: a compile line, then a bar of NUTS steps."""
    log.info("%s", label)
    with progress() as bar:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            # a compilation has no steps to count: pulse until it is done
            shown = None if phase == "compile" and done < total else total
            if phase not in tasks:
                name = "compiling the sampler" if phase == "compile" else label
                tasks[phase] = bar.add_task(name, total=shown)
            bar.update(tasks[phase], total=shown, completed=done)

        yield report
