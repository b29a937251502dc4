"""The app's data source: one cached read of the store, refreshed on demand.

The store is one DuckDB file that a running import or refit may need to write
at any moment, and DuckDB refuses a writer while any reader holds the file. So
the data source never keeps a connection: every refresh opens the store, reads
one :class:`~registry.status.DataStatus` and closes it again, and the views
work on that cached copy. Filtering happens here, in memory, on the cached
copy, so a change of filter never touches the store.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pandas as pd
import param

from registry.status import DataStatus, data_status
from registry.store import Store, StoreBusy, StoreError

logger = logging.getLogger(__name__)

ALL_LEAGUES = "all leagues"
"""The league filter value that keeps every league."""

SEASON_COLUMNS = (
    "league",
    "season",
    "matches",
    "first_kickoff",
    "last_kickoff",
    "teams",
)
REASON_COLUMNS = ("reason", "rows")
EXAMPLE_COLUMNS = ("source", "line", "raw", "reason")


class StoreData(param.Parameterized):
    """The store's contents as the app shows them, read once per refresh.

    Parameters
    ----------
    db_path : str
        The store's DuckDB file; a missing one reads as empty until a write
        creates it.
    busy_timeout_s : float, default 3.0
        How long a refresh waits for a writer to let go of the file before it
        gives up and says so in ``message``.
    """

    db_path = param.String(doc="The store's DuckDB file.")

    busy_timeout_s = param.Number(
        default=3.0, bounds=(0, None), doc="Seconds a refresh waits for a writer."
    )

    status = param.ClassSelector(
        class_=DataStatus,
        default=None,
        allow_None=True,
        doc="The last summary read from the store; None until a read succeeds.",
    )

    message = param.String(
        default="", doc="Why the last refresh failed; empty when it succeeded."
    )

    loaded_at = param.Date(
        default=None, allow_None=True, doc="When ``status`` was read."
    )

    refresh = param.Action(
        default=lambda self: self.load(), label="Refresh", doc="Read the store again."
    )

    def __init__(self, **params):
        super().__init__(**params)
        self._seasons = _frame([], SEASON_COLUMNS)
        self._reasons = _frame([], REASON_COLUMNS)
        self._examples = _frame([], EXAMPLE_COLUMNS)
        self.load()

    def load(self) -> None:
        """Read the store once and replace the cached summary.

        A busy or unreadable store leaves the previous summary in place and
        sets ``message`` to say why, so a long write elsewhere never breaks
        the page.
        """
        store = Store(self.db_path, busy_timeout_s=self.busy_timeout_s)
        try:
            status = data_status(store)
        except StoreBusy as exc:
            logger.warning("store busy on refresh: %s", exc)
            self.message = f"The store is busy, try Refresh again soon: {exc}"
            return
        except StoreError as exc:
            logger.warning("store unreadable on refresh: %s", exc)
            self.message = f"The store could not be read: {exc}"
            return

        self._cache_frames(status)
        self.param.update(status=status, message="", loaded_at=datetime.now())

    def _cache_frames(self, status: DataStatus) -> None:
        self._seasons = _frame(
            [season.to_dict() for season in status.seasons], SEASON_COLUMNS
        )
        self._reasons = _frame(status.rejected_by_reason, REASON_COLUMNS)
        self._examples = _frame(
            [
                (group.source, example.line, example.raw, example.reason)
                for group in status.rejected_by_source
                for example in group.examples
            ],
            EXAMPLE_COLUMNS,
        )

    @property
    def path(self) -> Path:
        """The store's file as a path."""
        return Path(self.db_path)

    @property
    def is_empty(self) -> bool:
        """Whether the last read found no match, fixture or import."""
        return self.status is not None and self.status.is_empty

    @property
    def leagues(self) -> list[str]:
        """League codes with stored matches, sorted."""
        return sorted(set(self._seasons["league"]))

    @property
    def seasons(self) -> list[int]:
        """Seasons (starting years) with stored matches, sorted."""
        return sorted({int(season) for season in self._seasons["season"]})

    def season_rows(self, league: str = ALL_LEAGUES) -> pd.DataFrame:
        """Return matches per league and season, optionally of one league.

        Parameters
        ----------
        league : str, default ``ALL_LEAGUES``
            A league code, or ``ALL_LEAGUES`` for every league.

        Returns
        -------
        pandas.DataFrame
            One row per league and season, with columns ``SEASON_COLUMNS``.
        """
        rows = self._seasons
        if league != ALL_LEAGUES:
            rows = rows[rows["league"] == league]
        return rows.reset_index(drop=True)

    def rejected_reasons(self) -> pd.DataFrame:
        """Return rejected rows counted by reason, most rows first."""
        return self._reasons.copy()

    def rejected_examples(self) -> pd.DataFrame:
        """Return the first few rejected rows of each source."""
        return self._examples.copy()


def _frame(rows: list | tuple, columns: tuple[str, ...]) -> pd.DataFrame:
    if rows and isinstance(rows[0], dict):
        return pd.DataFrame(rows, columns=list(columns))
    return pd.DataFrame(list(rows), columns=list(columns))
