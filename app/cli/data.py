"""``touchline data``: import, pull and inspect match data."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from app.cli.common import (
    Context,
    FormatOption,
    OptionError,
    OutputFormat,
    emit_id,
    emit_json,
    emit_table,
    progress,
    team_aliases,
)
from app.download import fetch, season_url
from engine.config import Config, field_problem
from engine.contract import ParsedFile
from engine.football_data import (
    combine,
    expand_paths,
    read_football_data,
    read_path,
)
from registry.matches import ImportReport, import_batch
from registry.status import data_status
from registry.store import Store

log = logging.getLogger(__name__)

group = typer.Typer(
    help="Import, download and inspect match data.", no_args_is_help=True
)


def check_leagues(leagues: list[str]) -> list[str]:
    """Return the ``--league`` codes, checked as the config checks its leagues.

    Raises
    ------
    OptionError
        Naming the first code that is not a division code.
    """
    for league in leagues:
        if field_problem("data.leagues", [league]):
            raise OptionError(
                f"--league must be a division code of letters and digits such "
                f"as E0, got {league!r}; pass e.g. --league E0"
            )
    return leagues


def check_seasons(seasons: list[int]) -> list[int]:
    """Return the ``--season`` years, checked against the config's range.

    Raises
    ------
    OptionError
        Naming the first year outside the range the config accepts.
    """
    for season in seasons:
        expected = field_problem("data.seasons", [season])
        if expected:
            years = expected.removeprefix("a non-empty list of ")
            raise OptionError(
                f"--season accepts {years} (2023 is 2023/24), got {season}; "
                "pass e.g. --season 2023"
            )
    return seasons


def check_base_url(url: str) -> str:
    """Return ``--base-url`` without a trailing slash, checked to be http(s).

    Raises
    ------
    OptionError
        When the value is not an ``http://`` or ``https://`` address with a
        host (it may also come from ``$TOUCHLINE_DATA_URL``).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks the port number
    except ValueError:
        parts = None
    ok = (
        parts is not None
        and parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(c.isspace() for c in url)
    )
    if not ok:
        raise OptionError(
            f"--base-url (or $TOUCHLINE_DATA_URL) must be an http:// or https:// "
            f"address with a host, got {url!r}; pass e.g. --base-url "
            "https://www.football-data.co.uk"
        )
    return url.rstrip("/")


def import_files(store: Store, config: Config, paths: list[Path]) -> ImportReport:
    """Read every file, then write them all in one transaction."""
    files = expand_paths(paths)
    aliases = team_aliases(config)
    parsed: list[ParsedFile] = []
    with progress() as bar:
        task = bar.add_task("reading", total=len(files))
        for file in files:
            parsed.append(read_path(file, aliases=aliases))
            bar.advance(task)
    return import_batch(store, combine(parsed))


def pull(
    store: Store,
    config: Config,
    *,
    leagues: list[str],
    seasons: list[int],
    base_url: str,
) -> ImportReport:
    """Download every league-season, then write them all in one transaction."""
    aliases = team_aliases(config)
    urls = [season_url(base_url, lg, s) for lg in leagues for s in seasons]
    parsed: list[ParsedFile] = []
    with progress() as bar:
        task = bar.add_task("downloading", total=len(urls))
        for url in urls:
            body = fetch(
                url, timeout_s=config.data.timeout_s, retries=config.data.retries
            )
            parsed.append(read_football_data(body, url, aliases=aliases))
            bar.advance(task)
    return import_batch(store, combine(parsed))


def _report(report: ImportReport, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
        return
    summary = report.to_dict()
    rows = [[key, value] for key, value in summary.items() if key != "import_ids"]
    emit_table("import", ["what", "count"], rows)
    emit_id(" ".join(str(i) for i in report.import_ids))


@group.command("import")
def import_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="CSV files or folders of them.", show_default=False),
    ],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Import football-data.co.uk CSV files or folders into the store.

    A folder is searched recursively for files whose names end in .csv, in
    any case. All files are read and checked first and then written in one
    transaction: a file that cannot be read leaves the store as it was. Rows
    that break the data contract are kept in the rejected rows with the
    reason. Importing the same file again changes nothing; a corrected result
    updates the match and is recorded. The last line of stdout lists the new import ids.
    """
    obj: Context = ctx.obj
    _report(import_files(obj.store, obj.config, paths), fmt)


@group.command("pull")
def pull_command(
    ctx: typer.Context,
    league: Annotated[
        list[str] | None,
        typer.Option(help="Division code, repeatable; default from the config."),
    ] = None,
    season: Annotated[
        list[int] | None,
        typer.Option(help="Starting year (2023 = 2023/24), repeatable."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="TOUCHLINE_DATA_URL",
            help="Source address; default $TOUCHLINE_DATA_URL or the config's.",
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Download league-season files and import them in one transaction.

    Fetches <base-url>/mmz4281/<yyYY>/<league>.csv for every league and season
    asked for, with retries and timeouts. Nothing is written unless every file
    arrived and could be read. A league that is not a division code, a season
    outside the years a config accepts or a base URL that is not http(s) is a
    usage error (exit status 2), found before anything is downloaded.
    """
    leagues = check_leagues(league or [])
    seasons = check_seasons(season or [])
    source = check_base_url(base_url) if base_url is not None else None
    obj: Context = ctx.obj
    config = obj.config
    report = pull(
        obj.store,
        config,
        leagues=leagues or list(config.data.leagues),
        seasons=seasons or list(config.data.seasons),
        base_url=source or config.data.source.rstrip("/"),
    )
    _report(report, fmt)


@group.command("status")
def status_command(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Show matches per league and season, fixtures and rejected rows."""
    obj: Context = ctx.obj
    status = data_status(obj.store)
    payload = status.to_dict()
    if fmt is OutputFormat.json:
        emit_json(payload)
        return
    print_status(payload)


def print_status(payload: dict) -> None:
    """Write a data status report as tables."""
    seasons = payload.get("seasons", [])
    emit_table(
        "matches",
        ["league", "season", "matches", "teams", "first_kickoff", "last_kickoff"],
        [
            [
                s["league"],
                s["season"],
                s["matches"],
                s["teams"],
                s["first_kickoff"],
                s["last_kickoff"],
            ]
            for s in seasons
        ],
    )
    emit_table(
        None,
        ["total matches", "fixtures", "rejected rows", "imports"],
        [
            [
                payload.get("matches"),
                payload.get("fixtures"),
                payload.get("rejected_rows"),
                payload.get("imports"),
            ]
        ],
    )
    reasons = payload.get("rejected_by_reason", [])
    if reasons:
        emit_table(
            "rejected rows",
            ["reason", "rows"],
            [[r["reason"], r["rows"]] for r in reasons],
        )
