"""Price cells to long-form prices, and the odds check on whole rows.

A price cell that is empty, or that holds anything other than a finite decimal
number (``-``, ``n/a``, ``#VALUE!``), is treated as absent: it yields no price
and does not reject its row. A number at or below 1.0 is never stored as a
price: it rejects a row without a result (``odds not above 1.0``), while in a
played match it is left out and the result kept (the site's own files hold a
few such cells, ``0`` or a handicap line shifted into a price column, in rows
whose results are sound). An Asian handicap price whose line is absent or
unreadable yields no price either.
"""

from __future__ import annotations

import math
import re

import polars as pl

from engine.contract import PRICE_SCHEMA
from engine.football_data.layout import Layout

_MIXED_FRACTION = re.compile(r"([+-]?)(\d+) (\d+)/(\d+)")
_LINE_PREFIX = "__line__:"


def price_frame(
    header: list[str], rows: list[list[str]], layout: Layout
) -> pl.DataFrame:
    """Return the price and line cells of ``rows`` read as numbers.

    Parameters
    ----------
    header : list of str
        Column names.
    rows : list of list of str
        Data rows, all as wide as ``header``.
    layout : Layout
        Where the price and line columns are.

    Returns
    -------
    polars.DataFrame
        One Float64 column per price column (null where absent or not a
        finite number) and one per handicap line column, one row per data row.
    """
    prices = list(dict.fromkeys(p.column for p in layout.prices))
    names = prices + [c for c in layout.line_columns if c not in prices]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    cells = pl.DataFrame(
        {name: columns[layout.index[name]] for name in names},
        schema={name: pl.String() for name in names},
    )
    return cells.select(
        *(_number(name) for name in prices),
        *(_line_series(cells, name) for name in layout.line_columns),
    )


def odds_not_above_one(numbers: pl.DataFrame, layout: Layout, rows: int) -> list[bool]:
    """Return, for each of ``rows`` rows, whether a price cell is at or below 1.0."""
    columns = list(dict.fromkeys(p.column for p in layout.prices))
    if not columns or rows == 0:
        return [False] * rows
    low = pl.any_horizontal([pl.col(name) <= 1.0 for name in columns])
    return numbers.select(low.fill_null(False)).to_series().to_list()


def long_prices(
    numbers: pl.DataFrame, positions: list[int], match_ids: list[str], layout: Layout
) -> pl.DataFrame:
    """Return the prices of the accepted rows in long form.

    Parameters
    ----------
    numbers : polars.DataFrame
        Price and line numbers of every row, from :func:`price_frame`.
    positions : list of int
        The accepted rows, as positions in ``numbers``.
    match_ids : list of str
        The match or fixture key of each accepted row.
    layout : Layout
        The file's price columns.

    Returns
    -------
    polars.DataFrame
        Frame with ``PRICE_SCHEMA``; absent prices and prices at or below 1.0
        left out.
    """
    if not layout.prices or not match_ids:
        return pl.DataFrame(schema=PRICE_SCHEMA)
    frame = numbers[positions].with_columns(
        pl.Series("match_id", match_ids, pl.String())
    )
    columns = list(dict.fromkeys(p.column for p in layout.prices))
    long = frame.unpivot(
        on=columns, index="match_id", variable_name="column", value_name="price"
    ).filter(pl.col("price").is_finite() & (pl.col("price") > 1.0))
    long = long.join(_spec_frame(layout), on="column")
    if layout.line_columns:
        lines = frame.unpivot(
            on=[_LINE_PREFIX + c for c in layout.line_columns],
            index="match_id",
            variable_name="line_column",
            value_name="row_line",
        )
        long = long.join(lines, on=["match_id", "line_column"], how="left")
        long = long.with_columns(pl.coalesce("line", "row_line").alias("line"))
    usable = (pl.col("market") == "1x2") | pl.col("line").is_not_null()
    return long.filter(usable).select(list(PRICE_SCHEMA))


def _spec_frame(layout: Layout) -> pl.DataFrame:
    """One row per price column: what its cells mean."""
    return pl.DataFrame(
        {
            "column": [p.column for p in layout.prices],
            "bookmaker": [p.bookmaker for p in layout.prices],
            "market": [p.market for p in layout.prices],
            "timing": [p.timing for p in layout.prices],
            "outcome": [p.outcome for p in layout.prices],
            "line": [p.line for p in layout.prices],
            "line_column": [
                None if p.line_column is None else _LINE_PREFIX + p.line_column
                for p in layout.prices
            ],
        },
        schema={
            "column": pl.String(),
            **{k: PRICE_SCHEMA[k] for k in ("bookmaker", "market", "timing")},
            "outcome": pl.String(),
            "line": pl.Float64(),
            "line_column": pl.String(),
        },
    ).unique("column", keep="first", maintain_order=True)


def _number(name: str) -> pl.Expr:
    """Read a string column as Float64; anything not a number becomes null."""
    return pl.col(name).str.strip_chars().cast(pl.Float64(), strict=False)


def _line_series(cells: pl.DataFrame, name: str) -> pl.Series:
    """Parse a handicap column once per distinct cell text."""
    parsed = {text: parse_handicap(text) for text in cells[name].unique().to_list()}
    values = [parsed[text] for text in cells[name].to_list()]
    return pl.Series(_LINE_PREFIX + name, values, dtype=pl.Float64())


def parse_handicap(text: str | None) -> float | None:
    """Read a handicap cell: ``-0.25``, ``-1 1/4`` or a split line ``-1.5/-2``.

    Parameters
    ----------
    text : str or None
        The cell.

    Returns
    -------
    float or None
        The handicap (a split line is the mean of its halves); None when the
        cell is empty or unreadable.
    """
    text = (text or "").strip()
    if not text:
        return None
    mixed = _MIXED_FRACTION.fullmatch(text)
    if mixed:
        sign, whole, numerator, denominator = mixed.groups()
        if int(denominator) == 0:
            return None
        value = int(whole) + int(numerator) / int(denominator)
        return -value if sign == "-" else value
    halves = [_finite(part) for part in text.split("/")]
    if len(halves) > 2 or any(half is None for half in halves):
        return None
    return sum(halves) / len(halves)  # type: ignore[arg-type]


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
