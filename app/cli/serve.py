"""``touchline app``: fill an empty store, then serve the Panel app."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from app.cli.common import Context, stderr
from app.cli.data import pull
from app.download import DownloadError
from registry.status import data_status

log = logging.getLogger(__name__)


def register(cli: typer.Typer) -> None:
    """Add the ``app`` command to ``cli``."""
    cli.command("app")(app_command)


def app_command(
    ctx: typer.Context,
    address: Annotated[
        str, typer.Option(help="Address to bind; loopback unless told otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5006,
    pull_data: Annotated[
        bool,
        typer.Option(
            "--pull/--no-pull",
            help="On an empty store, first pull the config's leagues and seasons.",
        ),
    ] = True,
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="TOUCHLINE_DATA_URL",
            help="Source address; default $TOUCHLINE_DATA_URL or the config's.",
        ),
    ] = None,
    show: Annotated[bool, typer.Option(help="Open a browser tab.")] = False,
) -> None:
    """Serve the Touchline app on the store, pulling data first if it is empty.

    When the store holds no match and the data source cannot be reached, the
    app still starts and its page says how to fill the store.
    """
    from app.ui.main import serve

    obj: Context = ctx.obj
    store, policy = obj.store, obj.policy
    notice = None
    if pull_data and data_status(store).is_empty:
        config = obj.config
        try:
            pull(
                store,
                config,
                leagues=list(config.data.leagues),
                seasons=list(config.data.seasons),
                base_url=(base_url or config.data.source).rstrip("/"),
            )
        except DownloadError as exc:
            notice = f"The data source could not be reached: {exc}"
            log.warning("%s", notice)
    stderr.print(f"serving the app on http://{address}:{port}", markup=False)
    serve(
        store.path,
        address=address,
        port=port,
        notice=notice,
        show=show,
        policy=policy,
    )
