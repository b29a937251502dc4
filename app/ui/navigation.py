"""Pages behind a sidebar menu, a button that reads again, a read's failure.

Only the page chosen in the menu sits in the template's main area, so each
page lays out at full width and is not sent to the browser until it is first
opened. A page with an ``active`` parameter is told whether it is on screen,
so that it can put off costly work until it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import panel as pn
import param
from panel.viewable import Viewer


class Loadable(Protocol):
    """A data source that reads the store again on ``load()``."""

    def load(self) -> None:
        """Read the store again."""


class ReadFailure(Viewer):
    """A warning shown while a data source's last read of the store failed.

    The source keeps what it read before, so the warning says when that was.
    Subclasses narrow ``source`` to one kind of data source and name what the
    page shows in ``shown``.

    Parameters
    ----------
    source : param.Parameterized
        A data source with ``message`` (why the last read failed, empty when
        it succeeded) and ``loaded_at`` (when it last read the store).
    """

    source = param.Parameter(doc="The data source whose failures are shown.")

    shown = "The figures below"
    """What the page shows from the previous read, to start the second line."""

    def __init__(self, **params):
        super().__init__(**params)
        self.alert = pn.pane.Alert(alert_type="warning", sizing_mode="stretch_width")
        self.source.param.watch(self._update, ["message", "loaded_at"])
        self._update()

    def _update(self, *events: param.parameterized.Event) -> None:
        text = self.source.message
        if text and self.source.loaded_at is not None:
            read = self.source.loaded_at.strftime("%H:%M:%S")
            text = f"{text}\n\n{self.shown} are from the read at {read}."
        self.alert.object = text
        self.alert.visible = bool(text)

    def __panel__(self) -> pn.viewable.Viewable:
        return self.alert


class Pages(Viewer):
    """Named pages, one shown at a time, chosen from a vertical menu.

    Parameters
    ----------
    pages : dict of str to panel.viewable.Viewable
        Each page under its menu label, in menu order.
    page : str
        The label of the page shown; the first one by default.

    Attributes
    ----------
    menu : panel.widgets.RadioButtonGroup
        The menu, for the sidebar.
    """

    page = param.Selector(default=None, objects=[], allow_None=True)

    def __init__(self, pages: Mapping[str, pn.viewable.Viewable], **params):
        if not pages:
            raise ValueError("Pages needs at least one page, got none")
        super().__init__(**params)
        self._pages = dict(pages)
        self._shown: dict[str, pn.viewable.Viewable] = {}
        self.area = pn.Column(sizing_mode="stretch_width")
        self.param.page.objects = list(self._pages)
        if self.page not in self._pages:
            self.page = next(iter(self._pages))
        self._show()
        self.menu = pn.widgets.RadioButtonGroup.from_param(
            self.param.page,
            label="page",
            orientation="vertical",
            color="primary",
            variant="outline",
            sizing_mode="stretch_width",
        )

    @param.depends("page", watch=True)
    def _show(self) -> None:
        for label, page in self._pages.items():
            if isinstance(page, param.Parameterized) and "active" in page.param:
                page.active = label == self.page
        if self.page not in self._shown:
            self._shown[self.page] = pn.panel(self._pages[self.page])
        self.area.objects = [self._shown[self.page]]

    def __panel__(self) -> pn.viewable.Viewable:
        return self.area


def refresh_button(*sources: Loadable) -> pn.widgets.Button:
    """Return a **Refresh** button that reads every data source again."""
    button = pn.widgets.Button(
        label="Refresh", color="primary", sizing_mode="stretch_width"
    )

    def reload(event: param.parameterized.Event) -> None:
        for source in sources:
            source.load()

    button.on_click(reload)
    return button
