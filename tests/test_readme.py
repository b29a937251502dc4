"""The README's quick start and shell examples are true."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
MIRROR = "http://127.0.0.1:8765"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)


def example_blocks() -> list[str]:
    return [block for block in sh_blocks() if "touchline " in block]


def test_quick_start_is_two_commands_that_exist():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first = re.search(r"```sh\n(.*?)```", quick_start, flags=re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in first.splitlines()]
    assert [c for c in commands if c] == ["make app", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^app:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)


def test_every_command_in_the_table_exists():
    listed = set(re.findall(r"`touchline ([a-z]+(?: [a-z]+)?)", README))
    from typer.main import get_command

    from app.cli import cli

    root = get_command(cli)
    for words in listed:
        command = root
        for word in words.split():
            if not hasattr(command, "commands"):
                break
            assert word in command.commands, f"README names touchline {words}"
            command = command.commands[word]


@pytest.mark.slow
def test_readme_examples_run(tmp_path, loopback_mirror, shared_data):
    blocks = example_blocks()
    assert blocks
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(shared_data.parents[1])
    env = {
        **os.environ,
        "TOUCHLINE_DB": str(tmp_path / "readme.duckdb"),
        "TOUCHLINE_JAX_CACHE": str(tmp_path / "jax-cache"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("TOUCHLINE_DATA_URL", None)
    for block in blocks:
        script = "set -euo pipefail\n" + block.replace(MIRROR, loopback_mirror)
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"{block}\n{done.stdout[-2000:]}\n{done.stderr}"
    predictions = (work / "predictions.csv").read_text(encoding="utf-8")
    assert predictions.splitlines()[0].startswith("league,season,kickoff")
    assert len(predictions.splitlines()) == 3
