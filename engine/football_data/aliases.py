"""Team names: whitespace clean-up and the alias table."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path


def clean_team(name: str, aliases: Mapping[str, str]) -> str:
    """Return ``name`` trimmed, inner whitespace collapsed, then aliased.

    Parameters
    ----------
    name : str
        The cell as read.
    aliases : Mapping of str to str
        Spelling variant to the name used for the club.

    Returns
    -------
    str
        The club's name; empty when the cell was blank.
    """
    cleaned = " ".join(name.split())
    return aliases.get(cleaned, cleaned)


def load_team_aliases(path: str | Path) -> dict[str, str]:
    """Read a team alias table from TOML.

    The file holds one table, ``[aliases]``, of spelling variant to the name
    used for the club, for example ``"M'Gladbach" = "M'gladbach"``. Names are
    trimmed and inner whitespace collapsed, as team cells are.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    dict of str to str
        Variant to name.

    Raises
    ------
    ValueError
        One line naming the file and the bad entry: the file is missing or not
        TOML, ``[aliases]`` is missing or not a table, a name is not a
        non-empty string, or an alias points at another alias (a chain or a
        cycle).
    """
    path = Path(path)
    table = _aliases_table(path)
    aliases: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str) or not " ".join(value.split()):
            raise ValueError(
                f"{path}: alias '{key}' must map to a non-empty team name string, "
                f'got {value!r}; write "{key}" = "<team name>"'
            )
        variant = " ".join(key.split())
        if not variant:
            raise ValueError(
                f"{path}: an alias key is empty; write the spelling variant as the key"
            )
        aliases[variant] = " ".join(value.split())
    _refuse_chains(aliases, path)
    return aliases


def _aliases_table(path: Path) -> dict[str, object]:
    """Return the ``[aliases]`` table of the TOML file at ``path``."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"team alias file {path} does not exist; create it with an [aliases] "
            "table or point data.team_aliases at an existing file"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"team alias file {path} is not valid UTF-8 TOML ({error}); fix the syntax"
        ) from None
    table = document.get("aliases")
    if not isinstance(table, dict):
        raise ValueError(
            f"team alias file {path} has no [aliases] table, got "
            f"{sorted(document) or 'nothing'}; put the variants under [aliases]"
        )
    return table


def _refuse_chains(aliases: dict[str, str], path: Path) -> None:
    """Raise when a target is itself an alias: every lookup takes one step."""
    for variant, team in aliases.items():
        if team in aliases:
            raise ValueError(
                f"{path}: alias '{variant}' points at '{team}', which is itself an "
                f"alias (a chain or cycle); map '{variant}' straight to the final name"
            )
