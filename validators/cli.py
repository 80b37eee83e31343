"""``faceright publish``: the main job, headless — collect → validate → extract → integrate.

Reads an OTIO timeline whose face-shot clips carry faceright data, runs every publish gate
(licenses, releases, identities, content, tier, models; then the labels and the face in
what was rendered), swaps each shot, renders the deliverable (or takes yours), writes the
ledger record and the HTML report. Exits 0 when it published, 1 with the blocking reasons
when it did not (--json for CI and farm use).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # the publish surface is imported when a publish runs, not to list the commands
    from faceright import api


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("publish", help="publish a timeline's face shots: gate, swap, label, ledger, report",
                            description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("timeline", type=Path, metavar="TIMELINE.otio", help="the OTIO timeline to publish")
    parser.add_argument("--deliverable", type=Path, metavar="FILE",
                        help="the host's own render of the timeline (default: faceright conforms the cut)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="publish folder for the outputs, the deliverable and the report "
                             "(default: TIMELINE.publish beside the timeline)")
    parser.add_argument("--ledger", metavar="URL", help="ledger to write (default: [ledger] url, else the SQLite file "
                                                        "in FACERIGHT_HOME)")
    parser.add_argument("--engine", default=None, metavar="local|remote",
                        help="engine client (default: the service when [service] url or FACERIGHT_SERVICE_URL names "
                             "one, else local, in-process); the gates' checks run in-process either way")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (for CI and the farm)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


class StageBars:
    """One terminal bar per stage of the publish (the swap of each shot, the deliverable)."""

    def __init__(self, disable: bool) -> None:
        self.disable = disable
        self.stage: str | None = None
        self.bar: api.TerminalProgress | None = None
        self.started = 0.0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage == "publish":
            return
        from faceright import api

        if stage != self.stage:
            self.close()
            self.stage, self.bar = stage, api.TerminalProgress(stage, disable=self.disable)
        self.bar(api.Progress(done, total, 0.0))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run(args: argparse.Namespace) -> int:
    return run_for_result(args)[0]


def run_for_result(args: argparse.Namespace):
    """:func:`run`, also returning the :class:`~faceright.validators.publish.PublishResult` (for the demo)."""
    from faceright import api

    from .publish import run_publish

    timeline = args.timeline
    out = args.out or timeline.parent / f"{timeline.stem}.publish"
    bars = StageBars(disable=args.no_progress or args.json)
    with api.open_engine(args.config, name=args.engine) as engine:
        session = api.PublishSession(config=args.config, engine=engine, out=out, timeline=timeline,
                                     deliverable=args.deliverable, ledger_url=args.ledger, on_progress=bars)
        try:
            result = run_publish(session, verbose=args.verbose > 0)
        finally:
            bars.close()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return (0 if result.passed else 1), result
    if result.passed:
        record = result.ledger_record
        shots = [i for i in result.context if i.data.get("faceshot") is not None]
        print(f"published {timeline}: {len(shots)} face shot(s) swapped, licensed and labelled")
        for instance in shots:
            print(f"  {instance.name}: {instance.data['output']}")
        if session.conformed is not None:
            print(f"deliverable: {session.conformed.output} (visible label + signed AIGC metadata, proven)")
        elif session.deliverable is not None:
            print(f"deliverable: {session.deliverable} (labels proven)")
        print(f"ledger:  record {record.sequence} ({record.hash[:16]}…); `faceright ledger verify` checks the chain")
    else:
        print(f"BLOCKED: {timeline} was not published; nothing was integrated:", file=sys.stderr)
        for line in result.blocking:
            print(f"  {line}", file=sys.stderr)
    print(f"report:  {result.report}")
    return (0 if result.passed else 1), result
