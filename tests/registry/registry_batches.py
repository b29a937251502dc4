"""Build contract frames, parsed files and import batches by hand for tests."""

from __future__ import annotations

import hashlib
from datetime import date, time

import polars as pl

from engine.contract import (
    FIXTURE_SCHEMA,
    MATCH_SCHEMA,
    PRICE_SCHEMA,
    REJECTED_SCHEMA,
    ImportBatch,
    ParsedFile,
    match_id,
)
from registry.matches import PRICE_KEY


def season_of(day: date) -> int:
    return day.year if day.month >= 7 else day.year - 1


def match(
    league: str,
    day: date,
    home: str,
    away: str,
    home_goals: int,
    away_goals: int,
    *,
    kickoff_time: time | None = None,
) -> dict:
    return {
        "match_id": match_id(league, day.isoformat(), home, away),
        "league": league,
        "season": season_of(day),
        "kickoff": day,
        "kickoff_time": kickoff_time,
        "home_team": home,
        "away_team": away,
        "home_goals": home_goals,
        "away_goals": away_goals,
    }


def fixture(league: str, day: date, home: str, away: str) -> dict:
    row = match(league, day, home, away, 0, 0)
    return {key: row[key] for key in FIXTURE_SCHEMA}


def price(
    key: str,
    price_: float,
    *,
    bookmaker: str = "B365",
    market: str = "1x2",
    timing: str = "opening",
    outcome: str = "home",
    line: float | None = None,
) -> dict:
    return {
        "match_id": key,
        "bookmaker": bookmaker,
        "market": market,
        "timing": timing,
        "outcome": outcome,
        "line": line,
        "price": price_,
    }


def one_x_two(key: str, home: float, draw: float, away: float, **kw) -> list[dict]:
    return [
        price(key, home, outcome="home", **kw),
        price(key, draw, outcome="draw", **kw),
        price(key, away, outcome="away", **kw),
    ]


def rejected(source: str, line: int, reason: str, raw: str | None = None) -> dict:
    return {
        "source": source,
        "line": line,
        "raw": raw or f"raw {line}",
        "reason": reason,
    }


def parsed(
    source: str,
    *,
    matches: list[dict] = (),
    fixtures: list[dict] = (),
    prices: list[dict] = (),
    rejects: list[dict] = (),
    league: str | None = "E0",
    season: int | None = 2023,
    content: str | None = None,
) -> ParsedFile:
    frames = (
        pl.DataFrame(list(matches), schema=MATCH_SCHEMA),
        pl.DataFrame(list(fixtures), schema=FIXTURE_SCHEMA),
        pl.DataFrame(list(prices), schema=PRICE_SCHEMA),
        pl.DataFrame(list(rejects), schema=REJECTED_SCHEMA),
    )
    text = (
        content if content is not None else repr((source, matches, fixtures, rejects))
    )
    return ParsedFile(
        source=source,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        league=league,
        season=season,
        rows_read=len(matches) + len(fixtures) + len(rejects),
        matches=frames[0],
        fixtures=frames[1],
        prices=frames[2],
        rejected=frames[3],
    )


def batch(*files: ParsedFile) -> ImportBatch:
    """Combine files the simple way: concatenate and keep the first of each key."""

    def joined(name: str, schema: dict, key: tuple[str, ...]) -> pl.DataFrame:
        frames = [pl.DataFrame(schema=schema)] + [getattr(f, name) for f in files]
        frame = pl.concat(frames)
        return frame.unique(key, keep="first", maintain_order=True) if key else frame

    return ImportBatch(
        files=tuple(files),
        matches=joined("matches", MATCH_SCHEMA, ("match_id",)),
        fixtures=joined("fixtures", FIXTURE_SCHEMA, ("match_id",)),
        prices=joined("prices", PRICE_SCHEMA, PRICE_KEY),
        rejected=joined("rejected", REJECTED_SCHEMA, ()),
    )
