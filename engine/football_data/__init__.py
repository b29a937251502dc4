"""Reading football-data.co.uk CSV files against the data contract.

:func:`read_football_data` reads one file's bytes into a
:class:`~engine.contract.ParsedFile`; :func:`read_path` reads one file,
:func:`expand_paths` lists the files of folders and :func:`read_paths` reads
files and folders; :func:`combine` checks the files of one import against each
other and returns the :class:`~engine.contract.ImportBatch` the store writes;
:func:`load_team_aliases` reads ``configs/team_aliases.toml``. See
``data/README.md`` for the rules a row must follow and the reasons a row is
rejected.
"""

from engine.football_data.aliases import load_team_aliases
from engine.football_data.batch import FootballDataFile, combine
from engine.football_data.reader import (
    expand_paths,
    read_football_data,
    read_path,
    read_paths,
)
from engine.football_data.text import FootballDataError

__all__ = [
    "FootballDataError",
    "FootballDataFile",
    "combine",
    "expand_paths",
    "load_team_aliases",
    "read_football_data",
    "read_path",
    "read_paths",
]
