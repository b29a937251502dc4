"""The project's entry points agree with each other."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TASKS = ("app", "test", "lint", "bench")


def makefile_commands() -> dict[str, str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    commands = {}
    for target in TASKS:
        match = re.search(rf"^{target}:.*\n((?:\t.*\n?)+)", text, re.MULTILINE)
        assert match, f"Makefile target {target} has no recipe"
        lines = match.group(1).splitlines()
        assert len(lines) == 1, f"Makefile target {target} runs {len(lines)} lines"
        commands[target] = lines[0].strip()
    return commands


def test_pixi_tasks_match_makefile_targets():
    pixi = tomllib.loads((REPO / "pixi.toml").read_text(encoding="utf-8"))
    assert {t: pixi["tasks"][t] for t in TASKS} == makefile_commands()


def test_every_makefile_command_finds_the_venv_tools_first(tmp_path):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed (.ci/run installs it)")
    (tmp_path / "Makefile").write_bytes((REPO / "Makefile").read_bytes())
    (tmp_path / "pyproject.toml").write_text("")
    tools = tmp_path / ".venv" / "bin"
    tools.mkdir(parents=True)
    log = tmp_path / "ran.txt"
    for tool in ("touchline", "pytest", "ruff", "codespell", "python"):
        script = tools / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        script.chmod(0o755)
    stamp = tmp_path / ".venv" / ".installed"
    stamp.touch()
    os.utime(tmp_path / "pyproject.toml", (0, 0))  # older than the stamp
    # Only system folders: a tool missing from .venv is then not found at all,
    # and one found elsewhere would not write to the log.
    system = [str(Path(make).parent), "/usr/bin", "/bin"]
    env = {**os.environ, "PATH": os.pathsep.join(system)}
    done = subprocess.run(
        [make, "-C", str(tmp_path), *TASKS],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [line.strip() for line in log.read_text().splitlines()] == [
        "touchline app",
        "pytest -n 2 --timeout 900",
        "ruff check .",
        "ruff format --check .",
        "codespell",
        "python bench/run_all.py",
    ]


def test_pixi_installs_the_project_editable_with_dev_extra():
    pixi = tomllib.loads((REPO / "pixi.toml").read_text(encoding="utf-8"))
    spec = pixi["pypi-dependencies"]["touchline"]
    assert spec == {"path": ".", "editable": True, "extras": ["dev"]}
    assert pixi["dependencies"]["python"].startswith("3.11")


def test_pre_commit_hooks_are_all_local():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    ids = {hook["id"] for hook in config["repos"][0]["hooks"]}
    assert {"ruff-check", "ruff-format", "codespell"} <= ids


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme
    assert ci.rstrip().splitlines()[-1] == "make test"


def _stub(folder: Path, name: str, body: str) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def _ci_checkout(tmp_path: Path, present: tuple[str, ...], venv_works: bool):
    """Copy .ci/run beside stub tools; return its command, env and log file."""
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "run").write_bytes((REPO / ".ci" / "run").read_bytes())
    log = tmp_path / "ran.txt"
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "basename", "dirname", "mktemp", "rm", "chmod"):
        found = shutil.which(name)
        assert found, f"{name} is needed to run .ci/run"
        (tools / name).symlink_to(found)
    logger = f'echo "$(basename "$0") $*" >> "{log}"'
    for name in present:
        _stub(tools, name, logger)
    venv_rc = 0 if venv_works else 1
    _stub(tools, "python3", f"{logger}\nexit {venv_rc}")
    # installing a package puts its commands on PATH, as apt-get would
    installs = "\n".join(
        f"  [ \"$p\" = {name} ] && printf '#!/bin/sh\\n{logger}\\n' > "
        f'"{tools}/{name}" && chmod +x "{tools}/{name}"'
        for name in ("make", "git", "chromium")
    )
    _stub(tools, "apt-get", f'{logger}\nfor p in "$@"; do\n{installs}\ndone\nexit 0')
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    _stub(tmp_path / ".venv" / "bin", "pre-commit", logger)
    env = {"PATH": str(tools), "HOME": str(tmp_path)}
    return [str(tools / "bash"), str(tmp_path / ".ci" / "run")], env, log


def test_ci_installs_what_a_bare_debian_lacks(tmp_path):
    command, env, log = _ci_checkout(tmp_path, present=(), venv_works=False)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ran = [line.strip() for line in log.read_text().splitlines()]
    assert "apt-get update -qq" in ran
    install = next(line for line in ran if line.startswith("apt-get install"))
    wanted = {"make", "git", "chromium", "fonts-dejavu-core", "python3-venv"}
    assert wanted <= set(install.split())
    assert ran[-3:] == [
        "make setup",
        "pre-commit run --all-files --show-diff-on-failure",
        "make test",
    ]
    assert done.stdout == ""


def test_ci_installs_nothing_when_everything_is_there(tmp_path):
    present = ("make", "git", "chromium")
    command, env, log = _ci_checkout(tmp_path, present=present, venv_works=True)
    _stub(tmp_path / ".venv" / "bin", "python", "exit 0")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ran = [line.strip() for line in log.read_text().splitlines()]
    assert not any(line.startswith("apt-get") for line in ran)
    assert ran == [
        "python3 -m venv --help",
        "make setup",
        "pre-commit run --all-files --show-diff-on-failure",
        "make test",
    ]
    assert done.stderr == ""


def test_console_script_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["touchline"] == "app.cli:main"
