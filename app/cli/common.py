"""What every command shares: the store, the configuration, output and errors."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from engine.config import Config, ConfigError, load_config
from engine.football_data import load_team_aliases
from registry.policy import PolicyError, PromotionPolicy
from registry.store import Store, default_db_path

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ALERT = 3


class OutputFormat(StrEnum):
    """How a report is written to stdout."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="table for people, json for tools.")
]


@dataclass
class Context:
    """Global options, resolved lazily so that ``--help`` never touches a file."""

    db: Path | None = None
    config_path: Path | None = None
    _config: Config | None = field(default=None, repr=False)
    _policy: PromotionPolicy | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The run configuration, loaded and checked on first use."""
        if self._config is None:
            config = load_config(self.config_path)
            try:
                self._policy = PromotionPolicy.from_mapping(config.promotion)
            except PolicyError as exc:
                raise ConfigError(f"{config.path}: {exc}") from None
            self._config = config
        return self._config

    @property
    def policy(self) -> PromotionPolicy:
        """The promotion policy of the configuration's ``[promotion]`` table."""
        self.config  # noqa: B018 - loading checks and sets the policy
        assert self._policy is not None
        return self._policy

    @property
    def store(self) -> Store:
        """The DuckDB store named by ``--db``, ``$TOUCHLINE_DB`` or the default."""
        return Store(self.db if self.db is not None else default_db_path())


def team_aliases(config: Config) -> dict[str, str]:
    """Return the team alias table the configuration names (empty if none)."""
    path = config.data.team_aliases
    return load_team_aliases(path) if path is not None else {}


def progress() -> Progress:
    """Return a progress bar on stderr, shown only when stderr is a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=False,
        disable=not stderr.is_terminal,
    )


class AliasName(StrEnum):
    """The aliases a model version can hold, as a command-line choice."""

    champion = "champion"
    challenger = "challenger"


def shown_value(value: Any) -> Any:
    """Round a float to four significant digits for a table; JSON keeps all."""
    return f"{value:.4g}" if isinstance(value, float) else value


def emit_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout; NaN and infinities become null."""
    text = json.dumps(_finite(payload), indent=2, default=str, allow_nan=False)
    sys.stdout.write(text + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def emit_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Write a table on stdout."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    stdout.print(table)


def emit_id(identifier: str) -> None:
    """Write the id of what a command created as the last line of stdout."""
    sys.stdout.write(f"{identifier}\n")


class OptionError(ValueError):
    """A command-line option value outside what the option accepts.

    Any command may raise it; the command line reports it as a usage error.
    """


def fail_usage(exc: OptionError) -> NoReturn:
    """Write ``exc`` as one line on stderr and exit with the usage status 2."""
    stderr.print(f"error: {' '.join(str(exc).split())}", markup=False)
    raise SystemExit(EXIT_USAGE)


def fail_one_line(exc: BaseException) -> NoReturn:
    """Write ``exc`` as one line on stderr and exit with status 1."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(
        exc, ConfigError | ValueError | LookupError | RuntimeError | OSError
    ):
        message = (
            f"unexpected {type(exc).__name__}: {message} "
            "(set TOUCHLINE_DEBUG=1 for the traceback)"
        )
    stderr.print(f"error: {message}", markup=False)
    raise SystemExit(EXIT_ERROR)
