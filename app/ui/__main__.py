"""Serve the app: ``python -m app.ui --db PATH [--config TOML] [--port N]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from app.ui.main import serve
from engine.config import load_config
from registry.policy import PolicyError, PromotionPolicy
from registry.store import default_db_path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m app.ui", description="Serve the Touchline app on a store."
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="DuckDB store; default $TOUCHLINE_DB or data/touchline.duckdb.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="TOML whose [promotion] table is the promotion policy; default "
        "the policy's own defaults.",
    )
    parser.add_argument("--address", default="127.0.0.1", help="Address to bind.")
    parser.add_argument("--port", type=int, default=5006, help="Port to serve on.")
    parser.add_argument("--notice", default=None, help="A line shown on the page.")
    parser.add_argument("--show", action="store_true", help="Open a browser tab.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("app").setLevel(logging.INFO)
    db = args.db if args.db is not None else default_db_path()
    try:
        policy = _policy(args.config)
        serve(
            db,
            address=args.address,
            port=args.port,
            notice=args.notice,
            show=args.show,
            policy=policy,
        )
    except ValueError as exc:
        sys.exit(f"error: {exc}")


def _policy(config: Path | None) -> PromotionPolicy:
    """Return the promotion policy of a configuration file, or the defaults."""
    if config is None:
        return PromotionPolicy()
    loaded = load_config(config)
    try:
        return PromotionPolicy.from_mapping(loaded.promotion)
    except PolicyError as exc:
        raise ValueError(f"{loaded.path}: {exc}") from None


if __name__ == "__main__":
    main()
