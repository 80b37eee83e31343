"""``faceright`` command line: one sub-command module per area, registered explicitly.

Each module in :data:`COMMAND_MODULES` has ``register(subparsers)`` which adds its parser
and sets ``func(args) -> int``. A module that fails to import is an error, never a
silently missing command. Errors of ours become a one-line message and their exit code.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from faceright import __version__
from faceright.errors import FaceRightError

COMMAND_MODULES: tuple[str, ...] = (
    "models",
    "doctor",
    "swap",
    "demo",
    "license",
    "keyring",
    "label",
)


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except FaceRightError as exc:
        print(f"faceright: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("faceright: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
