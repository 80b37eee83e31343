"""Frames per second of faceright's media I/O on a 1080p clip (not a test).

    python benchmarks/media_io.py [--frames 96] [--presets veryfast,fast,medium]

Decodes a 1080p H.264 clip made from the astronaut still to BGR frames (VideoReader), and
encodes BGR frames with VideoWriter (libx264 yuv420p, CRF 18) at each preset, with the
accurate (default) and the fast YUV conversion. Prints one line per measurement.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from clips import frames_from_still, make_clip  # noqa: E402

from faceright.engine.media import VideoReader, VideoWriter, probe  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--presets", default="ultrafast,veryfast,fast,medium")
    args = parser.parse_args()
    from skimage import data  # the demo extra

    still = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder) / "plate.mp4", still, frames=args.frames, size=(1920, 1080), rate=24)
        info = probe(clip)
        print(f"clip: {info.width}x{info.height} {info.frame_count} frames h264 {info.pix_fmt}")
        for accurate in (True, False):
            start = time.perf_counter()
            count = sum(1 for _ in VideoReader(clip, info=info, accurate_color=accurate))
            elapsed = time.perf_counter() - start
            print(f"decode → BGR  accurate_color={accurate!s:5}  {count / elapsed:6.1f} fps")
        frames = list(frames_from_still(still, min(args.frames, 48), (1920, 1080), "pan"))
        for preset in args.presets.split(","):
            for accurate in (True, False):
                out = Path(folder) / f"out_{preset}_{accurate}.mp4"
                start = time.perf_counter()
                with VideoWriter(out, width=1920, height=1080, rate=24, preset=preset, crf=18,
                                 accurate_color=accurate) as writer:
                    for i in range(args.frames):
                        writer.write(frames[i % len(frames)])
                elapsed = time.perf_counter() - start
                print(f"BGR → encode  preset={preset:9} accurate_color={accurate!s:5}  "
                      f"{args.frames / elapsed:6.1f} fps  ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
