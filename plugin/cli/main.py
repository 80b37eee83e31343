"""``faceright`` command line: one sub-command module per area, registered explicitly.

Each module in :data:`COMMAND_MODULES` (the core's) and each ``faceright.commands`` entry
point (the engine's: models, doctor, demo, so that the core never imports the engine) has
``register(subparsers)`` which adds its parser and sets ``func(args) -> int``. A run of one
command registers only that command (``faceright --help`` registers them all); command
modules import what their work needs inside the command, so that listing them (``--help``)
loads neither PyAV, OpenCV, onnx nor onnxruntime. A module that
fails to import is an error, never a silently missing command. The configuration is read
once here and handed to the command as ``args.config``. Errors of ours become a one-line
message and their exit code.

SIGTERM (a farm's or a supervisor's "stop") takes the Ctrl-C path: it raises
:class:`Terminated`, a ``KeyboardInterrupt``, in the main thread, so every context manager on
the way out runs (partial outputs are discarded, see :mod:`faceright.atomic`) and the command
ends with one line and exit code 143 (130 for Ctrl-C). A second SIGTERM during that clean-up
is ignored; SIGKILL cannot be caught, and the next write of the same output removes what it
left. An ``OSError`` no command turned into one of our errors (a disk failing mid-read) is one
line too, never a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import signal
import sys
import threading
from typing import Iterator, Sequence

from faceright import __version__
from faceright.config import Config
from faceright.errors import FaceRightError

COMMAND_MODULES: tuple[str, ...] = (
    "swap",
    "license",
    "keyring",
    "label",
    "ledger",
)
#: the entry point group through which the engine adds its commands
COMMANDS_GROUP = "faceright.commands"
#: the engine's commands: when one is missing the installation is broken, and --help says so
ENGINE_COMMANDS: tuple[str, ...] = ("models", "doctor", "demo", "engine", "farm")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, just that command's parser (what a run of one
    command needs: the other commands' modules are then not imported). An ``only`` that names
    no command gives the whole parser, so argparse's own error lists them all."""
    # a core command needs no entry point: reading every installed distribution's metadata is skipped
    found = {} if only in COMMAND_MODULES else _engine_commands()
    if only is not None and only not in COMMAND_MODULES and only not in found:
        only = None
    parser = argparse.ArgumentParser(
        prog="faceright",
        description="Licensed face replacement, gated by likeness licenses and AIGC labels.",
    )
    parser.add_argument("--version", action="version", version=f"faceright {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        if only in (None, name):
            importlib.import_module(f"faceright.cli.{name}").register(sub)
    for name in sorted(found, key=lambda n: (n not in ENGINE_COMMANDS, n)):
        if only in (None, name):
            found[name].load().register(sub)
    missing = [name for name in ENGINE_COMMANDS if name not in found]
    if missing and only is None:
        parser.epilog = (f"the engine's commands ({', '.join(missing)}) are not registered: faceright's "
                         "package metadata is missing or stale; reinstall it (pip install -e '.[cpu]')")
    return parser


def _engine_commands() -> dict:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}


#: exit codes of a stopped command: 128 + the signal's number, as shells report it
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM
#: exit code of an operating-system error no command turned into one of ours
EXIT_OS_ERROR = 2


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM: unwound like Ctrl-C, so partial outputs are discarded."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` in the main thread (once; a
    repeated SIGTERM during the clean-up is ignored). Outside the main thread: no change."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first word when only ``-v``/``-vv`` come before it."""
    for word in argv:
        if word in ("-v", "-vv", "-vvv", "--verbose"):
            continue
        return None if word.startswith("-") else word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_command_named(argv))
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        with sigterm_as_interrupt():
            args.config = Config.load()
            return int(args.func(args) or 0)
    except FaceRightError as exc:
        print(f"faceright: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("faceright: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("faceright: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        logging.getLogger(__name__).debug("unhandled operating-system error", exc_info=True)
        print(f"faceright: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_OS_ERROR


def _os_error(exc: OSError) -> str:
    """One line for an operating-system error: the file(s) it names, and why."""
    why = exc.strerror or str(exc)
    names = " -> ".join(str(n) for n in (exc.filename, exc.filename2) if n is not None)
    if names:
        return f"{names}: {why}"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EPIPE):
        _quiet_stdout()
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return (f"{why} while writing the output (a file, or where the standard output is redirected); "
                "free space there or write elsewhere")
    return why


def _quiet_stdout() -> None:
    """Point a standard output that cannot take more (a full disk, a closed pipe) at the null
    device, so that the interpreter's last flush does not fail again with a traceback."""
    try:
        sys.stdout.flush()
    except OSError:
        pass
    except (ValueError, AttributeError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
