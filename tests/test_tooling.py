"""The project's entry points agree with each other."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TASKS = ("app", "test", "lint", "bench")


def makefile_commands() -> dict[str, str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    commands = {}
    for target in TASKS:
        match = re.search(rf"^{target}:.*\n\t\$\(RUN\) (.+)$", text, re.MULTILINE)
        assert match, f"Makefile target {target} does not run a $(RUN) command"
        commands[target] = match.group(1).strip()
    return commands


def test_pixi_tasks_match_makefile_targets():
    pixi = tomllib.loads((REPO / "pixi.toml").read_text(encoding="utf-8"))
    assert {t: pixi["tasks"][t] for t in TASKS} == makefile_commands()


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


def test_console_script_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["touchline"] == "app.cli:main"
