"""Run configuration: one TOML file names the data, the model and the sampler.

Loading checks every field once, at the boundary, and names the bad one, so the
rest of the code can trust the values it is given.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

SEED_MAX = 2**32 - 1
"""Largest seed: a JAX key made from an integer keeps its low 32 bits only."""

MODELS = ("poisson", "dixon_coles")
METHODS = ("nuts", "svi")


class ConfigError(ValueError):
    """A configuration file or value that does not meet its schema."""


@dataclass(frozen=True)
class DataConfig:
    """Where match data comes from and which of it the default run holds."""

    source: str = "https://www.football-data.co.uk"
    leagues: tuple[str, ...] = ("E0", "D1", "SP1", "I1", "F1")
    seasons: tuple[int, ...] = (2021, 2022, 2023)
    team_aliases: Path | None = None
    timeout_s: float = 20.0
    retries: int = 3


@dataclass(frozen=True)
class ModelConfig:
    """Which model is fitted and how the past is weighed."""

    name: str = "dixon_coles"
    decay_half_life_days: float | None = 365.0
    dynamic: bool = False


@dataclass(frozen=True)
class SamplerConfig:
    """How the posterior is computed; ``seed`` makes every draw repeatable."""

    method: str = "nuts"
    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    seed: int = 20240601


@dataclass(frozen=True)
class Config:
    """A whole run: data, model and sampler settings, and the file they came from.

    ``promotion`` is the raw ``[promotion]`` table; the registry's promotion
    policy checks its fields, since the gates are the registry's to judge.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    promotion: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the resolved settings as plain TOML-compatible values."""
        out: dict[str, Any] = {}
        for section in ("data", "model", "sampler"):
            values = {}
            for f in fields(getattr(self, section)):
                value = getattr(getattr(self, section), f.name)
                if isinstance(value, tuple):
                    value = list(value)
                elif isinstance(value, Path):
                    value = str(value)
                values[f.name] = value
            out[section] = values
        out["promotion"] = dict(self.promotion)
        return out


def default_config_path() -> Path:
    """Return ``configs/default.toml`` of the source tree."""
    return Path(__file__).resolve().parents[1] / "configs" / "default.toml"


def load_config(path: str | Path | None = None) -> Config:
    """Read and check a run configuration.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file; the project's ``configs/default.toml`` when omitted.

    Returns
    -------
    Config
        Every field checked; relative paths resolved against the file's folder.

    Raises
    ------
    ConfigError
        Naming the file, the bad field, what it should be and what it was.
    """
    path = Path(path) if path is not None else default_config_path()
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist; pass --config with a TOML file "
            "such as configs/default.toml"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Check a configuration already read into a mapping; see `load_config`."""
    where = str(path) if path is not None else "<config>"
    unknown = set(raw) - {"data", "model", "sampler", "promotion"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown section [{sorted(unknown)[0]}]; expected "
            "[data], [model], [sampler] and [promotion]"
        )
    promotion = raw.get("promotion", {})
    if not isinstance(promotion, dict):
        raise ConfigError(f"{where}: [promotion] must be a table, got {promotion!r}")
    data = _check_section(where, "data", raw.get("data", {}), DataConfig)
    model = _check_section(where, "model", raw.get("model", {}), ModelConfig)
    sampler = _check_section(where, "sampler", raw.get("sampler", {}), SamplerConfig)
    if data.team_aliases is not None and path is not None:
        data = replace(data, team_aliases=(path.parent / data.team_aliases).resolve())
    return Config(
        data=data, model=model, sampler=sampler, promotion=promotion, path=path
    )


_EXPECTED: dict[str, str] = {
    "data.source": "a URL starting with http:// or https://",
    "data.leagues": 'a non-empty list of division codes such as "E0"',
    "data.seasons": "a non-empty list of starting years between 1990 and 2100",
    "data.team_aliases": "a path to a TOML file",
    "data.timeout_s": "a number of seconds above 0",
    "data.retries": "an integer from 0 to 10",
    "model.name": f"one of {', '.join(MODELS)}",
    "model.decay_half_life_days": "a number of days above 0, or 0 for no decay",
    "model.dynamic": "true or false",
    "sampler.method": f"one of {', '.join(METHODS)}",
    "sampler.num_warmup": "an integer from 1 to 100000",
    "sampler.num_samples": "an integer from 1 to 100000",
    "sampler.num_chains": "an integer from 1 to 64",
    "sampler.seed": "an integer from 0 to 2**32 - 1",
}


def _check_section(where: str, name: str, values: Any, cls: type) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: [{name}] must be a table, got {values!r}")
    known = {f.name for f in fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown field {name}.{key}; expected one of "
                f"{', '.join(sorted(known))}"
            )
    checked = {
        key: _check_value(where, f"{name}.{key}", v) for key, v in values.items()
    }
    return cls(**checked)


def field_problem(key: str, value: Any) -> str | None:
    """Return what config field ``key`` must be when ``value`` is not that.

    ``key`` is dotted, e.g. ``"data.seasons"``; None means the config would
    accept ``value``. Command-line options that stand for a config field
    check their values with this, so the rule is written once.
    """
    return _EXPECTED[key] if _convert(key, value) is _BAD else None


def _check_value(where: str, key: str, value: Any) -> Any:
    expected = _EXPECTED[key]
    checked = _convert(key, value)
    if checked is _BAD:
        raise ConfigError(f"{where}: {key} must be {expected}, got {value!r}")
    return checked


_BAD = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _convert(key: str, value: Any) -> Any:
    if key == "data.source":
        ok = isinstance(value, str) and value.startswith(("http://", "https://"))
        return value.rstrip("/") if ok else _BAD
    if key == "data.leagues":
        ok = (
            isinstance(value, list)
            and value
            and all(isinstance(v, str) and v.strip() and v.isalnum() for v in value)
        )
        return tuple(v.strip() for v in value) if ok else _BAD
    if key == "data.seasons":
        ok = (
            isinstance(value, list)
            and value
            and all(_is_int(v) and 1990 <= v <= 2100 for v in value)
        )
        return tuple(value) if ok else _BAD
    if key == "data.team_aliases":
        return Path(value) if isinstance(value, str) and value else _BAD
    if key == "data.timeout_s":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok and value > 0 else _BAD
    if key == "model.decay_half_life_days":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or value < 0:
            return _BAD
        return float(value) or None
    if key in ("model.name", "sampler.method"):
        allowed = MODELS if key == "model.name" else METHODS
        return value if value in allowed else _BAD
    if key == "model.dynamic":
        return value if isinstance(value, bool) else _BAD
    low, high = {
        "data.retries": (0, 10),
        "sampler.num_chains": (1, 64),
        "sampler.seed": (0, SEED_MAX),
    }.get(key, (1, 100_000))
    return value if _is_int(value) and low <= value <= high else _BAD
