"""People-facing layer: the ``touchline`` CLI and the Panel app."""
