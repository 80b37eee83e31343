"""``faceright farm``: face shots as Open Job Description jobs (AWS Deadline Cloud), and their tasks.

    faceright farm bundle SHOT.json|TIMELINE.otio --out BUNDLE/ [--chunk-size 24] [--target-runtime 300]
    faceright farm run BUNDLE/ [--workers N]           (locally, with openjd-cli)
    faceright farm task gate|chunk|assemble ...        (what the bundle's steps run on a worker)

Exit codes: 0 done, 1 a gate that blocks or a task that failed, 2 bad input, 3 openjd missing.
"""
from __future__ import annotations

import argparse
import getpass
import shutil
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("farm", help="face shots as Open Job Description bundles (Deadline Cloud); run one "
                            "locally", description="Write a farm job bundle for a shot or a timeline's face shots, "
                            "or run one on this machine.")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    cmds = parser.add_subparsers(dest="farm_command", metavar="ACTION")

    bundle = cmds.add_parser("bundle", help="write a job bundle (template.yaml, parameter values, asset references)")
    bundle.add_argument("source", type=Path, metavar="SHOT.json|TIMELINE.otio",
                        help="a FaceShot document, or an OTIO timeline whose face shots all go into the bundle")
    bundle.add_argument("--out", type=Path, required=True, metavar="BUNDLE", help="the bundle folder to write")
    bundle.add_argument("--chunk-size", type=int, default=24, help="frames per chunk (default 24; at most 150)")
    bundle.add_argument("--target-runtime", type=int, default=300, metavar="S",
                        help="seconds one chunk should take; the farm adapts the chunk size to it (default 300)")
    bundle.add_argument("--program", metavar="CMD", help="the faceright command on the workers (default: faceright)")
    bundle.set_defaults(func=_bundle)

    run = cmds.add_parser("run", help="run a bundle on this machine with openjd-cli")
    run.add_argument("bundle", type=Path, metavar="BUNDLE", help="a folder written by `faceright farm bundle`")
    run.add_argument("--workers", type=int, default=1, help="chunks run side by side (default 1)")
    run.add_argument("--program", metavar="CMD", help="the faceright command the tasks run (default: this one)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--quiet", action="store_true", help="do not pass openjd's log through")
    run.set_defaults(func=_run)

    task = cmds.add_parser("task", help="a bundle step's work on a worker (run by the farm, not by hand)")
    task.add_argument("kind", choices=("gate", "chunk", "assemble"), help="which step")
    task.add_argument("--shots", type=Path, required=True, help="the bundle's shots.json")
    task.add_argument("--job", type=Path, required=True, help="the job folder (chunks, records)")
    task.add_argument("--shot", help="the shot id (chunk, assemble)")
    task.add_argument("--frames", help="the chunk's frames, A-B both included (chunk)")
    task.add_argument("--path-mapping", help="OpenJD path-mapping rules file (Session.PathMappingRulesFile)")
    task.set_defaults(func=_task)


def _bundle(args: argparse.Namespace) -> int:
    from faceright.farm.bundle import write_bundle
    from faceright.service.client import rooted

    shots = _shots_of(args.source, args.config)
    shots = [rooted(shot, args.config.paths) for shot in shots]
    bundle = write_bundle(shots, args.out, name=f"faceright {args.source.stem}", chunk_size=args.chunk_size,
                          target_runtime_s=args.target_runtime, program=args.program or "faceright")
    print(f"{bundle.folder}: {len(shots)} face shot(s), steps: {', '.join(bundle.steps)}")
    print(f"check it: openjd check {bundle.template}; run it here: faceright farm run {bundle.folder}")
    return 0


def _shots_of(source: Path, config: Any) -> list[Any]:
    from dataclasses import replace

    from faceright.errors import ShotError
    from faceright.shot import FaceShot

    if source.suffix.lower() == ".otio":
        from faceright.publish.timeline import read_timeline

        timeline = read_timeline(source)
        shots = [item.shot for item in timeline.shots]
        if not shots:
            raise ShotError(f"{source} has no face shots (clips with metadata[\"faceright\"])")
    else:
        shots = [FaceShot.load(source)]
    filled = []
    for shot in shots:
        if shot.plate.frames is None:   # the chunks need the range: the plate's own, read here
            from faceright.engine.media import open_source

            with open_source(shot.media(config.paths).plate, rate=shot.plate.rate) as plate:
                shot = replace(shot, plate=replace(shot.plate, frames=plate.range))
        filled.append(shot)
    return filled


def _run(args: argparse.Namespace) -> int:
    from faceright.farm.run import run_bundle
    from faceright.progress import TerminalProgress

    from faceright.farm.bundle import SHOTS, read_shots
    from faceright.progress import Progress

    program = args.program or _this_program()
    total = sum(len(s.plate.frames) for s in read_shots(args.bundle / SHOTS) if s.plate.frames) \
        if (args.bundle / SHOTS).is_file() else None
    with TerminalProgress("farm", disable=args.no_progress) as bar:
        done, swapped = [0], [0]

        def frames(new: int, already: int) -> None:
            done[0] += new + already
            swapped[0] += new
            bar(Progress(done[0], total, 0.0))

        def line(text: str) -> None:
            if not args.quiet or "faceright farm:" in text or "rror" in text:
                print(text, file=sys.stderr)

        result = run_bundle(args.bundle, workers=args.workers, program=program, on_line=line, on_frames=frames)
    if result.returncode != 0:
        print(f"faceright: the bundle {args.bundle} failed at {result.failed}; fix the cause and run it again: "
              "chunks already done and verified are skipped", file=sys.stderr)
        return 1
    print(f"{args.bundle}: done ({swapped[0]} frame(s) swapped in this run, {done[0] - swapped[0]} found done)")
    return 0


def _this_program() -> str:
    found = shutil.which("faceright")
    sibling = Path(sys.executable).with_name("faceright")
    return str(sibling) if sibling.exists() else (found or "faceright")


def _task(args: argparse.Namespace) -> int:
    from faceright.engine.farm.tasks import (FarmTaskError, JobFolder, find_shot, mapped, parse_chunk,
                                             record_in_ledger, run_assemble, run_chunk, run_gate)
    from faceright.engine.jobs.local import LocalEngine
    from faceright.farm.bundle import read_shots
    from faceright.farm.pathmap import PathMapping

    config = args.config
    mapping = PathMapping.load(args.path_mapping)
    shots = [mapped(shot, mapping) for shot in read_shots(args.shots)]
    job = JobFolder(args.job)
    with LocalEngine(config) as engine:
        if args.kind == "gate":
            blocked = run_gate(shots, job, engine)
            if blocked:
                print(f"faceright farm: the gate blocks {len({f.message.split(':')[0] for f in blocked})} shot(s); "
                      "no chunk runs:", file=sys.stderr)
                for finding in blocked:
                    print(f"  error {finding.code}: {finding.message}", file=sys.stderr)
                return 1
            print(f"faceright farm: gate passed for {len(shots)} shot(s)")
            return 0
        if not args.shot:
            raise FarmTaskError(f"farm task {args.kind} needs --shot")
        shot = find_shot(shots, args.shot)
        if args.kind == "chunk":
            if not args.frames:
                raise FarmTaskError("farm task chunk needs --frames A-B")
            frames = parse_chunk(args.frames)
            swapped, already = run_chunk(shot, frames, job, engine, config,
                                         keyframe_interval=engine.settings.keyframe_interval)
            print(f"faceright farm: {shot.shot_id} frames {frames.first}-{frames.last}: {swapped} swapped, "
                  f"{already} already done and verified")
            return 0
        done = run_assemble(shot, job, config, engine)
    record = record_in_ledger(done, job, config, user=_user())
    print(f"faceright farm: {shot.shot_id} assembled into {shot.output.path}, label proven; ledger record "
          f"{record['sequence']}")
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "farm"
