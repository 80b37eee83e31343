"""Seconds and frames per second of conforming a 10-clip, 10-second 1280×720 timeline (not a test).

    python benchmarks/conform.py [--clips 10] [--seconds 10] [--preset veryfast]

Makes five 720p H.264 + AAC clips from the face stills (tests/clips.py), cuts the timeline
from them (each cut a different range, clips reused as an edit does), and conforms it with
faceright.engine.conform: decode, burn the visible label, encode H.264, decode and encode the
audio, write the AIGC metadata; then the label proof (metadata readers and OCR) on the file.
Prints the writing time and fps, and the proof's time, separately.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from clips import MOTIONS, make_clip  # noqa: E402

from faceright.deliverable import ConformClip  # noqa: E402
from faceright.engine.conform import conform_clips  # noqa: E402
from faceright.frames import FrameRange  # noqa: E402
from faceright.labels.aigc import write_keypair  # noqa: E402
from faceright.labels.policy import LabelSettings  # noqa: E402

RATE = 24
SIZE = (1280, 720)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--preset", default="veryfast")
    args = parser.parse_args()
    from skimage import data  # the demo extra

    stills = [cv2.cvtColor(image, cv2.COLOR_RGB2BGR) for image in (data.astronaut(), data.coffee(), data.chelsea())]
    per_cut = round(args.seconds * RATE / args.clips)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_keypair(folder / "aigc.pem", folder / "aigc.pub.pem")
        settings = LabelSettings(provider_code="001191110000MA0000000X10002", signing_key=folder / "aigc.pem",
                                 public_key=folder / "aigc.pub.pem")
        started = time.perf_counter()
        media = [make_clip(folder / f"clip{n}.mp4", stills[n % len(stills)], frames=2 * per_cut + 12, size=SIZE,
                           rate=RATE, motion=MOTIONS[n % len(MOTIONS)]) for n in range(5)]
        print(f"made {len(media)} source clips {SIZE[0]}x{SIZE[1]} in {time.perf_counter() - started:.1f} s")
        cuts = [ConformClip(media[n % len(media)], FrameRange.from_count(per_cut, first=(n * 5) % 12), name=f"sh{n:03d}")
                for n in range(args.clips)]
        started = time.perf_counter()
        result = conform_clips(cuts, folder / "deliverable.mp4", settings, preset=args.preset)
        total = time.perf_counter() - started
        print(f"conform: {len(cuts)} clips, {result.frames} frames ({result.frames / RATE:.1f} s) at "
              f"{SIZE[0]}x{SIZE[1]} preset={args.preset}: {result.seconds:.2f} s writing, {result.fps:.1f} fps")
        print(f"label proof: {total - result.seconds:.2f} s (proven: {result.label.proven}); "
              f"all together {total:.2f} s; {result.output.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
