"""The app's model pages: versions, gates, promotion, audit log, match explorer."""

from __future__ import annotations

import getpass
import subprocess
import sys
import textwrap
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import arviz
import numpy as np
import panel as pn
import pytest
from jax import random

from app.ui.explorer import AUTO, MatchExplorer, league_teams
from app.ui.main import build_app
from app.ui.model_data import RegistryData
from app.ui.models import (
    AliasSummary,
    AuditLogTable,
    PromotionPanel,
    RegistryMessage,
    VersionTable,
)
from engine.artefacts import to_netcdf_bytes
from engine.markets import MatchMarkets
from engine.model.rates import fixture_rates
from registry import policy, provenance
from registry.aliases import list_aliases
from registry.policy import PromotionPolicy
from registry.promotion import promote
from registry.provenance import training_rows_hash
from registry.store import Store
from registry.versions import register_version

REPO = Path(__file__).resolve().parents[2]
SEASON = Path("mmz4281") / "2223" / "E0.csv"
GOOD = {"max_rhat": 1.002, "min_ess_bulk": 900.0, "min_ess_tail": 800.0,
        "divergences": 0, "caveats": [],
        "in_sample": {"log_score_loo": -2.97946}}  # fmt: skip
BAD = {**GOOD, "max_rhat": 1.2, "divergences": 5, "caveats": ["r-hat 1.2 > 1.01"]}
BAD.pop("in_sample")  # a version fitted before leave-one-out scores were kept
NO_DRIFT_CHECK = PromotionPolicy(require_drift_check=False)


@dataclass(frozen=True)
class Fitted:
    """One real fit, ready to register in any store."""

    netcdf: bytes
    selection: dict
    diagnostics: dict
    training_hash: str


@pytest.fixture(scope="module")
def fitted(shared_data: Path) -> Fitted:
    """A Poisson fit of the 2022/23 Premier League, tiny NUTS settings."""
    from engine.artefacts import to_netcdf_bytes
    from engine.football_data import combine, read_paths
    from engine.model.arrays import design
    from engine.model.fitting import fit
    from engine.model.posterior import ConvergenceWarning

    matches = combine(read_paths([shared_data / SEASON])).matches
    chosen = design(matches, cutoff=date(2023, 6, 1), leagues=["E0"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        done = fit(chosen, model="poisson", num_warmup=100, num_samples=100,
                   num_chains=1, chain_method="sequential", seed=5)  # fmt: skip
    selection = {"leagues": ["E0"], "cutoff": "2023-06-01",
                 "matches": chosen.num_matches}  # fmt: skip
    return Fitted(
        netcdf=to_netcdf_bytes(done.idata),
        selection=selection,
        diagnostics=done.diagnostics.to_dict(),
        training_hash=training_rows_hash(matches),
    )


def register_fit(db: Path, fitted: Fitted) -> str:
    """Register the real fit in the store at ``db``; return its id."""
    version = register_version(
        Store(db),
        model="poisson",
        config={"model": {"name": "poisson"}},
        selection=fitted.selection,
        training_hash=fitted.training_hash,
        seed=5,
        idata_netcdf=fitted.netcdf,
        diagnostics=fitted.diagnostics,
    )
    return version.version_id


def register_fake(db: Path, seed: int, diagnostics: dict, leagues=("E0",)) -> str:
    """Register a version whose posterior is random numbers, not a model."""
    rng = np.random.default_rng(seed)
    idata = arviz.from_dict(
        posterior={"attack": rng.normal(size=(2, 20, 3))},
        dims={"attack": ["team"]},
        coords={"team": ["Arsenal", "Chelsea", "Spurs"]},
    )
    version = register_version(
        Store(db),
        model="poisson",
        config={"model": {"name": "poisson"}},
        selection={"leagues": list(leagues), "cutoff": "2024-05-01", "matches": 3},
        training_hash="cd" * 32,
        seed=seed,
        idata_netcdf=to_netcdf_bytes(idata),
        diagnostics=diagnostics,
    )
    return version.version_id


@pytest.fixture
def two_fakes(tmp_path: Path) -> tuple[Path, str, str]:
    """A store with a version that converged and one that did not."""
    db = tmp_path / "store.duckdb"
    good = register_fake(db, 1, GOOD)
    bad = register_fake(db, 2, BAD)
    return db, good, bad


def _models_page(db: Path, policy: PromotionPolicy | None = None):
    source = RegistryData(db_path=str(db), policy=policy or PromotionPolicy())
    table = VersionTable(source=source)
    panel = PromotionPanel(source=source, versions=table)
    return source, table, panel


def _rows(frame) -> list[tuple]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_empty_registry_says_how_to_make_a_version(empty_store: Path) -> None:
    source, table, panel = _models_page(empty_store)
    summary = AliasSummary(source=source)
    explorer = MatchExplorer(source=source)

    text = summary.text.object
    assert "No model version yet" in text
    assert f"touchline --db {empty_store} fit --league E0 --until DATE" in text
    assert f"touchline --db {empty_store} registry promote ID --reason TEXT" in text
    assert table.holder.objects == []
    assert panel.version_id is None and panel.promote_button.disabled
    assert explorer.instructions.visible and not explorer.pickers.visible
    assert "fit --league E0 --until DATE" in explorer.instructions.object
    assert not explorer.results.visible


def test_version_table_shows_diagnostics_and_colours_aliases(two_fakes) -> None:
    db, good, bad = two_fakes
    promote(Store(db), good, scope="E0", reason="first", force=True)
    _, table, _ = _models_page(db)

    rows = {row[0]: row for row in _rows(table.table.value)}
    assert list(table.table.value["version_id"]) == [bad, good]  # newest first
    assert rows[good][1] == "champion of E0"
    assert rows[good][3:] == (
        "poisson", "E0", "2024-05-01", 3, 1.002, 900.0, 0, -2.979, ""
    )  # fmt: skip
    assert rows[bad][1] == ""
    assert rows[bad][7:10] == (1.2, 900.0, 5) and rows[bad][11] == "r-hat 1.2 > 1.01"
    assert rows[bad][10] is None or rows[bad][10] != rows[bad][10]  # None or NaN

    styled = table.table._get_style_data()["data"]  # what the browser is sent
    assert set(styled) == {1}  # the champion's row, second from the top
    assert all(("background-color", "#dcefe1") in s for s in styled[1].values())


def test_gates_follow_version_alias_and_scope(two_fakes) -> None:
    db, good, bad = two_fakes
    _, table, panel = _models_page(db)
    assert panel.version_id == bad  # the newest

    panel.version_id = good
    assert panel.scope == "E0"
    gates = panel.gates.value
    verdicts = dict(zip(gates["gate"], gates["verdict"], strict=True))
    assert verdicts == {"scope": "pass", "diagnostics": "pass",
                        "performance": "no evidence",
                        "drift": "no evidence"}  # fmt: skip
    assert "blocked by: performance, drift" in panel.verdict.object

    panel.alias = "challenger"
    assert set(panel.gates.value["verdict"]) == {"pass"}
    assert "passes every gate" in panel.verdict.object

    panel.scope = "E0,SP1"
    assert panel.gates.value["verdict"][0] == "fail"
    assert "not trained on SP1" in panel.gates.value["detail"][0]

    table.table.selection = [0]
    assert panel.version_id == bad and panel.scope == "E0"
    assert "max_rhat 1.2 not <= 1.01" in " ".join(panel.gates.value["detail"])


def test_blocked_promotion_is_a_message_and_moves_nothing(two_fakes) -> None:
    db, good, _ = two_fakes
    source, _, panel = _models_page(db)
    audit = AuditLogTable(source=source)
    panel.param.update(version_id=good, reason="looks fine")

    outcome = panel.promote()

    assert outcome.level == "warning"
    assert f"model version {good} cannot become champion of E0" in outcome.text
    assert panel.result.visible and panel.result.alert_type == "warning"
    assert "- drift: **no evidence**" in panel.result.object
    assert list_aliases(Store(db)) == []
    assert audit.summary.object == "No alias has moved yet."

    panel.reason = "   "
    refused = panel.promote()
    assert refused.level == "danger" and "a reason is required" in refused.text


def test_promote_and_roll_back_refresh_every_view(two_fakes) -> None:
    db, good, bad = two_fakes
    source, table, panel = _models_page(db)
    summary = AliasSummary(source=source)
    audit = AuditLogTable(source=source)

    panel.param.update(version_id=good, reason="first champion", force=True)
    first = panel.promote()
    assert first.level == "success"
    assert "champion of E0 moved to model version" in first.text
    assert "forced past failing gates" in first.text
    assert not panel.force and panel.reason == ""
    assert f"**champion** of **E0**: model version `{good}`" in summary.text.object
    assert "already the **champion**" in panel.verdict.object
    user = getpass.getuser()
    assert _rows(audit.table.value) == [
        (audit.table.value["moved_at"][0], "promote", "champion", "E0", "", good,
         user, "yes", "first champion"),
    ]  # fmt: skip

    panel.param.update(version_id=bad, reason="second", force=True)
    assert panel.promote().level == "success"
    assert table.table.value.set_index("version_id")["aliases"][bad] == (
        "champion of E0"
    )

    panel.reason = "the second did not converge"
    back = panel.rollback()
    assert back.level == "success" and "rolled back to" in back.text
    assert [t.version_id for t in source.aliases] == [good]
    assert audit.table.value["action"][0] == "rollback"
    assert audit.table.value["from"][0] == bad

    panel.reason = "once more"
    nothing = panel.rollback()
    assert nothing.level == "danger" and "no earlier version" in nothing.text


def test_a_move_without_a_user_name_is_recorded_as_unknown(
    two_fakes, monkeypatch
) -> None:
    db, good, bad = two_fakes

    def no_user() -> str:
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr(provenance.getpass, "getuser", no_user)
    source = RegistryData(db_path=str(db))
    for version in (good, bad):
        moved = source.promote(version, alias="champion", scope="E0",
                               reason="r", force=True)  # fmt: skip
        assert moved.level == "success", moved.text
    back = source.rollback(alias="champion", scope="E0", reason="r")
    assert back.level == "success", back.text
    assert [entry.who for entry in source.audit] == ["unknown"] * 3


def test_a_blocked_promotion_shows_the_report_it_was_decided_on(
    two_fakes, monkeypatch
) -> None:
    db, _, bad = two_fakes
    calls = []
    judge = policy.diagnostics_gate

    def counted(*args):
        calls.append(args)
        return judge(*args)

    monkeypatch.setattr("registry.promotion.diagnostics_gate", counted)
    source = RegistryData(db_path=str(db))
    outcome = source.promote(bad, alias="champion", scope="E0", reason="r",
                             force=False)  # fmt: skip
    assert outcome.level == "warning" and len(calls) == 1
    assert outcome.report is not None and outcome.report.version_id == bad
    verdicts = {v.name: v.passed for v in outcome.report.verdicts}
    assert verdicts["diagnostics"] is False


HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sys
    from registry.store import Store
    with Store(sys.argv[1]).write():
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_busy_store_is_a_message_and_posteriors_come_from_the_cache(
    two_fakes,
) -> None:
    db, good, _ = two_fakes
    source = RegistryData(db_path=str(db), busy_timeout_s=0.2)
    message = RegistryMessage(source=source)
    _, _, panel = _models_page(db)
    panel.source.busy_timeout_s = 0.2
    posterior = source.inference_data(good)

    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(db)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        source.load()
        assert "The store is busy" in source.message and str(db) in source.message
        assert message.alert.visible
        assert "model versions below are from the read at" in message.alert.object
        assert len(source.versions) == 2
        assert source.inference_data(good) is posterior

        panel.param.update(version_id=good, reason="busy", force=True)
        outcome = panel.promote()
        assert outcome.level == "danger" and "The store is busy" in outcome.text
    finally:
        writer.communicate("\n", timeout=30)

    source.load()
    assert source.message == "" and not message.alert.visible


def _visible_texts(app: pn.template.BaseTemplate) -> str:
    panes = [pane for part in app.main for pane in part.select(pn.pane.Markdown)]
    return "\n".join(str(pane.object) for pane in panes if pane.visible)


def test_build_app_passes_the_policy_to_the_models_page(two_fakes) -> None:
    db, _, _ = two_fakes
    app = build_app(db, policy=NO_DRIFT_CHECK)
    menu = app.sidebar[0]
    assert list(menu.options) == ["Store", "Models", "Match explorer"]
    assert menu.value == "Store"
    assert "model versions in the store" not in _visible_texts(app)

    menu.value = "Models"
    text = _visible_texts(app)
    assert "2 model versions in the store" in text
    assert "drift check not required" in text
    assert "is blocked by: diagnostics" in text  # the newest did not converge
    assert "The store is empty" not in text

    menu.value = "Match explorer"
    assert "cannot price fixtures" in _visible_texts(app)


def _engine_markets(db: Path, version: str, home: str, away: str) -> MatchMarkets:
    import polars as pl

    from registry.versions import load_inference_data

    fixture = pl.DataFrame(
        {
            "league": ["E0"],
            "kickoff": [date(2023, 8, 12)],
            "home_team": [home],
            "away_team": [away],
        }
    )
    idata = load_inference_data(Store(db), version)
    rates = fixture_rates(idata, fixture, rng_key=random.key(0))
    return MatchMarkets.from_rates(rates, max_goals=6)


def test_explorer_prices_a_fixture_with_the_champion(tmp_path, fitted) -> None:
    db = tmp_path / "store.duckdb"
    version = register_fit(db, fitted)
    promote(Store(db), version, scope="E0", reason="test", force=True)
    explorer = MatchExplorer(source=RegistryData(db_path=str(db)),
                             kickoff=date(2023, 8, 12))  # fmt: skip

    assert explorer.param.league.objects == ["E0"] and explorer.league == "E0"
    teams = explorer.param.home_team.objects
    assert len(teams) == 20 and teams == sorted(teams)
    assert (explorer.home_team, explorer.away_team) == (teams[0], teams[1])
    explorer.param.update(home_team="Man City", away_team="Southampton")

    assert explorer.chosen.version_id == version
    assert explorer.chosen.why == "champion of E0"
    expected = _engine_markets(db, version, "Man City", "Southampton")
    markets = explorer.table.value.set_index("market")
    for name, estimate in (("p_home", expected.home_win), ("p_draw", expected.draw),
                           ("p_away", expected.away_win)):  # fmt: skip
        assert markets.loc[name, "mean"] == round(float(estimate.mean[0]), 3)
        assert markets.loc[name, "5 %"] == round(float(estimate.lower[0]), 3)
        assert markets.loc[name, "95 %"] == round(float(estimate.upper[0]), 3)
        assert markets.loc[name, "fair odds"] == round(1 / float(estimate.mean[0]), 2)
        assert explorer.numbers[name].value == round(100 * estimate.mean[0], 1)
    assert markets.loc["p_home", "mean"] > 0.5 > markets.loc["p_away", "mean"]
    assert markets.loc[["p_home", "p_draw", "p_away"], "mean"].sum() == pytest.approx(
        1.0, abs=2e-3
    )
    over = expected.totals(2.5).over.mean[0]
    assert markets.loc["over 2.5", "mean"] == round(float(over), 3)
    assert markets.loc["btts yes", "mean"] == round(float(expected.btts_yes.mean[0]), 3)
    assert markets.loc["expected home_goals", "mean"] == round(
        float(expected.expected_home_goals.mean[0]), 2
    )
    assert "Man City v Southampton, E0, kickoff 2023-08-12" in explorer.header.object

    cells = expected.mean_scorelines().cells[0]
    shown = explorer.heatmap.object.renderers[0].data_source.data
    assert len(shown["p"]) == 49
    np.testing.assert_allclose(np.reshape(shown["p"], (7, 7)), cells)


def test_explorer_falls_back_to_other_aliases_and_a_chosen_version(
    tmp_path, fitted
) -> None:
    db = tmp_path / "store.duckdb"
    version = register_fit(db, fitted)
    fake = register_fake(db, 3, GOOD, leagues=("SP1",))
    source = RegistryData(db_path=str(db))
    explorer = MatchExplorer(source=source)

    assert explorer.param.league.objects == ["E0", "SP1"]
    assert explorer.chosen.version_id == version
    assert explorer.chosen.why.startswith("newest model version trained on E0")
    assert explorer.results.visible

    promote(Store(db), version, alias="challenger", scope="E0", reason="t", force=True)
    source.load()
    assert explorer.chosen.why == "challenger of E0"

    explorer.version = version
    assert explorer.chosen.why == "chosen above"
    assert explorer.param.league.objects == ["E0"]

    explorer.version = AUTO
    explorer.league = "SP1"
    assert explorer.chosen.version_id == fake
    assert not explorer.results.visible and explorer.notice.visible
    assert "could not be" in explorer.notice.object

    explorer.league = "E0"
    explorer.away_team = explorer.home_team
    assert explorer.notice.object == "Choose two different teams."
    assert not explorer.results.visible


def test_league_teams_keeps_the_league_of_each_team(tmp_path, fitted) -> None:
    db = tmp_path / "store.duckdb"
    version = register_fit(db, fitted)
    idata = RegistryData(db_path=str(db)).inference_data(version)

    teams = league_teams(idata, "E0")
    assert "Arsenal" in teams and "Wolves" in teams and len(teams) == 20
    assert league_teams(idata, "SP1") == teams  # no team of SP1: every team
