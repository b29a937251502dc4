"""Posterior scoring rates of fixtures, from fits on simulated data."""

from __future__ import annotations

import warnings
from datetime import date

import jax
import numpy as np
import polars as pl
import pytest
from simulated import TEAMS

from engine.model import Fit, ModelInputError, fixture_rates
from engine.model.rates import NewTeamPriorWarning


def test_fixture_rates_follow_the_posterior(poisson_fit: tuple[Fit, int]) -> None:
    result = poisson_fit[0]
    fixtures = pl.DataFrame(
        {
            "league": ["E0", "E0", "E0"],
            "kickoff": [date(2024, 8, 10)] * 3,
            "home_team": ["Team A", "Team C", "Nowhere Town"],
            "away_team": ["Team B", "Nowhere Town", "Team D"],
        }
    )
    rates = fixture_rates(result, fixtures, rng_key=jax.random.key(0))

    assert rates.home_rate.shape == rates.away_rate.shape == (400, 3)
    assert rates.rho is None
    assert rates.unseen_home.tolist() == [False, False, True]
    assert rates.unseen_away.tolist() == [False, True, False]
    assert np.isfinite(rates.home_rate).all()

    post = result.idata.posterior
    flat = {k: v.values.reshape(400, *v.shape[2:]) for k, v in post.data_vars.items()}
    a, b = TEAMS.index("Team A"), TEAMS.index("Team B")
    expected = np.exp(
        flat["intercept"][:, 0]
        + flat["home_advantage"][:, 0]
        + flat["attack"][:, a]
        - flat["defence"][:, b]
    )
    np.testing.assert_allclose(rates.home_rate[:, 0], expected, rtol=1e-5)

    # The unseen side's log attack is the new-team prior: offset plus spread.
    implied = np.log(rates.home_rate[:, 2]) - flat["intercept"][:, 0]
    implied -= flat["home_advantage"][:, 0] - flat["defence"][:, TEAMS.index("Team D")]
    offset, spread = flat["new_team_attack"], flat["attack_sd"]
    z = (implied - offset) / spread
    assert abs(z.mean()) < 0.25 and 0.8 < z.std() < 1.2


def test_an_unseen_sides_rates_do_not_depend_on_the_other_fixtures(
    poisson_fit: tuple[Fit, int],
) -> None:
    one = pl.DataFrame(
        {
            "league": ["E0"],
            "kickoff": [date(2024, 8, 10)],
            "home_team": ["Nowhere Town"],
            "away_team": ["Team B"],
        }
    )
    more = pl.concat(
        [
            one.with_columns(home_team=pl.lit("Anywhere Rovers")),
            one,
            one.with_columns(home_team=pl.lit("Team C"), away_team=pl.lit("Zed City")),
        ]
    )
    alone = fixture_rates(poisson_fit[0], one, rng_key=jax.random.key(4))
    among = fixture_rates(poisson_fit[0], more, rng_key=jax.random.key(4))
    np.testing.assert_array_equal(alone.home_rate[:, 0], among.home_rate[:, 1])
    assert not np.array_equal(among.home_rate[:, 0], among.home_rate[:, 1])


def test_fixture_rates_are_repeatable_and_reject_unknown_leagues(
    poisson_fit: tuple[Fit, int],
) -> None:
    fixtures = pl.DataFrame(
        {
            "league": ["E0"],
            "kickoff": [date(2024, 8, 10)],
            "home_team": ["Nowhere Town"],
            "away_team": ["Team B"],
        }
    )
    first = fixture_rates(poisson_fit[0], fixtures, rng_key=jax.random.key(4))
    again = fixture_rates(poisson_fit[0].idata, fixtures, rng_key=jax.random.key(4))
    other = fixture_rates(poisson_fit[0], fixtures, rng_key=jax.random.key(5))
    np.testing.assert_array_equal(first.home_rate, again.home_rate)
    assert not np.array_equal(first.home_rate, other.home_rate)

    with pytest.raises(ModelInputError, match=r"'SP1'.*knows E0") as info:
        fixture_rates(
            poisson_fit[0],
            fixtures.with_columns(league=pl.lit("SP1")),
            rng_key=jax.random.key(0),
        )
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_dixon_coles_fixture_rates_carry_a_valid_rho(dixon_coles_fit: Fit) -> None:
    fixtures = pl.DataFrame(
        {
            "league": ["E0", "E0"],
            "kickoff": [date(2024, 8, 10)] * 2,
            "home_team": ["Team A", "Nowhere Town"],
            "away_team": ["Team B", "Team A"],
        }
    )
    rates = fixture_rates(dixon_coles_fit, fixtures, rng_key=jax.random.key(1))
    assert rates.rho.shape == rates.rho_clipped.shape == rates.home_rate.shape
    lam, mu, rho = rates.home_rate, rates.away_rate, rates.rho
    taus = np.stack(
        [1 - lam * mu * rho, 1 + lam * rho, 1 + mu * rho, 1 - rho + 0 * lam]
    )
    assert taus.min() >= 0
    # between known teams the fitted rho already lies within the bound
    fitted = dixon_coles_fit.idata.posterior["rho"].values.reshape(-1)
    assert not rates.rho_clipped[:, 0].any()
    np.testing.assert_array_equal(rates.rho[:, 0], fitted)


def test_unseen_sides_without_a_learned_offset_carry_a_warning(
    poisson_fit: tuple[Fit, int],
) -> None:
    fixtures = pl.DataFrame(
        {
            "league": ["E0", "E0"],
            "kickoff": [date(2024, 8, 10)] * 2,
            "home_team": ["Nowhere Town", "Team A"],
            "away_team": ["Team B", "Team C"],
        }
    )
    idata = poisson_fit[0].idata
    assert not idata.constant_data["team_new"].values.any()
    with pytest.warns(NewTeamPriorWarning, match="'Nowhere Town'.*prior stands in"):
        fixture_rates(idata, fixtures, rng_key=jax.random.key(0))

    learned = idata.copy()
    learned.constant_data["team_new"].values[:2] = 1
    known_only = fixtures.filter(pl.col("home_team") == "Team A")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NewTeamPriorWarning)
        fixture_rates(learned, fixtures, rng_key=jax.random.key(0))
        fixture_rates(idata, known_only, rng_key=jax.random.key(0))
