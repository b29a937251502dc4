"""``touchline app``: fill an empty store, then serve the Panel app."""

from __future__ import annotations

import errno
import ipaddress
import logging
import re
import socket
from typing import Annotated

import typer

from app.cli.common import Context, OptionError, stderr
from app.cli.data import check_base_url, pull
from app.download import DownloadError
from registry.status import data_status

log = logging.getLogger(__name__)

HOW_TO_FILL = (
    "Fill the store with `touchline data import PATH` or "
    "`touchline data pull --base-url URL`, then press Refresh."
)

_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def register(cli: typer.Typer) -> None:
    """Add the ``app`` command to ``cli``."""
    cli.command("app")(app_command)


def app_command(
    ctx: typer.Context,
    address: Annotated[
        str, typer.Option(help="Address to bind; loopback unless told otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (1 to 65535).")] = 5006,
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

    The address, port and base URL are checked before anything is downloaded:
    a bad one is a usage error (exit status 2), a port in use a runtime error
    (exit status 1). When the store is empty and cannot be filled (the source
    is unreachable or serves something that is not a season file, the store
    is busy) the app still starts and its page says why and how to fill it.
    """
    check_port(port)
    check_address(address)
    source = check_base_url(base_url) if base_url is not None else None
    check_listenable(address, port)
    obj: Context = ctx.obj
    store, policy = obj.store, obj.policy
    notice = _fill_empty_store(obj, source) if pull_data else None
    from app.ui.main import serve

    stderr.print(f"serving the app on http://{address}:{port}", markup=False)
    serve(
        store.path,
        address=address,
        port=port,
        notice=notice,
        show=show,
        policy=policy,
    )


def check_port(port: int) -> int:
    """Return ``--port`` when it is a port number from 1 to 65535.

    Raises
    ------
    OptionError
        Naming the option, the value and the accepted range.
    """
    if not 0 < port < 65536:
        raise OptionError(
            f"--port must be a whole number from 1 to 65535, got {port}; pass "
            "e.g. --port 5006"
        )
    return port


def check_address(address: str) -> str:
    """Return ``--address`` when it is an IP address or a host name.

    Raises
    ------
    OptionError
        When it is neither, e.g. empty, a URL or a name with spaces.
    """
    try:
        ipaddress.ip_address(address)
        return address
    except ValueError:
        pass
    labels = address.removesuffix(".").split(".")
    if len(address) <= 253 and all(_HOST_LABEL.fullmatch(x) for x in labels):
        return address
    raise OptionError(
        f"--address must be an IP address or a host name of this machine, got "
        f"{address!r}; pass e.g. --address 127.0.0.1 (or 0.0.0.0 for every "
        "network)"
    )


def check_listenable(address: str, port: int) -> None:
    """Check that a server can listen on ``address:port`` now.

    Raises
    ------
    OptionError
        When ``address`` is not one of this machine's addresses.
    OSError
        With a one-line message when the port is already taken or the
        address cannot be listened on for another reason.
    """
    from tornado.netutil import bind_sockets

    try:
        sockets = bind_sockets(port, address)
    except socket.gaierror as exc:
        raise OptionError(
            f"--address {address!r} could not be resolved ({exc.strerror}); "
            "pass an address of this machine, e.g. --address 127.0.0.1"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise OptionError(
                f"--address {address} is not an address of this machine; pass "
                "one of its addresses, e.g. --address 127.0.0.1"
            ) from None
        if exc.errno == errno.EADDRINUSE:
            raise OSError(
                f"port {port} on {address} is already in use; pass another "
                "--port or stop what is serving there"
            ) from None
        raise OSError(
            f"cannot listen on {address}:{port} ({exc.strerror}); pass another "
            "--address or --port"
        ) from None
    for sock in sockets:
        sock.close()


def _fill_empty_store(obj: Context, source: str | None) -> str | None:
    """Pull the config's leagues and seasons into an empty store.

    Returns
    -------
    str or None
        None when the store held matches or was filled; otherwise the notice
        the app shows: why it could not be filled and how to fill it.
    """
    config = obj.config
    base_url = source or config.data.source.rstrip("/")
    try:
        if not data_status(obj.store).is_empty:
            return None
        pull(
            obj.store,
            config,
            leagues=list(config.data.leagues),
            seasons=list(config.data.seasons),
            base_url=base_url,
        )
        return None
    except DownloadError as exc:
        reason = f"The data source could not be reached: {exc}"
    except Exception as exc:  # the app serves whatever went wrong
        text = " ".join(str(exc).split()) or type(exc).__name__
        reason = f"The store could not be filled from {base_url}: {text}"
        log.debug("filling the store failed", exc_info=True)
    notice = f"{reason.rstrip('.')}. {HOW_TO_FILL}"
    log.warning("%s", notice)
    return notice
