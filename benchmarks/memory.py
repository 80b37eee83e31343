"""Peak memory (RSS) of a whole `faceright swap` process at 720p, 1080p and 4K (not a test).

    python benchmarks/memory.py [--sizes 1280x720,1920x1080,3840x2160] [--frames 48,96] [--json OUT]

Makes the demo's studio once (``faceright demo``), writes the demo's plate (the push-in on
scikit-image's astronaut, one face) at each size and length, and runs the licensed
``faceright swap`` of it in a fresh process, reading that process's own peak RSS from
``os.wait4`` (``ru_maxrss``). Two lengths show whether memory is flat with clip length; the
sizes show that it is bounded by bytes: the frames waiting between the pipeline's stages
are capped by ``[engine] frame_memory_mb``, not by a frame count. Goals (issue 12): ≤ 800 MB
at 1080p, ≤ 1.2 GB at 4K.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from fractions import Fraction
from pathlib import Path


def faceright_cmd() -> list[str]:
    script = Path(sys.executable).with_name("faceright")
    return [str(script)] if script.exists() else [sys.executable, "-m", "faceright.cli.main"]


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one process running ``argv``."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode}:\n{stderr.decode(errors='replace')[-2000:]}")
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024   # Linux: KiB, macOS: bytes
    return usage.ru_maxrss * 1024 / scale / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x720,1920x1080,3840x2160")
    parser.add_argument("--frames", default="48,96")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    lengths = [int(n) for n in args.frames.split(",")]

    from faceright.engine.demo import write_demo_plate
    import matplotlib.cbook

    donor = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("FACERIGHT_CONFIG", "FACERIGHT_MODELS")}
        subprocess.run([*faceright_cmd(), "demo", "--out", str(folder / "demo"), "--no-progress"], env=env,
                       check=True, capture_output=True)
        studio = folder / "demo" / "demo-studio"
        env["FACERIGHT_HOME"] = str(studio / "home")
        usage = ["--production", "PRJ-0001", "--platform", "douyin", "--territory", "CN",
                 "--date", date.today().isoformat(), "--tier", "ordinary"]
        for width, height in sizes:
            for frames in lengths:
                plate = folder / f"plate-{width}x{height}-{frames}.mp4"
                write_demo_plate(plate, frames=frames, size=(width, height), rate=Fraction(24))
                argv = [*faceright_cmd(), "swap", "--donor", donor, "--plate", str(plate),
                        "--out", str(folder / "out.mp4"), "--overwrite", "--no-progress",
                        "--license", str(studio / "likeness-license.json"),
                        "--release", str(studio / "plate-release.json"), *usage]
                rss, wall = peak_rss_mb(argv, env)
                rows.append({"size": f"{width}x{height}", "frames": frames, "peak_rss_mib": round(rss, 1),
                             "wall_s": round(wall, 2)})
                print(f"{width}x{height:<5} {frames:4d} frames   peak RSS {rss:7.1f} MiB   {wall:6.2f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": f"{os.cpu_count()} cores", "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
