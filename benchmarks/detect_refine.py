"""Milliseconds of face detection per 1080p frame, landmarks refined or not (not a test).

    python benchmarks/detect_refine.py [--repeats 40]

The product's default analyser (the shipped YuNet through the runtime, CPU) on two 1080p
frames made from package images: one face (astronaut.png scaled 2× on grey, a ~225 px face)
and six faces (t1.jpg scaled 1.5×, its middle 1080 rows, ~190 px faces). For each: the 640
pass alone, the 640 pass plus refinement (the default), and YuNet over the whole frame at its
native size, for scale. Prints the median and mean of ``analyser.faces(frame)`` per frame.

Then the swap's own analysis of a clip (``ClipFaceFinder.targets``, key frames every 12 frames,
faces followed between): milliseconds per frame over ``--clip`` frames of each picture when the
largest face is the one replaced, and, on six faces, when every face is followed (what the swap
did before it refined and followed only the faces it replaces). Goal (issue 12): six faces with
one replaced ≤ 2× the cost of one face.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from faceright.engine.analysis import ClipFaceFinder
from faceright.engine.runtime import Runtime
from faceright.engine.select import Selection, TargetTracker
from faceright.engine.settings import EngineSettings


def read(package: str, *parts: str) -> np.ndarray:
    return cv2.imread(str(Path(str(resources.files(package).joinpath(*parts)))), cv2.IMREAD_COLOR)


def frames() -> dict[str, np.ndarray]:
    one = np.full((1080, 1920, 3), 96, np.uint8)
    one[28:1052, 448:1472] = cv2.resize(read("skimage", "data", "astronaut.png"), (1024, 1024),
                                        interpolation=cv2.INTER_CUBIC)
    t1 = cv2.resize(read("insightface", "data", "images", "t1.jpg"), None, fx=1.5, fy=1.5,
                    interpolation=cv2.INTER_CUBIC)
    return {"1 face": one, "6 faces": np.ascontiguousarray(t1[100:1180])}


def timed(call, repeats: int) -> tuple[float, float]:
    call()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statistics.fmean(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--clip", type=int, default=96, help="frames of the clip analysed by ClipFaceFinder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as models:
        runtime = Runtime(EngineSettings(models_dir=Path(models), providers=("CPUExecutionProvider",)))
        refined, plain = runtime.analyser(), runtime.analyser(refine=False)
        print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; {refined.detector!r}")
        for name, frame in frames().items():
            h, w = frame.shape[:2]
            native_size = (32 * -(-w // 32), 32 * -(-h // 32))
            rows = [
                ("640 pass", lambda: plain.faces(frame), max(args.repeats, 1)),
                ("640 pass + refinement (default)", lambda: refined.faces(frame), max(args.repeats, 1)),
                (f"native {native_size[0]}×{native_size[1]} pass",
                 lambda: refined.detector.detect(frame, input_size=native_size), max(args.repeats // 8, 1)),
            ]
            print(f"{name}: {len(refined.faces(frame))} found, {w}×{h}")
            for label, call, repeats in rows:
                median, mean = timed(call, repeats)
                print(f"  {label:34} median {median:6.1f} ms   mean {mean:6.1f} ms")
        print(f"clip analysis, {args.clip} frames, key frame every 12 (ms per frame, mean of the clip):")
        clip = {}
        for name, frame in frames().items():
            clip[name] = clip_ms(refined, frame, args.clip, every_face=False)
            print(f"  {name}, the largest replaced: {clip[name]:6.1f} ms")
        everyone = clip_ms(refined, frames()["6 faces"], args.clip, every_face=True)
        print(f"  6 faces, every face followed: {everyone:6.1f} ms")
        print(f"  6 faces / 1 face (the largest replaced): {clip['6 faces'] / clip['1 face']:.2f}×")


def clip_ms(analyser, frame: np.ndarray, frames: int, *, every_face: bool) -> float:
    """Mean milliseconds per frame of a clip of ``frames`` copies of ``frame`` through ClipFaceFinder."""
    finder = ClipFaceFinder(analyser, keyframe_interval=12)
    tracker = TargetTracker(Selection(rule="largest"))
    start = time.perf_counter()
    for _ in range(frames):
        finder.faces(frame) if every_face else finder.targets(frame, tracker)
    return (time.perf_counter() - start) * 1000 / frames


if __name__ == "__main__":
    main()
