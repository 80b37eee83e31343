"""The README's commands are real: CI runs its test command, and every `faceright ...` it shows parses."""
from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from faceright.cli.main import build_parser

pytestmark = pytest.mark.hostside

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _first_commands() -> list[str]:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command_and_the_setup_line_ends_with_the_demo():
    setup, tests = _first_commands()[:2]
    assert setup.startswith("python3 -m venv .venv") and setup.endswith(".venv/bin/faceright demo")
    ci = (REPO / ".ci" / "run").read_text()
    assert tests in ci.splitlines(), ".ci/run must run the README's test command as one line of its own"


def _documented_invocations() -> list[list[str]]:
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("faceright "):
                lines.append(line)
    return [shlex.split(line.replace("|", " ").replace("[", " ").replace("]", " "))[1:] for line in lines]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@pytest.mark.parametrize("words", _documented_invocations(), ids=lambda w: " ".join(w[:2]))
def test_every_documented_command_exists(words):
    parser = build_parser()
    path = []
    for word in words:
        if word.startswith("-"):
            break
        choices = _subcommands(parser)
        if not choices:
            break
        assert word in choices, f"`faceright {' '.join(path + [word])}` is in the README but not in the CLI"
        parser = choices[word]
        path.append(word)
    options = {opt for action in parser._actions for opt in action.option_strings}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"`faceright {' '.join(path)}` has no option {word}"
