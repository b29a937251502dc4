"""Views of the store's contents, each a Panel ``Viewer`` over one data source.

Every view holds a :class:`~app.ui.data.StoreData` and its own ``param`` state
(a league filter, the caller's notice) and redraws when the data source reads
the store again. Views only arrange what the data source returns; no figure is
computed here.
"""

from __future__ import annotations

import shlex

import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from app.ui.data import ALL_LEAGUES, StoreData
from app.ui.navigation import ReadFailure

_TABLE_OPTIONS = {
    "disabled": True,
    "show_index": False,
    "sizing_mode": "stretch_width",
    "layout": "fit_data_stretch",
}
_PLAIN = {"type": "plaintext"}  # years and line numbers without "2,023"


class StoreMessage(ReadFailure):
    """A warning shown while the last refresh of the store failed.

    Parameters
    ----------
    source : StoreData
        The data source whose ``message`` is shown.
    """

    source = param.ClassSelector(class_=StoreData)


class EmptyStoreNotice(Viewer):
    """How to fill the store, shown while it holds nothing.

    Parameters
    ----------
    source : StoreData
        The data source to watch.
    notice : str
        An extra line from the caller, shown whenever it is not empty (for
        example why the data source could not be reached).
    """

    source = param.ClassSelector(class_=StoreData)

    notice = param.String(default="", doc="Extra text from the caller.")

    def __init__(self, **params):
        super().__init__(**params)
        self.caller = pn.pane.Alert(alert_type="danger", sizing_mode="stretch_width")
        self.help = pn.pane.Markdown(sizing_mode="stretch_width")
        self.help.object = fill_instructions(str(self.source.path))
        self.source.param.watch(self._update, "status")
        self._update()

    @param.depends("notice", watch=True)
    def _update(self, *events: param.parameterized.Event) -> None:
        self.caller.object = self.notice
        self.caller.visible = bool(self.notice)
        self.help.visible = self.source.is_empty

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.caller, self.help, sizing_mode="stretch_width")


def fill_instructions(db_path: str) -> str:
    """Return the Markdown that tells how to fill an empty store.

    Parameters
    ----------
    db_path : str
        The store's file, written into the commands.

    Returns
    -------
    str
        A heading, the two commands that fill a store and a line on each.
    """
    db = shlex.quote(db_path)
    return (
        "### The store is empty\n\n"
        f"No match, fixture or import is stored in `{db_path}` yet. Fill it from "
        "the command line, then press **Refresh**:\n\n"
        "```text\n"
        f"touchline --db {db} data import PATH...\n"
        f"touchline --db {db} data pull --base-url URL\n"
        "```\n\n"
        "`data import` reads football-data.co.uk CSV files, or folders of them; "
        "`data pull` downloads the configured leagues and seasons from a site "
        "laid out like football-data.co.uk."
    )


class StoreOverview(Viewer):
    """Totals of the store: matches, fixtures, leagues, seasons, imports.

    Parameters
    ----------
    source : StoreData
        The data source to show.

    Attributes
    ----------
    figures : dict of str to panel.indicators.Number
        One indicator per total, keyed by its label.
    """

    source = param.ClassSelector(class_=StoreData)

    labels = ("matches", "fixtures", "leagues", "seasons", "imports", "rejected rows")

    def __init__(self, **params):
        super().__init__(**params)
        self.figures = {
            label: pn.indicators.Number(
                label=label, value=0, format="{value:,}", font_size="28pt"
            )
            for label in self.labels
        }
        self.details = pn.pane.Markdown(sizing_mode="stretch_width")
        self.source.param.watch(self._update, ["status", "loaded_at"])
        self._update()

    def totals(self) -> dict[str, int]:
        """Return the totals shown, keyed by label."""
        status = self.source.status
        if status is None:
            return dict.fromkeys(self.labels, 0)
        return {
            "matches": status.matches,
            "fixtures": status.fixtures,
            "leagues": len(self.source.leagues),
            "seasons": len(self.source.seasons),
            "imports": status.imports,
            "rejected rows": status.rejected_rows,
        }

    def _update(self, *events: param.parameterized.Event) -> None:
        for label, value in self.totals().items():
            self.figures[label].value = int(value)
        self.details.object = self._details()

    def _details(self) -> str:
        status = self.source.status
        parts = [f"store `{self.source.db_path}`"]
        if self.source.seasons:
            first, last = self.source.seasons[0], self.source.seasons[-1]
            parts.append(f"seasons {first} to {last}")
        if status is not None and status.last_import_at is not None:
            parts.append(f"last import {status.last_import_at:%Y-%m-%d %H:%M} UTC")
        if self.source.loaded_at is not None:
            parts.append(f"read at {self.source.loaded_at:%H:%M:%S}")
        return " · ".join(parts)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.FlexBox(*self.figures.values()),
            self.details,
            sizing_mode="stretch_width",
        )


class SeasonTable(Viewer):
    """Matches per league and season, filterable by league.

    Parameters
    ----------
    source : StoreData
        The data source to show.
    league : str
        A league code, or ``ALL_LEAGUES``.

    Attributes
    ----------
    table : panel.widgets.Tabulator
        The rows shown, one per league and season.
    """

    source = param.ClassSelector(class_=StoreData)

    league = param.Selector(default=ALL_LEAGUES, objects=[ALL_LEAGUES])

    def __init__(self, **params):
        super().__init__(**params)
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(), formatters={"season": _PLAIN}, **_TABLE_OPTIONS
        )
        self.picker = pn.widgets.Select.from_param(self.param.league, label="league")
        self.source.param.watch(self._sync_leagues, "status")
        self._sync_leagues()

    def _sync_leagues(self, *events: param.parameterized.Event) -> None:
        choices = [ALL_LEAGUES, *self.source.leagues]
        self.param.league.objects = choices
        if self.league not in choices:
            self.league = ALL_LEAGUES
        self._update()

    @param.depends("league", watch=True)
    def _update(self) -> None:
        self.table.value = self.source.season_rows(self.league)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Matches per league and season",
            self.picker,
            self.table,
            sizing_mode="stretch_width",
        )


class RejectedRows(Viewer):
    """Rows that broke the data contract: counts by reason and examples.

    Parameters
    ----------
    source : StoreData
        The data source to show.

    Attributes
    ----------
    reasons : panel.widgets.Tabulator
        Rejected rows counted by reason.
    examples : panel.widgets.Tabulator
        The first rejected rows of each source, with file, line, raw text and
        reason.
    """

    source = param.ClassSelector(class_=StoreData)

    def __init__(self, **params):
        super().__init__(**params)
        self.summary = pn.pane.Markdown(sizing_mode="stretch_width")
        self.reasons = pn.widgets.Tabulator(pd.DataFrame(), **_TABLE_OPTIONS)
        self.examples = pn.widgets.Tabulator(
            pd.DataFrame(), formatters={"line": _PLAIN}, **_TABLE_OPTIONS
        )
        self.source.param.watch(self._update, "status")
        self._update()

    def _update(self, *events: param.parameterized.Event) -> None:
        status = self.source.status
        rejected = 0 if status is None else status.rejected_rows
        self.reasons.value = self.source.rejected_reasons()
        self.examples.value = self.source.rejected_examples()
        self.reasons.visible = self.examples.visible = rejected > 0
        self.summary.object = (
            f"{rejected:,} rows broke the data contract and were kept here "
            "instead of being imported. Examples show the first rows of each "
            "source (line 1 is the header)."
            if rejected
            else "No rejected rows."
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Rejected rows",
            self.summary,
            self.reasons,
            self.examples,
            sizing_mode="stretch_width",
        )
