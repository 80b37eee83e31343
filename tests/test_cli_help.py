"""Every command and option a newcomer meets has help text, in plain words (no reST markup)."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from faceright.cli.main import build_parser


def _parsers(parser: argparse.ArgumentParser, name: str = "faceright"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


PARSERS = list(_parsers(build_parser()))


def test_every_command_is_found():
    names = {name for name, _ in PARSERS}
    for command in ("faceright swap", "faceright label apply", "faceright label verify", "faceright license verify",
                    "faceright models", "faceright doctor", "faceright demo"):
        assert command in names


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n for n, _ in PARSERS])
def test_every_option_has_help(name, parser):
    missing = [action.option_strings[0] if action.option_strings else action.dest
               for action in parser._actions
               if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
               and not (action.help and action.help.strip()) and action.help is not argparse.SUPPRESS]
    assert not missing, f"{name}: no help text for {missing}"


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n for n, _ in PARSERS])
def test_help_is_plain_text(name, parser):
    text = parser.format_help()
    for markup in ("``", ":class:", ":func:", ":mod:", ":data:", ".. "):
        assert markup not in text, f"{name} --help shows reST markup {markup!r}:\n{text}"


def test_label_help_from_the_command_line_is_plain():
    out = subprocess.run([sys.executable, "-m", "faceright.cli.main", "label", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "faceright label apply IN --out OUT" in out
    assert "``" not in out
