"""Helpers every CLI command shares."""

from __future__ import annotations

import json

from app.cli.common import emit_json, shown_value


def test_json_output_stays_valid_when_a_figure_is_not_finite(capsys):
    emit_json({"max_rhat": float("nan"), "ess": [1.5, float("inf")], "n": (1, 2)})
    assert json.loads(capsys.readouterr().out) == {
        "max_rhat": None,
        "ess": [1.5, None],
        "n": [1, 2],
    }


def test_tables_round_floats_and_keep_everything_else():
    assert shown_value(1137.033265128252) == "1137"
    assert shown_value(0.4618978581873662) == "0.4619"
    assert shown_value(380) == 380
    assert shown_value("E0") == "E0"
