"""Everything that persists, in one DuckDB file."""
