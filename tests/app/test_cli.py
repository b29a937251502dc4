"""The ``touchline`` command end to end, through real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from app.cli import cli, main

TOUCHLINE = str(Path(sys.executable).parent / "touchline")

HEADER = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A\n"
GOOD = HEADER + (
    "E0,12/08/2023,Arsenal,Everton,2,1,H,1.5,4.0,6.0\n"
    "E0,13/08/2023,Chelsea,Fulham,0,0,D,1.8,3.5,4.5\n"
)


def run(*args: str, db: Path, data_url: str | None = None):
    env = {**os.environ, "TOUCHLINE_DB": str(db)}
    env.pop("TOUCHLINE_DATA_URL", None)
    if data_url:
        env["TOUCHLINE_DATA_URL"] = data_url
    return subprocess.run(
        [TOUCHLINE, *args], env=env, capture_output=True, text=True, timeout=300
    )


def status(db: Path) -> dict:
    done = run("data", "status", "--format", "json", db=db)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def command_paths(command, prefix=()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            paths += command_paths(sub, (*prefix, name))
    return paths


@pytest.mark.parametrize("path", command_paths(typer.main.get_command(cli)))
def test_every_command_has_help(path):
    done = subprocess.run(
        [TOUCHLINE, *path, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    command = typer.main.get_command(cli)
    for name in path:
        command = command.commands[name]
    assert command.help, f"touchline {' '.join(path)} has no help text"


def test_import_then_status_then_import_again(tmp_path):
    db = tmp_path / "store.duckdb"
    season = tmp_path / "mmz4281" / "2324"
    season.mkdir(parents=True)
    (season / "E0.csv").write_text(GOOD, encoding="utf-8")

    first = run("data", "import", str(tmp_path / "mmz4281"), db=db)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1]  # the import id
    report = status(db)
    assert report["matches"] == 2
    assert report["seasons"][0]["league"] == "E0"
    assert report["seasons"][0]["season"] == 2023

    again = run("data", "import", "--format", "json", str(season / "E0.csv"), db=db)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["matches_added"] == 0
    assert status(db)["matches"] == 2


def test_a_bad_file_among_good_ones_writes_nothing(tmp_path):
    db = tmp_path / "store.duckdb"
    good = tmp_path / "E0.csv"
    good.write_text(GOOD, encoding="utf-8")
    empty = tmp_path / "E1.csv"
    empty.write_bytes(b"")
    before = status(db)

    done = run("data", "import", str(good), str(empty), db=db)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "E1.csv" in lines[0]
    assert status(db) == before


def test_missing_path_is_a_one_line_error(tmp_path):
    done = run("data", "import", str(tmp_path / "nope.csv"), db=tmp_path / "s.duckdb")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "nope.csv" in done.stderr and "does not exist" in done.stderr


def test_usage_errors_exit_2(tmp_path):
    db = tmp_path / "s.duckdb"
    assert run("data", "status", "--format", "xml", db=db).returncode == 2
    assert run("data", "import", db=db).returncode == 2
    assert run("no-such-command", db=db).returncode == 2


def test_bad_config_names_the_field(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("[sampler]\nnum_chains = 0\n", encoding="utf-8")
    done = run("--config", str(config), "data", "pull", db=tmp_path / "s.duckdb")
    assert done.returncode == 1
    assert "sampler.num_chains" in done.stderr


@pytest.mark.slow
def test_pull_from_a_loopback_mirror(tmp_path, loopback_mirror):
    db = tmp_path / "store.duckdb"
    args = ("data", "pull", "--league", "E0", "--season", "2023", "--season", "2022")
    done = run(*args, "--base-url", loopback_mirror, db=db)
    assert done.returncode == 0, done.stderr
    report = status(db)
    assert report["matches"] == 760
    assert report["rejected_rows"] == 0
    again = run(*args, "--format", "json", db=db, data_url=loopback_mirror)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["matches_added"] == 0


def test_pull_from_an_unreachable_source_leaves_the_store(tmp_path):
    db = tmp_path / "store.duckdb"
    before = status(db)
    done = run(
        "data",
        "pull",
        "--league",
        "E0",
        "--season",
        "2023",
        "--base-url",
        "http://127.0.0.1:9",
        db=db,
    )
    assert done.returncode == 1
    assert "could not reach" in done.stderr
    assert status(db) == before


def pull_args(*options: str) -> list[str]:
    return ["data", "pull", "--base-url", "http://127.0.0.1:9", *options]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            ["--season", "23"],
            "error: --season accepts starting years between 1990 and 2100 "
            "(2023 is 2023/24), got 23; pass e.g. --season 2023",
        ),
        (["--season", "2023", "--season", "2101"], "--season accepts"),
        (["--season", "1989"], "got 1989"),
        (
            ["--league", "E0/../x"],
            "error: --league must be a division code of letters and digits such "
            "as E0, got 'E0/../x'; pass e.g. --league E0",
        ),
        (["--league", ""], "--league must be a division code"),
        (["--base-url", "ftp://example.org"], "--base-url (or $TOUCHLINE_DATA_URL)"),
        (["--base-url", "example.org"], "got 'example.org'"),
        (["--base-url", "http://"], "must be an http:// or https:// address"),
        (["--base-url", "http://host:99999"], "got 'http://host:99999'"),
    ],
)
def test_pull_options_are_checked_before_any_download(tmp_path, options, expected):
    db = tmp_path / "store.duckdb"
    before = status(db)
    done = run(*pull_args(*options), db=db)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: --")
    assert expected in done.stderr
    assert status(db) == before


def test_a_bad_data_url_from_the_environment_is_a_usage_error(tmp_path):
    done = run("data", "pull", db=tmp_path / "s.duckdb", data_url="www.example.org")
    assert done.returncode == 2
    assert done.stderr.startswith("error: --base-url (or $TOUCHLINE_DATA_URL)")
    assert "got 'www.example.org'" in done.stderr


def test_a_base_url_that_requests_refuses_is_a_one_line_error(tmp_path):
    db = tmp_path / "store.duckdb"
    before = status(db)
    done = run(
        "data",
        "pull",
        "--league",
        "E0",
        "--season",
        "2023",
        db=db,
        data_url="http://a..b",
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        "error: http://a..b/mmz4281/2324/E0.csv is not an address that can be fetched"
    )
    assert "unexpected" not in done.stderr
    assert status(db) == before


def test_import_finds_csv_files_in_any_case_and_skips_folders_named_csv(tmp_path):
    db = tmp_path / "store.duckdb"
    season = tmp_path / "downloads" / "2324.csv"  # a folder, not a file
    season.mkdir(parents=True)
    (season / "E0.CSV").write_text(GOOD, encoding="utf-8")
    (season / "readme.txt").write_text("not data", encoding="utf-8")
    done = run("data", "import", "--format", "json", str(tmp_path / "downloads"), db=db)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["matches_added"] == 2
    assert status(db)["seasons"][0]["league"] == "E0"


def test_a_file_that_cannot_be_opened_is_a_one_line_error(
    tmp_path, monkeypatch, capsys
):
    db = tmp_path / "store.duckdb"
    good = tmp_path / "E0.csv"
    good.write_text(GOOD, encoding="utf-8")
    locked = tmp_path / "E1.csv"
    locked.write_text(GOOD.replace("E0", "E1"), encoding="utf-8")
    before = status(db)
    opened = Path.read_bytes

    def read_bytes(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setenv("TOUCHLINE_DB", str(db))
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
    with pytest.raises(SystemExit) as stopped:
        main(["data", "import", str(tmp_path)])
    assert stopped.value.code == 1
    assert capsys.readouterr().err == (
        f"error: {locked} could not be read (Permission denied); expected a "
        "readable CSV file; check that it exists and that you may read it\n"
    )
    monkeypatch.undo()
    assert status(db) == before
