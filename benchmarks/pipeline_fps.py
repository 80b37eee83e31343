"""Frames per second of the whole swap pipeline on a 1080p clip, next to onnxruntime alone (not a test).

    python benchmarks/pipeline_fps.py [--frames 96] [--size 1920x1080] [--backend classic|MODEL]
                                      [--providers CUDAExecutionProvider,CPUExecutionProvider] [--json OUT]

1. Writes a 1080p plate (the demo's push-in on scikit-image's astronaut portrait, one face).
2. Runs ``swap_clip`` on it exactly as ``faceright swap`` does (decode, detect, select,
   swap, paste-back, encode with libx264, the donor from matplotlib's grace_hopper.jpg),
   timing every onnxruntime ``run`` call made inside the pipeline.
3. Replays the very same model inputs through the same sessions, one after the other with
   nothing else running: the time the frames need inside onnxruntime alone.

The pipeline's overhead is the ratio of the two. Prints a table (and writes JSON with --json).
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from faceright.engine.demo import demo_files, demo_labels, write_demo_plate
from faceright.engine.pipeline import SwapPipeline
from faceright.engine.runtime import Runtime
from faceright.engine.settings import engine_settings
from faceright.engine.jobs.swap import SwapRequest, swap_clip_unchecked as swap_clip


class TimedRuns:
    """Wraps backends' session.run: accumulates seconds and keeps each call's inputs for a replay."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, list[str] | None, dict, float]] = []

    @property
    def seconds(self) -> float:
        return sum(call[3] for call in self.calls)

    def wrap(self, backend: object) -> None:
        session = getattr(backend, "session", None)
        if session is None:
            return
        run = session.run

        def timed(output_names, feeds, *args):
            t0 = time.perf_counter()
            result = run(output_names, feeds, *args)
            seconds = time.perf_counter() - t0
            self.calls.append((run, output_names, {k: v.copy() for k, v in feeds.items()}, seconds))
            return result

        session.run = timed

    def replay(self) -> float:
        t0 = time.perf_counter()
        for run, names, feeds, _ in self.calls:
            run(names, feeds)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--backend", default="classic")
    parser.add_argument("--providers", default=None)
    parser.add_argument("--preset", default=None, help="libx264 preset of the output (default: the writer's)")
    parser.add_argument("--fast-color", action="store_true",
                        help="swscale's fast YUV↔BGR conversion on decode and encode (less exact)")
    parser.add_argument("--keyframe-interval", type=int, default=None,
                        help="whole-frame detection every N frames (1: every frame)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    providers = tuple(args.providers.split(",")) if args.providers else None
    runtime = Runtime(engine_settings(providers=providers, keyframe_interval=args.keyframe_interval))
    writer_options = {"preset": args.preset} if args.preset else {}
    if args.fast_color:
        writer_options["accurate_color"] = False
    reader_options = {"accurate_color": False} if args.fast_color else {}
    timer = TimedRuns()
    analyser = runtime.analyser()
    swapper = runtime.swapper(args.backend)
    for backend in (analyser.detector, analyser.recogniser, swapper):
        timer.wrap(backend)
    runtime.analyser = lambda *a, **k: analyser        # swap_clip uses these very instances
    runtime.swapper = lambda *a, **k: swapper

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = demo_files(folder)
        write_demo_plate(files.plate, frames=args.frames, size=(width, height), rate=Fraction(24))
        labels, _ = demo_labels(folder)
        # warm up (first runs allocate), then count only the pipeline's own calls
        swap_clip(SwapRequest(plate=files.plate, donor=files.donor, output=folder / "warm.mp4",
                              frames=(0, 2), overwrite=True, labels=labels), runtime)
        start = {}
        real_run = SwapPipeline.run

        def marked_run(pipeline, *a, **k):   # calls before this are the donor's, not the pipeline's
            start["calls"] = len(timer.calls)
            return real_run(pipeline, *a, **k)

        SwapPipeline.run = marked_run
        result = swap_clip(SwapRequest(plate=files.plate, donor=files.donor, output=files.output, overwrite=True,
                                       labels=labels, writer_options=writer_options,
                                       reader_options=reader_options), runtime)
        SwapPipeline.run = real_run
        wall = result.stats.seconds
        timer.calls = timer.calls[start["calls"]:]
    ort_alone = timer.replay()
    stats = result.stats
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        "providers": [p for p, _ in runtime.providers()],
        "size": f"{width}x{height}", "frames": stats.frames, "faces_swapped": stats.faces_swapped,
        "backend": result.swapper,
        "encoder": writer_options or "writer defaults (libx264 veryfast crf 18, accurate colour)",
        "pipeline_seconds": round(wall, 3), "fps": round(stats.frames / wall, 2),
        "ort_calls": len(timer.calls),
        "ort_seconds_inside_pipeline": round(timer.seconds, 3),
        "ort_seconds_alone": round(ort_alone, 3),
        "ort_alone_fps": round(stats.frames / ort_alone, 2) if ort_alone else None,
        "overhead_ratio": round(wall / ort_alone, 2) if ort_alone else None,
        "stage_busy_seconds": {k: round(v, 3) for k, v in vars(stats.busy).items()},
    }
    width_key = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key.ljust(width_key)}  {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
