"""The embedded example published end to end, with each stage's share (not a test).

    python benchmarks/publish_example.py [--frames 48] [--backend classic]

Makes the demo's plate, studio and timelines (as `faceright demo` does; not timed), then publishes
``ep01_licensed.otio`` with faceright's plugins through pyblish: collect, validate, swap each
shot, conform the cut, validate the outputs (label read back, output identity, deliverable label
by OCR), write the ledger and the report. Prints the wall time and, from pyblish's own per-plugin
durations, the time of each plugin and each stage with its share of the whole.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyblish.api

from faceright import api
from faceright.engine.cli.demo import build_example
from faceright.validators.publish import run_publish


def stage_of(order: float) -> str:
    if order < pyblish.api.ValidatorOrder - 0.5:
        return "collect"
    if order < pyblish.api.ExtractorOrder - 0.5:
        return "validate (licenses, releases, identities, models)"
    if order < pyblish.api.IntegratorOrder - 0.5:
        return "extract + output checks (swap, conform, labels, identity)"
    return "integrate (ledger, report)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--frames", type=int, default=48, help="plate length (the demo's default: 48)")
    parser.add_argument("--backend", default="classic")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faceright-bench-") as tmp:
        built = build_example(Path(tmp), frames=args.frames, backend=args.backend)
        config, folder = built.config(), Path(tmp)
        started = time.perf_counter()
        with api.open_engine(config) as engine:
            opened = time.perf_counter()
            session = api.PublishSession(config=config, engine=engine, out=folder / "pub", timeline=built.example.licensed)
            result = run_publish(session)
        wall = time.perf_counter() - started
        if not result.passed:
            print("the example did not publish:", *result.blocking, sep="\n  ")
            return 1
        by_plugin: dict[str, float] = defaultdict(float)
        by_stage: dict[str, float] = defaultdict(float)
        for item in result.context.data["results"]:
            plugin = item["plugin"]
            seconds = item.get("duration", 0.0) / 1000.0
            by_plugin[plugin.__name__] += seconds
            by_stage[stage_of(plugin.order)] += seconds
        plugins_total = sum(by_plugin.values())
        print(f"embedded example: {args.frames}-frame plate, 2 face shots + a 24-frame cutaway, backend {args.backend}")
        print(f"wall {wall:.2f} s (engine opened in {opened - started:.2f} s; plugins {plugins_total:.2f} s; "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
        print("\nstage                                                       seconds  share")
        for stage, seconds in by_stage.items():
            print(f"  {stage:<58} {seconds:6.2f}  {seconds / wall:5.1%}")
        print("\nplugin                                 seconds  share")
        for name, seconds in sorted(by_plugin.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<36} {seconds:6.2f}  {seconds / wall:5.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
