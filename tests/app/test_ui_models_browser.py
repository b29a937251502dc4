"""The model pages served in their own process, driven in headless Chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from registry.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SEASON = Path("mmz4281") / "2223" / "E0.csv"
REASON = "first fit of the 2022 season"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_served(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                if response.status == 200:
                    return
        except OSError:  # refused while starting, or a first page still building
            time.sleep(0.2)
    pytest.fail(f"the app did not answer on {url} within 60 s:\n{log.read_text()}")


def _fill(db: Path, shared_data: Path) -> str:
    """Import one real season and register a tiny real fit of it; return its id."""
    from engine.artefacts import to_netcdf_bytes
    from engine.football_data import combine, read_paths
    from engine.model.arrays import design
    from engine.model.fitting import fit
    from engine.model.posterior import ConvergenceWarning
    from registry.matches import import_batch, load_matches
    from registry.provenance import training_rows_hash
    from registry.versions import register_version

    store = Store(db)
    import_batch(store, combine(read_paths([shared_data / SEASON])))
    matches = load_matches(store, leagues=["E0"], until=date(2023, 6, 1))
    chosen = design(matches, cutoff=date(2023, 6, 1), leagues=["E0"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # r-hat of one chain
        done = fit(chosen, model="poisson", num_warmup=100, num_samples=100,
                   num_chains=1, chain_method="sequential", seed=5)  # fmt: skip
    version = register_version(
        store,
        model="poisson",
        config={"model": {"name": "poisson"}},
        selection={
            "leagues": ["E0"],
            "cutoff": "2023-06-01",
            "matches": chosen.num_matches,
        },
        training_hash=training_rows_hash(matches),
        seed=5,
        idata_netcdf=to_netcdf_bytes(done.idata),
        diagnostics=done.diagnostics.to_dict(),
    )
    return version.version_id


@pytest.fixture
def served(tmp_path: Path, shared_data: Path) -> Iterator[tuple[str, str]]:
    """Serve the app on a store holding one fitted version; yield URL and id."""
    db = tmp_path / "served.duckdb"
    version = _fill(db, shared_data)
    port = _free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "app.ui", "--db", str(db), "--port", str(port)]
    with log.open("w") as sink:
        server = subprocess.Popen(command, cwd=REPO, stdout=sink, stderr=sink)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_served(url, server, log)
        yield url, version
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _screenshot(page, path: Path) -> None:
    """Save the whole page; the template scrolls its main area, not the window."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 1900})
    page.wait_for_timeout(500)
    page.screenshot(path=path)
    page.set_viewport_size(size)


def test_promote_on_the_models_page_then_price_a_match(
    page, served, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, version = served
    page.goto(url)
    expect(page.get_by_text("Matches per league and season")).to_be_visible(
        timeout=30_000
    )

    page.get_by_role("button", name="Models").click()
    expect(page.get_by_text("No alias names a version yet")).to_be_visible(
        timeout=15_000
    )
    rows = page.locator(".tabulator-row")
    expect(rows.filter(has_text=version).first).to_be_visible()
    expect(page.get_by_text("is blocked by: diagnostics")).to_be_visible()

    page.get_by_placeholder("why, e.g.").fill(REASON)
    page.get_by_role("button", name="Promote").click()
    blocked = f"model version {version} cannot become champion of E0"
    expect(page.get_by_text(blocked)).to_be_visible(timeout=15_000)

    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Promote").click()

    moved = f"The champion of E0 moved to model version {version}"
    expect(page.get_by_text(moved)).to_be_visible(timeout=15_000)
    expect(page.get_by_text(f"of E0: model version {version}")).to_be_visible()
    audit = rows.filter(has_text=REASON)
    expect(audit).to_have_count(1)
    assert "promote champion E0" in " ".join(audit.inner_text().split())
    expect(rows.filter(has_text="champion of E0")).to_have_count(1)
    _screenshot(page, tmp_path / "models.png")

    page.get_by_role("button", name="Match explorer").click()
    expect(page.get_by_text("champion of E0)")).to_be_visible(timeout=30_000)
    selects = page.locator("select")
    selects.nth(2).select_option("Man City")
    selects.nth(3).select_option("Southampton")

    expect(page.get_by_text("Man City v Southampton, E0")).to_be_visible(timeout=15_000)
    markets = page.locator(".tabulator-row")
    for name in ("p_home", "p_draw", "p_away", "over 2.5", "btts yes"):
        expect(markets.filter(has_text=name).first).to_be_visible()
    # The heatmap's title is drawn on its canvas, so look for the canvas.
    expect(page.locator("canvas").first).to_be_visible()
    _screenshot(page, tmp_path / "explorer.png")
