from pathlib import Path

import pytest

from engine.config import ConfigError, load_config, parse_config


def test_default_config_loads_and_resolves_alias_path():
    config = load_config()
    assert config.data.leagues
    assert config.sampler.num_chains >= 1
    assert config.data.team_aliases is not None
    assert config.data.team_aliases.is_absolute()
    assert config.to_dict()["sampler"]["seed"] == config.sampler.seed


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("data", "source", "ftp://x", "http:// or https://"),
        ("data", "leagues", [], "non-empty list"),
        ("data", "leagues", ["E0", ""], "division codes"),
        ("data", "seasons", [1800], "starting years"),
        ("data", "seasons", [True], "starting years"),
        ("data", "timeout_s", 0, "above 0"),
        ("data", "retries", 11, "from 0 to 10"),
        ("model", "name", "elo", "poisson, dixon_coles"),
        ("model", "decay_half_life_days", -3, "days above 0"),
        ("model", "dynamic", "yes", "true or false"),
        ("sampler", "num_chains", 0, "from 1 to 64"),
        ("sampler", "num_samples", 2.5, "from 1 to 100000"),
        ("sampler", "seed", -1, "from 0 to 2**32 - 1"),
        ("sampler", "seed", 2**32, "from 0 to 2**32 - 1"),
        ("sampler", "method", "hmc", "nuts, svi"),
    ],
)
def test_bad_field_is_named_with_expected_and_given(section, key, value, expected):
    with pytest.raises(ConfigError) as info:
        parse_config({section: {key: value}}, Path("run.toml"))
    message = str(info.value)
    assert f"{section}.{key}" in message
    assert expected in message
    assert repr(value) in message
    assert "\n" not in message


def test_unknown_field_and_section_are_rejected():
    with pytest.raises(ConfigError, match=r"unknown field sampler\.num_draws"):
        parse_config({"sampler": {"num_draws": 10}})
    with pytest.raises(ConfigError, match=r"unknown section \[markets\]"):
        parse_config({"markets": {}})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nleagues = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_zero_half_life_means_no_decay(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[model]\ndecay_half_life_days = 0\n", encoding="utf-8")
    assert load_config(path).model.decay_half_life_days is None


def test_field_problem_says_what_a_field_must_be():
    from engine.config import field_problem

    assert field_problem("data.seasons", [2023]) is None
    assert field_problem("data.seasons", [23]) == (
        "a non-empty list of starting years between 1990 and 2100"
    )
    assert field_problem("data.leagues", ["E-0"]).startswith("a non-empty list of")
    assert field_problem("data.leagues", ["E0"]) is None
