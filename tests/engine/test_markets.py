"""Posterior markets: sums, closed forms, Dixon-Coles, lines and validation."""

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from engine.markets import (
    HandicapMarket,
    MarketEstimate,
    MatchMarkets,
    PosteriorEstimate,
    TotalsMarket,
)

TOTALS_LINES = [0.0, 0.25, 0.5, 2.25, 2.5, 2.75, 3.0, 5.5, 9.0]
HANDICAP_LINES = [-3.0, -1.5, -0.75, -0.25, 0.0, 0.25, 0.5, 1.0, 1.25, 2.75]


def random_rates(seed, n_draws=40, n_fixtures=12):
    """Posterior-like rates from tiny to large, with a spread across draws."""
    rng = np.random.default_rng(seed)
    centre = np.concatenate(
        [[1e-3, 0.05, 6.0, 8.5], rng.lognormal(np.log(1.3), 0.6, n_fixtures - 4)]
    )
    home = centre * rng.lognormal(0.0, 0.15, (n_draws, n_fixtures))
    away = rng.permutation(centre) * rng.lognormal(0.0, 0.15, (n_draws, n_fixtures))
    return home, away


def safe_rho(home, away, seed):
    """Rho per draw inside the range that keeps every tau non-negative."""
    rng = np.random.default_rng(seed)
    upper = np.minimum(1.0, 1.0 / (home * away).max(axis=1))
    lower = np.maximum(-1.0 / home.max(axis=1), -1.0 / away.max(axis=1))
    return rng.uniform(0.9 * lower, 0.9 * upper)


def exact_grid(home_rate, away_rate, rho=0.0, size=120):
    """Independent Poisson grid (with Dixon-Coles cells) from scipy, far out."""
    goals = np.arange(size)
    grid = np.outer(
        stats.poisson.pmf(goals, home_rate), stats.poisson.pmf(goals, away_rate)
    )
    grid[0, 0] *= 1 - home_rate * away_rate * rho
    grid[0, 1] *= 1 + home_rate * rho
    grid[1, 0] *= 1 + away_rate * rho
    grid[1, 1] *= 1 - rho
    return grid


@pytest.fixture(scope="module", params=[False, True], ids=["poisson", "dixon_coles"])
def markets(request):
    home, away = random_rates(seed=7)
    rho = safe_rho(home, away, seed=8) if request.param else None
    return MatchMarkets(home, away, rho)


def test_every_market_sums_to_one(markets):
    total = markets.home_win.draws + markets.draw.draws + markets.away_win.draws
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    btts = markets.btts_yes.draws + markets.btts_no.draws
    np.testing.assert_allclose(btts, 1.0, atol=1e-9)

    for line in TOTALS_LINES:
        market = markets.totals(line)
        total = market.over.draws + market.push.draws + market.under.draws
        np.testing.assert_allclose(total, 1.0, atol=1e-9, err_msg=f"totals {line}")
    for line in HANDICAP_LINES:
        market = markets.asian_handicap(line)
        total = market.home.draws + market.push.draws + market.away.draws
        np.testing.assert_allclose(total, 1.0, atol=1e-9, err_msg=f"handicap {line}")

    grid = markets.scoreline_draws(range(markets.n_fixtures))
    np.testing.assert_allclose(grid.cells.sum((-2, -1)) + grid.more, 1.0, atol=1e-12)
    mean = markets.mean_scorelines()
    np.testing.assert_allclose(mean.cells.sum((-2, -1)) + mean.more, 1.0, atol=1e-12)
    assert (grid.cells >= 0).all()
    assert (grid.more >= -1e-15).all()


def test_markets_match_the_infinite_grid_including_large_rates(markets):
    home, away = markets._home, markets._away
    rho = markets._rho if markets._rho is not None else np.zeros_like(home)
    for draw, fixture in [(0, 0), (3, 2), (5, 3), (11, 7), (39, 11)]:
        lam, mu, r = home[draw, fixture], away[draw, fixture], rho[draw, fixture]
        grid = exact_grid(lam, mu, r)
        h, a = np.indices(grid.shape)
        expected = {
            "home_win": grid[h > a].sum(),
            "draw": grid[h == a].sum(),
            "away_win": grid[h < a].sum(),
            "btts_yes": grid[(h > 0) & (a > 0)].sum(),
        }
        for name, value in expected.items():
            got = getattr(markets, name).draws[draw, fixture]
            assert got == pytest.approx(value, abs=1e-11), name
        over = markets.totals(2.5).over.draws[draw, fixture]
        assert over == pytest.approx(grid[h + a > 2.5].sum(), abs=1e-11)
        assert markets.correct_score(2, 1).draws[draw, fixture] == pytest.approx(
            grid[2, 1], abs=1e-13
        )


def test_independent_case_agrees_with_scipy_closed_forms():
    home = np.array([[0.002, 0.4, 1.45, 2.7, 6.0, 9.0]])
    away = np.array([[0.9, 0.01, 1.05, 2.7, 0.6, 6.0]])
    markets = MatchMarkets(home, away)
    lam, mu = home[0], away[0]

    np.testing.assert_allclose(markets.home_win.mean, stats.skellam.sf(0, lam, mu))
    np.testing.assert_allclose(markets.draw.mean, stats.skellam.pmf(0, lam, mu))
    np.testing.assert_allclose(markets.away_win.mean, stats.skellam.cdf(-1, lam, mu))
    over = markets.totals(2.5).over.mean
    np.testing.assert_allclose(over, stats.poisson.sf(2, lam + mu), rtol=1e-12)
    btts = (1 - np.exp(-lam)) * (1 - np.exp(-mu))
    np.testing.assert_allclose(markets.btts_yes.mean, btts, rtol=1e-12)
    np.testing.assert_allclose(markets.expected_home_goals.mean, lam, rtol=1e-12)
    np.testing.assert_allclose(markets.expected_away_goals.mean, mu, rtol=1e-12)

    correct = stats.poisson.pmf(3, lam) * stats.poisson.pmf(1, mu)
    np.testing.assert_allclose(markets.correct_score(3, 1).mean, correct, rtol=1e-12)


def test_a_naive_eleven_by_eleven_grid_would_lose_the_tail():
    markets = MatchMarkets(np.array([[9.0]]), np.array([[0.5]]), max_goals=10)
    grid = markets.mean_scorelines()
    assert grid.more[0] > 0.2
    assert markets.home_win.mean[0] == pytest.approx(
        stats.skellam.sf(0, 9.0, 0.5), abs=1e-12
    )
    far = markets.correct_score(14, 0).mean[0]
    assert far == pytest.approx(stats.poisson.pmf(14, 9.0) * np.exp(-0.5), rel=1e-12)


def test_dixon_coles_at_rho_zero_is_poisson():
    home, away = random_rates(seed=3, n_draws=10, n_fixtures=6)
    plain = MatchMarkets(home, away)
    zero = MatchMarkets(home, away, np.zeros(10))
    for name in ["home_win", "draw", "away_win", "btts_yes", "expected_home_goals"]:
        np.testing.assert_allclose(
            getattr(zero, name).draws, getattr(plain, name).draws, rtol=1e-14
        )
    np.testing.assert_allclose(
        zero.scoreline_draws([0, 5]).cells, plain.scoreline_draws([0, 5]).cells
    )


def test_dixon_coles_changes_only_the_four_low_cells():
    home, away = random_rates(seed=4, n_draws=8, n_fixtures=5)
    rho = safe_rho(home, away, seed=5)
    plain = MatchMarkets(home, away).scoreline_draws(range(5)).cells
    dc = MatchMarkets(home, away, rho).scoreline_draws(range(5)).cells

    outside = np.ones(plain.shape[-2:], dtype=bool)
    outside[:2, :2] = False
    np.testing.assert_allclose(dc[..., outside], plain[..., outside], rtol=1e-12)

    lam, mu, r = home, away, rho[:, None]
    tau = {(0, 0): 1 - lam * mu * r, (0, 1): 1 + lam * r}
    tau |= {(1, 0): 1 + mu * r, (1, 1): 1 - r}
    for (h, a), factor in tau.items():
        np.testing.assert_allclose(dc[..., h, a], plain[..., h, a] * factor, 1e-12)
        assert not np.allclose(dc[..., h, a], plain[..., h, a])


def test_dixon_coles_keeps_the_poisson_marginals():
    home, away = random_rates(seed=6, n_draws=6, n_fixtures=6)
    markets = MatchMarkets(home, away, safe_rho(home, away, seed=2))
    np.testing.assert_allclose(markets.expected_home_goals.draws, home, rtol=1e-12)
    np.testing.assert_allclose(markets.expected_away_goals.draws, away, rtol=1e-12)


@pytest.mark.parametrize("line", [-1.75, -0.75, -0.25, 0.25, 1.25])
def test_quarter_handicap_is_the_average_of_its_neighbours(markets, line):
    quarter = markets.asian_handicap(line)
    below = markets.asian_handicap(line - 0.25)
    above = markets.asian_handicap(line + 0.25)
    for side in ["home", "push", "away"]:
        mean = (getattr(below, side).draws + getattr(above, side).draws) / 2
        np.testing.assert_allclose(getattr(quarter, side).draws, mean, atol=1e-15)


def test_quarter_totals_line_is_the_average_of_its_neighbours(markets):
    quarter, below, above = (markets.totals(x) for x in (2.75, 2.5, 3.0))
    for side in ["over", "push", "under"]:
        mean = (getattr(below, side).draws + getattr(above, side).draws) / 2
        np.testing.assert_allclose(getattr(quarter, side).draws, mean, atol=1e-15)


def test_whole_and_half_lines_settle_as_documented(markets):
    assert np.all(markets.totals(2.5).push.draws == 0)
    level = markets.asian_handicap(0.0)
    np.testing.assert_allclose(level.home.draws, markets.home_win.draws, atol=1e-15)
    np.testing.assert_allclose(level.push.draws, markets.draw.draws, atol=1e-15)
    np.testing.assert_allclose(level.away.draws, markets.away_win.draws, atol=1e-15)

    give_half = markets.asian_handicap(-0.5).home.draws
    np.testing.assert_allclose(give_half, markets.home_win.draws, atol=1e-15)
    take_half = markets.asian_handicap(0.5).home.draws
    expected = markets.home_win.draws + markets.draw.draws
    np.testing.assert_allclose(take_half, expected, atol=1e-15)

    three = markets.totals(3.0)
    grid = markets.scoreline_draws(range(markets.n_fixtures))
    pushes = sum(grid.cells[..., h, 3 - h] for h in range(4))
    np.testing.assert_allclose(three.push.draws, pushes, atol=1e-15)


def test_home_handicap_mirrors_the_swapped_fixture():
    home, away = random_rates(seed=9, n_draws=5, n_fixtures=4)
    forward = MatchMarkets(home, away).asian_handicap(-1.25)
    swapped = MatchMarkets(away, home).asian_handicap(1.25)
    np.testing.assert_allclose(forward.home.draws, swapped.away.draws, atol=1e-15)
    np.testing.assert_allclose(forward.push.draws, swapped.push.draws, atol=1e-15)


def test_fair_odds_are_reciprocal_and_zero_profit(markets):
    win = markets.home_win
    np.testing.assert_array_equal(win.fair_odds, 1.0 / win.mean)
    half = markets.totals(2.5)
    np.testing.assert_allclose(half.fair_over, 1.0 / half.over.mean)
    np.testing.assert_allclose(half.fair_under, 1.0 / half.under.mean)

    for market in [markets.totals(3.0), markets.totals(2.25)]:
        profit = market.over.mean * (market.fair_over - 1) - market.under.mean
        np.testing.assert_allclose(profit, 0.0, atol=1e-12)
    handicap = markets.asian_handicap(-0.75)
    profit = handicap.away.mean * (handicap.fair_away - 1) - handicap.home.mean
    np.testing.assert_allclose(profit, 0.0, atol=1e-12)


def test_fair_odds_of_an_impossible_outcome_are_infinite():
    estimate = MarketEstimate.from_draws(np.zeros((3, 2)), 0.9)
    assert np.isinf(estimate.fair_odds).all()


def test_intervals_contain_the_mean_and_follow_the_level():
    home, away = random_rates(seed=11, n_draws=400, n_fixtures=6)
    wide = MatchMarkets(home, away, level=0.9)
    narrow = MatchMarkets(home, away, level=0.5)
    for estimate in [wide.home_win, wide.draw, wide.totals(2.5).over]:
        assert (estimate.lower <= estimate.mean).all()
        assert (estimate.mean <= estimate.upper).all()
        assert estimate.level == 0.9
    np.testing.assert_allclose(
        wide.draw.lower, np.quantile(wide.draw.draws, 0.05, axis=0)
    )
    assert (
        narrow.draw.upper - narrow.draw.lower < wide.draw.upper - wide.draw.lower
    ).all()
    lower, upper = wide.draw.interval(0.5)
    np.testing.assert_allclose(lower, narrow.draw.lower)
    np.testing.assert_allclose(upper, narrow.draw.upper)


def test_most_likely_scorelines_match_a_brute_force_search():
    home = np.array([[2.5, 1.0, 12.5], [2.3, 1.2, 12.0]])
    away = np.array([[0.5, 1.6, 0.2], [0.6, 1.4, 0.3]])
    markets = MatchMarkets(home, away, np.array([-0.05, 0.02]))
    picks = markets.most_likely_scorelines(k=4)

    for fixture in range(3):
        grid = np.mean(
            [
                exact_grid(home[d, fixture], away[d, fixture], r)
                for d, r in enumerate([-0.05, 0.02])
            ],
            axis=0,
        )
        best = np.argsort(-grid.ravel(), kind="stable")[:4]
        assert picks.home_goals[fixture].tolist() == (best // grid.shape[1]).tolist()
        assert picks.away_goals[fixture].tolist() == (best % grid.shape[1]).tolist()
        np.testing.assert_allclose(
            picks.probability.mean[fixture], grid.ravel()[best], rtol=1e-10
        )
    assert picks.home_goals[2, 0] == 12
    assert picks.probability.draws.shape == (2, 3, 4)


def test_small_chunks_give_the_same_markets():
    home, away = random_rates(seed=12, n_draws=30, n_fixtures=9)
    rho = safe_rho(home, away, seed=13)
    whole = MatchMarkets(home, away, rho)
    pieces = MatchMarkets(home, away, rho, chunk_bytes=1)
    assert pieces._chunk_size == 1 and whole._chunk_size >= 9
    np.testing.assert_allclose(pieces.home_win.draws, whole.home_win.draws, atol=1e-15)
    np.testing.assert_allclose(
        pieces.most_likely_scorelines(2).probability.draws,
        whole.most_likely_scorelines(2).probability.draws,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        pieces.mean_scorelines().cells, whole.mean_scorelines().cells, atol=1e-15
    )
    np.testing.assert_allclose(
        pieces.scoreline_draws([8, 0, 3]).cells,
        whole.scoreline_draws([8, 0, 3]).cells,
        atol=1e-15,
    )


def test_results_are_typed_and_read_only(markets):
    assert isinstance(markets.totals(2.5), TotalsMarket)
    assert isinstance(markets.asian_handicap(-0.5), HandicapMarket)
    assert isinstance(markets.home_win, MarketEstimate)
    assert type(markets.expected_home_goals) is PosteriorEstimate
    assert markets.home_win.mean.shape == (markets.n_fixtures,)
    assert markets.home_win.draws.shape == (markets.n_draws, markets.n_fixtures)
    with pytest.raises(ValueError):
        markets.home_win.mean[0] = 0.5


def test_accepts_jax_arrays_and_a_rates_object():
    jnp = pytest.importorskip("jax.numpy")
    home, away = random_rates(seed=14, n_draws=4, n_fixtures=5)

    @dataclass(frozen=True)
    class Rates:
        home_rate: object
        away_rate: object
        rho: object

    rates = Rates(jnp.asarray(home), jnp.asarray(away), jnp.zeros(4))
    markets = MatchMarkets.from_rates(rates, level=0.8)
    expected = MatchMarkets(home, away).draw.draws
    np.testing.assert_allclose(markets.draw.draws, expected, rtol=1e-6)
    assert markets.level == 0.8


def one_line_error(call, *fragments):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_bad_rates_raise_one_line_errors():
    good = np.ones((3, 2))
    one_line_error(
        lambda: MatchMarkets(np.ones(2), np.ones(2)), "(n_draws, n_fixtures)"
    )
    one_line_error(lambda: MatchMarkets(good, np.ones((3, 3))), "(3, 2)", "(3, 3)")
    bad = good.copy()
    bad[1, 1] = -0.5
    one_line_error(lambda: MatchMarkets(bad, good), "home_rate", "-0.5", "fixture 1")
    bad[1, 1] = np.nan
    one_line_error(lambda: MatchMarkets(good, bad), "away_rate", "nan")
    bad[1, 1] = 0.0
    one_line_error(lambda: MatchMarkets(good, bad), "finite and in (0, 100]")
    one_line_error(lambda: MatchMarkets(good, good, np.zeros(2)), "rho", "(3,)")
    one_line_error(lambda: MatchMarkets(good, good, np.array([0, np.inf, 0])), "rho")


def test_negative_tau_names_the_fixture_and_value():
    home = np.array([[1.0, 2.0, 1.0]])
    away = np.array([[1.0, 2.0, 1.0]])
    message = one_line_error(
        lambda: MatchMarkets(home, away, np.array([0.3])), "fixture 1", "tau(0,0)"
    )
    assert "-0.2" in message
    one_line_error(lambda: MatchMarkets(home, away, np.array([1.5])), "tau")


def test_bad_options_and_lines_raise_one_line_errors():
    good = np.ones((3, 2))
    one_line_error(lambda: MatchMarkets(good, good, level=1.0), "level", "(0, 1)")
    one_line_error(lambda: MatchMarkets(good, good, max_goals=0), "max_goals >= 1")
    one_line_error(lambda: MatchMarkets(good, good, max_goals=2.5), "integer")
    markets = MatchMarkets(good, good)
    one_line_error(lambda: markets.totals(2.3), "steps of 0.25", "2.3")
    one_line_error(lambda: markets.totals(-0.5), "totals line >= 0")
    one_line_error(lambda: markets.asian_handicap(float("nan")), "steps of 0.25")
    one_line_error(lambda: markets.correct_score(-1, 0), "home_goals >= 0")
    one_line_error(lambda: markets.most_likely_scorelines(0), "k >= 1")
    one_line_error(lambda: markets.scoreline_draws([2]), "0..1", "[2]")
    one_line_error(lambda: markets.scoreline_draws([0], max_bytes=10), "fewer fixtures")
    one_line_error(lambda: markets.home_win.interval(0.0), "level")
