"""Small football-data.co.uk files written by the reader tests themselves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from engine.contract import ParsedFile
from engine.football_data import FootballDataFile, read_football_data

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2024, 6, 1)
SOURCE = "data/mmz4281/2324/E0.csv"
HEADER = "Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A"


def csv(*lines: str, newline: str = "\n", encoding: str = "utf-8") -> bytes:
    """Return the lines as the bytes of a file."""
    return newline.join(lines).encode(encoding) + newline.encode()


def read(data: bytes, source: str = SOURCE, **kwargs) -> FootballDataFile:
    """Read a file as of `TODAY` unless told otherwise."""
    kwargs.setdefault("today", TODAY)
    return read_football_data(data, source, **kwargs)


def one(frame: pl.DataFrame) -> dict:
    """Return the only row of a frame."""
    assert frame.height == 1, frame
    return frame.row(0, named=True)


def prices_of(parsed: ParsedFile, market: str) -> list[tuple]:
    """Return the prices of one market, sorted."""
    frame = parsed.prices.filter(pl.col("market") == market)
    columns = ["bookmaker", "timing", "outcome", "line", "price"]
    return sorted(frame.select(columns).rows(), key=str)
