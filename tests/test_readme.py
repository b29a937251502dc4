"""The README's quick start and shell examples are true."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
TOUCHLINE = str(Path(sys.executable).parent / "touchline")
MIRROR = "http://127.0.0.1:8765"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)


def touchline_examples() -> list[str]:
    lines = [line.strip() for block in sh_blocks() for line in block.splitlines()]
    return [line for line in lines if line.startswith("touchline ")]


def test_quick_start_is_two_commands_that_exist():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first = re.search(r"```sh\n(.*?)```", quick_start, flags=re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in first.splitlines()]
    assert [c for c in commands if c] == ["make app", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^app:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)


@pytest.mark.slow
def test_readme_touchline_examples_run(tmp_path, loopback_mirror):
    examples = touchline_examples()
    assert len(examples) >= 4
    env = {**os.environ, "TOUCHLINE_DB": str(tmp_path / "readme.duckdb")}
    env.pop("TOUCHLINE_DATA_URL", None)
    for example in examples:
        args = shlex.split(example.replace(MIRROR, loopback_mirror))
        done = subprocess.run(
            [TOUCHLINE, *args[1:]],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{example}\n{done.stderr}"
