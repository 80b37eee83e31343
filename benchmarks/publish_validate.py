"""Collect + validate a long timeline's face shots, no swaps (not a test).

    python benchmarks/publish_validate.py [--shots 10000] [--plates 20]

Builds the embedded example's studio (a signed license and release, real faces), then an OTIO
timeline of ``--shots`` face-shot clips cut from ``--plates`` short plates, all with the
licensed donor, and runs faceright's collector and every pre-swap gate through pyblish (the
extractors and integrators are left out: nothing is swapped or written). Prints the seconds
of collection and validation, per shot, and the peak resident memory.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import opentimelineio as otio
import pyblish.api
import pyblish.util

from faceright import api, validators
from faceright.engine.cli.demo import build_example
from faceright.engine.demo import write_demo_plate
from faceright.engine.jobs.local import LocalEngine
from faceright.publish.timeline import mark_face_shot
from faceright.validators.publish import quiet_pyblish


def long_timeline(example_timeline: Path, plates: list[Path], shots: int, frames: int) -> Path:
    """``shots`` clips like the example's sh010, cycling over ``plates``, 4 frames each."""
    template = otio.adapters.read_from_file(str(example_timeline))
    first = next(c for c in template.find_clips() if "faceright" in c.metadata)
    document = dict(first.metadata["faceright"]["faceshot"])
    timeline = otio.schema.Timeline(name="long", global_start_time=otio.opentime.RationalTime(86400, 24))
    track = otio.schema.Track(name="V1")
    for index in range(shots):
        plate = plates[index % len(plates)]
        start = 86400 + (index * 4) % (frames - 4)
        clip = otio.schema.Clip(
            name=f"sh{index:05d}", media_reference=otio.schema.ExternalReference(
                target_url=plate.name, available_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(86400, 24), otio.opentime.RationalTime(frames, 24))),
            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, 24), otio.opentime.RationalTime(4, 24)))
        mark_face_shot(clip, {**document, "shot_id": f"sh{index:05d}"})
        track.append(clip)
    timeline.tracks.append(track)
    path = example_timeline.with_name("long.otio")
    otio.adapters.write_to_file(timeline, str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=10000)
    parser.add_argument("--plates", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = 24
        built = build_example(folder, frames=frames, broll=4, backend="classic")
        plates = [built.plate] + [write_demo_plate(folder / f"plate{i:02d}.mp4", frames=frames)
                                  for i in range(1, args.plates)]
        config, made = built.config(), built.example
        path = long_timeline(made.licensed, plates, args.shots, frames)
        chosen = [p for p in validators.plugins() if p.order < pyblish.api.ExtractorOrder]
        with LocalEngine(config) as engine:
            session = api.PublishSession(config=config, engine=engine, out=folder / "pub", timeline=path)
            context = pyblish.api.Context()
            context.data["faceright"] = session
            context.data["faceright_plugins"] = [p.__name__ for p in validators.plugins()]
            with quiet_pyblish(True):   # as `faceright publish` runs pyblish
                started = time.perf_counter()
                pyblish.util.collect(context, plugins=chosen)
                collected = time.perf_counter()
                pyblish.util.validate(context, plugins=chosen)
                validated = time.perf_counter()
        errors = api.publish_results.error_lines(context.data["results"])
        shots = len([i for i in context if i.data.get("faceshot") is not None])
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{shots} face shots over {args.plates} plates: collect {collected - started:.2f} s, "
              f"validate {validated - collected:.2f} s ({1000 * (validated - collected) / max(1, shots):.2f} ms/shot), "
              f"total {validated - started:.2f} s; peak RSS {peak_mb:.0f} MB; {len(errors)} blocking line(s)")
        for line in errors[:5]:
            print("  ", line)


if __name__ == "__main__":
    main()
