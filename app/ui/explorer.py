"""The match explorer: one fixture priced by a model version's posterior.

The view holds the choices (model version, league, home_team, away_team,
kickoff) as ``param`` state and shows what the engine computes for them:
p_home, p_draw and p_away with their credible intervals and fair odds, the
expected goals, over/under 2.5, both teams to score and the posterior mean
scoreline grid. Every figure comes from
:meth:`~app.ui.model_data.RegistryData.fixture_markets`; this module only
arranges them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.palettes import Blues9
from bokeh.plotting import figure
from bokeh.transform import linear_cmap
from panel.viewable import Viewer

from app.ui.model_data import (
    ChosenVersion,
    RegistryData,
    fill_registry_instructions,
)
from registry.store import StoreError

if TYPE_CHECKING:
    import arviz

    from engine.markets import MatchMarkets

AUTO = "auto"
"""The version choice that lets the league's champion price the fixture."""

AUTO_LABEL = "champion of the league"
OUTCOMES = ("p_home", "p_draw", "p_away")
TOTALS_LINE = 2.5
MARKET_COLUMNS = ("market", "mean", "lower", "upper", "fair odds")


class MatchExplorer(Viewer):
    """Markets of one fixture under the champion, or a chosen model version.

    Parameters
    ----------
    source : RegistryData
        The data source that lists versions and prices fixtures.
    version : str
        ``AUTO`` for the league's champion (see
        :meth:`~app.ui.model_data.RegistryData.version_for_league`), or a
        model version id.
    league, home_team, away_team : str
        The fixture; the choices come from the version's posterior.
    kickoff : datetime.date
        The fixture's date; today by default.
    active : bool, default True
        Whether the explorer is on screen. While it is not, refreshes wait
        until it is, so a page that never opens it never loads a posterior.

    Attributes
    ----------
    chosen : ChosenVersion or None
        The version that priced the fixture shown, and why it was chosen.
    markets : MatchMarkets or None
        The markets shown; None while nothing could be priced.
    """

    source = param.ClassSelector(class_=RegistryData)

    version = param.Selector(default=AUTO, objects={AUTO_LABEL: AUTO})

    league = param.Selector(default=None, objects=[], allow_None=True)

    home_team = param.Selector(default=None, objects=[], allow_None=True)

    away_team = param.Selector(default=None, objects=[], allow_None=True)

    kickoff = param.CalendarDate(default=None, allow_None=True)

    active = param.Boolean(default=True, doc="Whether the explorer is on screen.")

    def __init__(self, **params):
        params.setdefault("kickoff", date.today())
        super().__init__(**params)
        self.chosen: ChosenVersion | None = None
        self.markets: MatchMarkets | None = None
        self._syncing = False
        self._stale = True
        self._build_widgets()
        self.source.param.watch(self.refresh, "loaded_at")
        self.refresh()

    def _build_widgets(self) -> None:
        self.pickers = pn.Row(
            pn.widgets.Select.from_param(
                self.param.version, label="model version", width=300
            ),
            pn.widgets.Select.from_param(self.param.league, label="league", width=110),
            pn.widgets.Select.from_param(
                self.param.home_team, label="home_team", width=200
            ),
            pn.widgets.Select.from_param(
                self.param.away_team, label="away_team", width=200
            ),
            pn.widgets.DatePicker.from_param(
                self.param.kickoff, label="kickoff", width=150
            ),
            sizing_mode="stretch_width",
        )
        self.instructions = pn.pane.Markdown(sizing_mode="stretch_width")
        self.notice = pn.pane.Alert(alert_type="info", sizing_mode="stretch_width")
        self.header = pn.pane.Markdown(sizing_mode="stretch_width")
        self.numbers = {
            name: pn.indicators.Number(
                label=name, value=0.0, format="{value:.1f} %", font_size="30pt"
            )
            for name in OUTCOMES
        }
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=list(MARKET_COLUMNS)),
            disabled=True,
            show_index=False,
            layout="fit_data_table",
        )
        self.heatmap = pn.pane.Bokeh(None)
        self.results = pn.Column(
            self.header,
            pn.FlexBox(*self.numbers.values()),
            pn.Row(self.table, self.heatmap),
            sizing_mode="stretch_width",
        )

    @param.depends("version", "league", "home_team", "away_team", "kickoff", watch=True)
    def _changed(self) -> None:
        if not self._syncing:
            self.refresh()

    @param.depends("active", watch=True)
    def _shown(self) -> None:
        if self.active and self._stale:
            self.refresh()

    def refresh(self, *events: param.parameterized.Event) -> None:
        """Bring every choice in line with the store and price the fixture."""
        self._stale = not self.active
        if self._stale:
            return
        self._syncing = True
        try:
            ready = self._sync_choices()
        except (StoreError, ValueError) as exc:
            ready = False
            self._say(f"The model version could not be read: {exc}", "danger")
        finally:
            self._syncing = False
        if ready:
            self._price()

    def _sync_choices(self) -> bool:
        versions = self.source.versions
        self.instructions.object = fill_registry_instructions(str(self.source.path))
        self.instructions.visible = not versions
        self.pickers.visible = bool(versions)
        options = {AUTO_LABEL: AUTO}
        options.update({_version_label(v): v.version_id for v in reversed(versions)})
        self.param.version.objects = options
        if self.version not in options.values():
            self.version = AUTO
        if not versions:
            self._say("", "info")
            return False

        leagues = self._leagues()
        self.param.league.objects = leagues
        if self.league not in leagues:
            self.league = leagues[0] if leagues else None
        self.chosen = self._chosen()
        if self.chosen is None:
            covered = f"covers {self.league}" if self.league else "names a league"
            self._say(f"No model version {covered}.", "warning")
            return False

        idata = self.source.model_posterior(self.chosen.version_id)
        teams = league_teams(idata, self.league)
        self.param.home_team.objects = teams
        self.param.away_team.objects = teams
        if self.home_team not in teams:
            self.home_team = teams[0] if teams else None
        if self.away_team not in teams:
            others = [t for t in teams if t != self.home_team]
            self.away_team = others[0] if others else None
        return True

    def _leagues(self) -> list[str]:
        if self.version == AUTO:
            return self.source.leagues()
        idata = self.source.model_posterior(self.version)
        return [str(code) for code in idata.posterior["league"].values]

    def _chosen(self) -> ChosenVersion | None:
        if self.league is None:
            return None
        if self.version == AUTO:
            return self.source.version_for_league(self.league)
        return ChosenVersion(self.version, "chosen above")

    def _price(self) -> None:
        if self.home_team is None or self.home_team == self.away_team:
            self._say("Choose two different teams.", "info")
            return
        try:
            self.markets = self.source.fixture_markets(
                self.chosen.version_id,
                league=self.league,
                home_team=self.home_team,
                away_team=self.away_team,
                kickoff=self.kickoff or date.today(),
            )
        except (StoreError, ValueError) as exc:
            self._say(f"The fixture could not be priced: {exc}", "danger")
            return
        self._show(self.markets)

    def _show(self, markets: MatchMarkets) -> None:
        self.header.object = self._header(markets)
        for name, market in zip(OUTCOMES, _outcomes(markets), strict=True):
            self.numbers[name].value = round(100 * float(market.mean[0]), 1)
        self.table.value = market_frame(markets)
        grid = markets.mean_scorelines()
        self.heatmap.object = scoreline_figure(
            grid.cells[0], float(grid.more[0]), self.home_team, self.away_team
        )
        self.notice.visible = False
        self.results.visible = True

    def _header(self, markets: MatchMarkets) -> str:
        version = self.source.version(self.chosen.version_id)
        trained = ""
        if version is not None:
            selection = version.selection
            trained = (
                f": {version.model}, trained on {selection.get('matches', '?')} "
                f"matches before {selection.get('cutoff', '?')}"
            )
        return (
            f"#### {self.home_team} v {self.away_team}, {self.league}, kickoff "
            f"{self.kickoff:%Y-%m-%d}\n\n"
            f"Priced by model version `{self.chosen.version_id}` "
            f"({self.chosen.why}){trained}. Intervals are equal-tailed "
            f"{markets.level:.0%} credible intervals over {markets.n_draws} "
            "posterior draws; fair odds are 1 / mean."
        )

    def _say(self, text: str, level: str) -> None:
        self.notice.param.update(object=text, alert_type=level, visible=bool(text))
        self.results.visible = False

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Match explorer",
            self.instructions,
            self.pickers,
            self.notice,
            self.results,
            sizing_mode="stretch_width",
        )


def league_teams(idata: arviz.InferenceData, league: str | None) -> list[str]:
    """Return the posterior's teams centred in ``league``, sorted.

    Teams come from ``idata.posterior["team"]``; the fit's ``team_league``
    constant, where stored, keeps those of the league. Without it, or when
    it names no team of the league, every team is returned.
    """
    teams = [str(name) for name in idata.posterior["team"].values]
    if "constant_data" not in idata.groups():
        return sorted(teams)
    constant = idata.constant_data
    if "team_league" not in constant or "team" not in constant["team_league"].dims:
        return sorted(teams)

    home = dict(
        zip(
            (str(t) for t in constant["team"].values),
            (str(code) for code in constant["team_league"].values),
            strict=True,
        )
    )
    in_league = [team for team in teams if home.get(team) == league]
    return sorted(in_league or teams)


def market_frame(markets: MatchMarkets) -> pd.DataFrame:
    """Return the first fixture's markets: mean, interval and fair odds."""
    totals = markets.totals(TOTALS_LINE)
    priced = [
        *zip(OUTCOMES, _outcomes(markets), strict=True),
        (f"over {TOTALS_LINE}", totals.over, totals.fair_over),
        (f"under {TOTALS_LINE}", totals.under, totals.fair_under),
        ("btts yes", markets.btts_yes),
        ("btts no", markets.btts_no),
    ]
    rows = []
    for name, estimate, *fair in priced:
        odds = fair[0] if fair else estimate.fair_odds
        rows.append((name, *_summary(estimate, 3), round(float(odds[0]), 2)))
    for side, estimate in (
        ("home", markets.expected_home_goals),
        ("away", markets.expected_away_goals),
    ):
        rows.append((f"expected {side}_goals", *_summary(estimate, 2), None))

    lower, upper = _interval_names(markets.level)
    columns = ["market", "mean", lower, upper, "fair odds"]
    return pd.DataFrame(rows, columns=columns)


def scoreline_figure(
    cells: np.ndarray, more: float, home_team: str, away_team: str
) -> figure:
    """Return a heatmap of scoreline probabilities, home_goals down the side.

    Parameters
    ----------
    cells : numpy.ndarray
        ``cells[h, a]`` = P(home_goals = h, away_goals = a), square.
    more : float
        P(either side scores more than the grid shows).
    home_team, away_team : str
        Names for the axes.
    """
    size = cells.shape[0]
    goals = [str(g) for g in range(size)]
    home, away = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    values = cells.ravel()
    top = float(values.max()) if values.size else 1.0
    data = ColumnDataSource(
        {
            "home": [str(h) for h in home.ravel()],
            "away": [str(a) for a in away.ravel()],
            "p": values,
            "label": [f"{100 * p:.1f}" for p in values],
            "ink": ["white" if p > 0.55 * top else "#1b1b1b" for p in values],
        }
    )

    plot = figure(
        x_range=goals,
        y_range=list(reversed(goals)),
        width=470,
        height=440,
        title=f"Scoreline, % (beyond {size - 1} goals: {100 * more:.1f} %)",
        x_axis_label=f"away_goals ({away_team})",
        y_axis_label=f"home_goals ({home_team})",
        x_axis_location="above",
        tools="hover",
        tooltips=[("score", "@home-@away"), ("probability", "@label %")],
        toolbar_location=None,
    )
    plot.rect(
        "away",
        "home",
        1,
        1,
        source=data,
        line_color="white",
        fill_color=linear_cmap("p", list(reversed(Blues9)), 0.0, top),
    )
    plot.text(
        "away",
        "home",
        text="label",
        source=data,
        text_color="ink",
        text_align="center",
        text_baseline="middle",
        text_font_size="11pt",
    )
    plot.grid.grid_line_color = None
    plot.axis.major_tick_line_color = None
    return plot


def _outcomes(markets: MatchMarkets) -> tuple:
    return markets.home_win, markets.draw, markets.away_win


def _summary(estimate, digits: int) -> tuple[float, float, float]:
    return tuple(
        round(float(values[0]), digits)
        for values in (estimate.mean, estimate.lower, estimate.upper)
    )


def _interval_names(level: float) -> tuple[str, str]:
    tail = (1.0 - level) / 2.0
    return f"{100 * tail:g} %", f"{100 * (1.0 - tail):g} %"


def _version_label(version) -> str:
    return (
        f"{version.version_id} · {version.model} · {version.scope or 'no scope'} · "
        f"{version.created_at:%Y-%m-%d}"
    )
