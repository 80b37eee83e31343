"""Run a whole publish with faceright's plugins: collect → validate → extract → integrate.

The same plugins a host registers run here outside any host (``faceright publish``). The
publish passes only when pyblish recorded no error and the ledger record was written; a
blocked publish still gets its report, with every reason.
"""
from __future__ import annotations

import contextlib
import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import pyblish.api
import pyblish.util

from faceright import api

from . import load_errors, plugins as faceright_plugins


@dataclass(frozen=True)
class PublishResult:
    passed: bool
    blocking: tuple[str, ...]           #: one line per blocking reason
    report: Path | None
    ledger_record: Any
    context: Any
    seconds: float

    def to_json(self) -> dict[str, Any]:
        session: api.PublishSession = self.context.data["faceright"]
        shots = []
        for instance in self.context:
            shot = instance.data.get("faceshot")
            if shot is None:
                continue
            outcome = instance.data.get("outcome")
            verdicts = instance.data.get("faceright_verdicts", {})
            shots.append({"shot_id": shot.shot_id, "output": str(instance.data["output"]) if "output" in instance.data else None,
                          "results": outcome.shot.to_json()["results"] if outcome is not None else None,
                          "verdicts": {k: [f.to_json() for f in v] for k, v in verdicts.items()}})
        record = self.ledger_record
        return {"passed": self.passed, "publish_id": session.publish_id, "blocking": list(self.blocking),
                "report": str(self.report) if self.report else None, "seconds": round(self.seconds, 2),
                "ledger": {"sequence": record.sequence, "hash": record.hash} if record is not None else None,
                "deliverable": str(session.conformed.output) if session.conformed is not None else
                (str(session.deliverable) if session.deliverable else None), "shots": shots}


@contextlib.contextmanager
def quiet_pyblish(quiet: bool = True) -> Iterator[None]:
    """Keep pyblish's noise out of the terminal: it prints every error to stdout, logs each with its
    traceback, and sets the root logger to DEBUG around every plugin (so every library's debug lines
    would reach the user's handlers). The publish reports errors itself, one line each; ``-v`` lets
    pyblish's lines through."""
    handlers = [(handler, handler.level) for handler in logging.root.handlers]
    for handler, level in handlers:   # what the user asked to see, whatever pyblish does to the root level
        handler.setLevel(max(level, logging.root.level))
    try:
        if not quiet:
            yield
            return
        with contextlib.redirect_stdout(io.StringIO()), _pyblish_loggers_disabled(), _root_level_kept():
            yield
    finally:
        for handler, level in handlers:
            handler.setLevel(level)


@contextlib.contextmanager
def _root_level_kept() -> Iterator[None]:
    """pyblish's per-plugin log listener without its root ``setLevel(DEBUG)`` and back: each of those
    walks every logger of the process, twice per plugin and instance (seconds on a 10,000-shot
    timeline), and turns on every library's debug records. The records pyblish keeps per result are
    then those the user's levels let through; the publish reads its findings, not records."""
    import pyblish.plugin

    @contextlib.contextmanager
    def listen(handler: logging.Handler) -> Iterator[None]:
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)

    original = pyblish.plugin.logger
    pyblish.plugin.logger = listen
    try:
        yield
    finally:
        pyblish.plugin.logger = original


@contextlib.contextmanager
def _pyblish_loggers_disabled() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name == "pyblish" or name.startswith("pyblish.")] + [logging.getLogger("pyblish")]
    previous = [(logger, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in previous:
            logger.disabled = disabled


def run_publish(session: api.PublishSession, *, plugins: Sequence[type] | None = None,
                verbose: bool = False) -> PublishResult:
    """Publish with faceright's plugins (or ``plugins``); the report is written whether it passed or not."""
    started = time.perf_counter()
    chosen = list(faceright_plugins() if plugins is None else plugins)
    if "validate_gates" in load_errors():
        raise api.DependencyMissingError(f"faceright's gate check failed to import ({load_errors()['validate_gates']}): "
                                         "reinstall faceright; nothing was published")
    session.out = session.out.absolute()
    session.shots_folder.mkdir(parents=True, exist_ok=True)   # the publish folder the user asked for
    context = pyblish.api.Context()
    context.data["faceright"] = session
    context.data["faceright_plugins"] = [p.__name__ for p in chosen]
    with quiet_pyblish(not verbose):
        for done, _ in enumerate(pyblish.util.publish_iter(context, plugins=chosen), start=1):
            session.progress("publish", done, None)
    seconds = time.perf_counter() - started
    results = context.data.get("results", [])
    blocking = api.publish_results.error_lines(results)
    record = session.ledger_record
    if record is None and not blocking:
        blocking = ["nothing was integrated: the ledger step did not run (deregistered or filtered out)"]
    report = session.report_path
    if report is None:   # blocked: the integrator did not write it
        report = api.publish_results.write_report(session, context, seconds=seconds)
        session.report_path = report
    return PublishResult(not blocking and record is not None, tuple(blocking), report, record, context, seconds)
