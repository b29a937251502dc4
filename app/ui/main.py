"""The Touchline app: compose the views over the data sources and serve them.

Each browser session gets its own :class:`~app.ui.data.StoreData` and
:class:`~app.ui.model_data.RegistryData`, which read the store once when the
page opens and again on **Refresh**; nothing holds the store open between
reads, so imports and refits can write while the app runs. Three pages sit
behind the sidebar menu: the store, the model versions and the match explorer.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import panel as pn

from app.ui.data import StoreData
from app.ui.explorer import MatchExplorer
from app.ui.model_data import RegistryData
from app.ui.models import (
    AliasSummary,
    AuditLogTable,
    PromotionPanel,
    RegistryMessage,
    VersionTable,
)
from app.ui.navigation import Pages, refresh_button
from app.ui.views import (
    EmptyStoreNotice,
    RejectedRows,
    SeasonTable,
    StoreMessage,
    StoreOverview,
)
from registry.policy import PromotionPolicy

logger = logging.getLogger(__name__)

TITLE = "Touchline"
SIDEBAR_TEXT = (
    "**Refresh** reads the store again. The page holds no connection between "
    "reads, so imports and fits can write to the store while it is open."
)


def build_app(
    db_path: str | Path,
    *,
    notice: str | None = None,
    policy: PromotionPolicy | None = None,
) -> pn.viewable.Viewable:
    """Return the app's page over the store at ``db_path``.

    Parameters
    ----------
    db_path : str or pathlib.Path
        The store's DuckDB file; a missing one is created empty.
    notice : str, optional
        A line shown at the top of the store page, for example why the data
        source could not be reached when the store was to be filled.
    policy : PromotionPolicy, optional
        The promotion policy the Models page judges and promotes with, e.g.
        the configuration's ``[promotion]`` table; ``PromotionPolicy()`` when
        omitted.

    Returns
    -------
    panel.viewable.Viewable
        A template titled "Touchline" with the pages behind a sidebar menu.
    """
    pn.extension("tabulator")
    source = StoreData(db_path=str(db_path))
    registry = RegistryData(db_path=str(db_path), policy=policy or PromotionPolicy())
    pages = Pages(
        {
            "Store": _store_page(source, notice),
            "Models": _models_page(registry),
            "Match explorer": MatchExplorer(source=registry, active=False),
        }
    )

    return pn.template.FastListTemplate(
        title=TITLE,
        sidebar=[pages.menu, refresh_button(source, registry), SIDEBAR_TEXT],
        main=[pages],
        sidebar_width=260,
        theme_toggle=False,
    )


def _store_page(source: StoreData, notice: str | None) -> pn.Column:
    return pn.Column(
        StoreMessage(source=source),
        EmptyStoreNotice(source=source, notice=notice or ""),
        StoreOverview(source=source),
        SeasonTable(source=source),
        RejectedRows(source=source),
        sizing_mode="stretch_width",
    )


def _models_page(registry: RegistryData) -> pn.Column:
    versions = VersionTable(source=registry)
    return pn.Column(
        RegistryMessage(source=registry),
        AliasSummary(source=registry),
        versions,
        PromotionPanel(source=registry, versions=versions),
        AuditLogTable(source=registry),
        sizing_mode="stretch_width",
    )


def allowed_origins(address: str, port: int) -> list[str]:
    """Return the ``host:port`` origins whose pages may open the app's websocket.

    Parameters
    ----------
    address : str
        The address the server binds.
    port : int
        The port it listens on.

    Returns
    -------
    list of str
        For a loopback address (``127.0.0.1``, ``localhost``, ``::1``, any of
        127.0.0.0/8) both loopback names, ``localhost:port`` and
        ``127.0.0.1:port``, and the address itself; for any other address
        that address alone, so a page served elsewhere cannot drive the app.
    """
    host = f"[{address}]" if ":" in address else address
    own = f"{host}:{port}"
    if not _is_loopback(address):
        return [own]
    names = [f"localhost:{port}", f"127.0.0.1:{port}"]
    return names if own in names else [*names, own]


def _is_loopback(address: str) -> bool:
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def serve(
    db_path: str | Path,
    *,
    address: str = "127.0.0.1",
    port: int = 5006,
    notice: str | None = None,
    show: bool = False,
    threaded: bool = False,
    policy: PromotionPolicy | None = None,
):
    """Serve the app on ``address:port``, accepting pages from there only.

    Pages may open the app's websocket only from :func:`allowed_origins`: on a
    loopback address both ``localhost`` and ``127.0.0.1``, else the address.

    Parameters
    ----------
    db_path : str or pathlib.Path
        The store's DuckDB file.
    address : str, default "127.0.0.1"
        The address to bind; loopback unless told otherwise.
    port : int, default 5006
        The port to listen on.
    notice : str, optional
        A line shown at the top of every page (see :func:`build_app`).
    show : bool, default False
        Open the page in a browser once the server is up.
    threaded : bool, default False
        Run the server in a background thread and return at once, instead of
        blocking until it is stopped.
    policy : PromotionPolicy, optional
        The promotion policy of the Models page (see :func:`build_app`).

    Returns
    -------
    panel.io.server.StoppableThread or bokeh.server.server.Server
        The thread when ``threaded``, else the server after it has stopped.

    Raises
    ------
    ValueError
        When ``port`` is not a port number from 1 to 65535.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(
            f"port must be a whole number from 1 to 65535, got {port!r}; pass e.g. 5006"
        )
    path = Path(db_path)
    origins = allowed_origins(address, port)
    logger.info(
        "serving %s on %s:%d for the store %s, pages from %s",
        TITLE,
        address,
        port,
        path,
        ", ".join(origins),
    )
    return pn.serve(
        lambda: build_app(path, notice=notice, policy=policy),
        address=address,
        port=port,
        websocket_origin=origins,
        show=show,
        threaded=threaded,
        title=TITLE,
        verbose=False,
    )
