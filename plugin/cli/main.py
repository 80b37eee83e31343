"""``faceright`` command line: one sub-command module per area, registered explicitly.

Each module in :data:`COMMAND_MODULES` (the core's) and each ``faceright.commands`` entry
point (the engine's: models, doctor, demo, so that the core never imports the engine) has
``register(subparsers)`` which adds its parser and sets ``func(args) -> int``. A module that
fails to import is an error, never a silently missing command. The configuration is read
once here and handed to the command as ``args.config``. Errors of ours become a one-line
message and their exit code.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib.metadata import entry_points
from typing import Sequence

from faceright import __version__
from faceright.config import Config
from faceright.errors import FaceRightError

COMMAND_MODULES: tuple[str, ...] = (
    "swap",
    "license",
    "keyring",
    "label",
)
#: the entry point group through which the engine adds its commands
COMMANDS_GROUP = "faceright.commands"
#: the engine's commands: when one is missing the installation is broken, and --help says so
ENGINE_COMMANDS: tuple[str, ...] = ("models", "doctor", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceright",
        description="Licensed face replacement, gated by likeness licenses and AIGC labels.",
    )
    parser.add_argument("--version", action="version", version=f"faceright {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"faceright.cli.{name}")
        module.register(sub)
    found = {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}
    for name in sorted(found, key=lambda n: (n not in ENGINE_COMMANDS, n)):
        found[name].load().register(sub)
    missing = [name for name in ENGINE_COMMANDS if name not in found]
    if missing:
        parser.epilog = (f"the engine's commands ({', '.join(missing)}) are not registered: faceright's "
                         "package metadata is missing or stale; reinstall it (pip install -e '.[cpu]')")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        args.config = Config.load()
        return int(args.func(args) or 0)
    except FaceRightError as exc:
        print(f"faceright: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("faceright: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
