"""The ``touchline`` command line.

Every command shares the global ``--db`` and ``--config`` options. Reports go
to stdout as a table or, with ``--format json``, as JSON with stable keys;
progress and logs go to stderr. Exit status: 0 on success, 1 on a runtime
error (one line on stderr), 2 on a usage error, 3 when a check raises an alert.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli import data as data_commands
from app.cli import model as model_commands
from app.cli import registry as registry_commands
from app.cli import serve as serve_commands
from app.cli.common import Context, OptionError, fail_one_line, fail_usage

cli = typer.Typer(
    name="touchline",
    help="Bayesian football modelling: data, fits, predictions and the app.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
cli.add_typer(data_commands.group, name="data")
cli.add_typer(registry_commands.group, name="registry")
model_commands.register(cli)
serve_commands.register(cli)


@cli.callback()
def _options(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(
            help="DuckDB store; default $TOUCHLINE_DB or data/touchline.duckdb.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Run configuration (TOML); default configs/default.toml."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")
    ] = False,
) -> None:
    """Bayesian football modelling: data, fits, predictions and the app."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Context(db=db, config_path=config)


def _host_devices() -> None:
    """Let NumPyro run chains in parallel on CPU cores (before JAX is imported)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "jax" not in sys.modules and "host_platform_device_count" not in flags:
        count = max(1, os.cpu_count() or 1)
        option = f"--xla_force_host_platform_device_count={count}"
        os.environ["XLA_FLAGS"] = f"{flags} {option}".strip()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Write a statistical caveat as one line on stderr, without source lines."""
    text = " ".join(str(message).split())
    sys.stderr.write(f"warning: {category.__name__}: {text}\n")


def main(argv: list[str] | None = None) -> None:
    """Run the command line; the console script ``touchline`` calls this."""
    _host_devices()
    warnings.showwarning = _show_warning
    command = typer.main.get_command(cli)
    try:
        command.main(args=argv, prog_name="touchline", standalone_mode=True)
    except OptionError as exc:
        fail_usage(exc)
    except Exception as exc:  # turned into one line; tracebacks only on request
        if os.environ.get("TOUCHLINE_DEBUG"):
            raise
        fail_one_line(exc)
