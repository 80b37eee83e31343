"""What keeping a 10-bit video plate's own samples costs, and what it keeps (not a test).

    python benchmarks/deep_plates.py [--frames 24] [--size 1920x1080] [--face 300x400]

Makes a ProRes 422 HQ and a DNxHR HQX plate from the astronaut still with detail finer than 8
bits (tests/clips.py ``fine_detail``), then writes each back with the plate's codec twice, in
interleaved rounds: from the plate's own samples (faceright's default for such plates,
engine/media/video_fidelity.py) and from the swap's 8-bit frames (``plate=None``). The stand-in
"swap" paints a ``--face`` rectangle. Prints the wall and CPU seconds of each write and the mean
luma error outside the rectangle against the plate, in 10-bit codes, as ffmpeg decodes both.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from clips import make_clip  # noqa: E402

from faceright.engine.media import open_sink, open_source  # noqa: E402

PLATES = {"ProRes 422 HQ": ("prores_ks", "yuv422p10le", {"profile": "3"}),
          "DNxHR HQX": ("dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"})}


def _luma(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv422p10le", "-"],
                         check=True, capture_output=True).stdout
    frame = width * height * 2
    samples = np.frombuffer(raw, np.uint16)
    return np.stack([samples[i:i + width * height].reshape(height, width)
                     for i in range(0, len(samples), frame)]).astype(np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--face", default="300x400", help="the painted rectangle, W×H")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed as the independent decoder (apt-get install ffmpeg)")
    from skimage import data  # the demo extra

    width, height = (int(v) for v in args.size.split("x"))
    face_w, face_h = (int(v) for v in args.face.split("x"))
    top, left = height // 4, width // 2 - face_w // 2
    still = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    outside = np.ones((height, width), bool)
    outside[top:top + face_h, left:left + face_w] = False
    with tempfile.TemporaryDirectory() as folder:
        for name, (codec, pix_fmt, options) in PLATES.items():
            plate = make_clip(Path(folder) / f"{codec}.mov", still, frames=args.frames, size=(width, height),
                              codec=codec, pix_fmt=pix_fmt, codec_options=options, audio=False, fine_detail=True)
            with open_source(plate) as source:
                info = source.info
                frames = [frame for _, frame in source]
            for frame in frames:
                frame[top:top + face_h, left:left + face_w] = (40, 150, 210)
            times: dict[str, list[tuple[float, float]]] = {"own samples": [], "8-bit frames": []}
            for _ in range(args.rounds):
                for how, extra in (("own samples", {}), ("8-bit frames", {"plate": None})):
                    out = Path(folder) / f"{codec}.{how.split()[0]}.mov"
                    wall, cpu = time.perf_counter(), time.process_time()
                    with open_sink(out, like=info, audio=False, overwrite=True, codec=codec, pix_fmt=pix_fmt,
                                   codec_options=options, **extra) as sink:
                        for frame in frames:
                            sink.write(frame)
                    times[how].append((time.perf_counter() - wall, time.process_time() - cpu))
            reference = _luma(plate, width, height)
            for how in times:
                out = Path(folder) / f"{codec}.{how.split()[0]}.mov"
                error = np.abs(_luma(out, width, height) - reference)[:, outside].mean()
                wall = statistics.median(t[0] for t in times[how])
                cpu = statistics.median(t[1] for t in times[how])
                print(f"{name} {width}x{height} {len(frames)} frames, {how}: write {wall:.2f} s wall "
                      f"({1000 * wall / len(frames):.1f} ms/frame), {cpu:.2f} CPU-s; "
                      f"mean |Δ luma| outside the face {error:.2f} codes (10-bit)")


if __name__ == "__main__":
    main()
