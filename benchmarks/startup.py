"""How long faceright's commands take to start, each in a fresh process (not a test).

    python benchmarks/startup.py [--runs 5] [--json OUT]

Makes the demo's studio and plate once (``faceright demo``), then times, each ``--runs`` times
in a new interpreter (median and best printed):

- ``python -c pass`` (the interpreter's own floor),
- ``faceright --help``, ``faceright keyring list``,
- ``faceright license verify`` offline without a face (signature, term, usage, revocation list),
- ``faceright license verify --donor`` (adds the engine: detector and recogniser sessions),
- ``faceright swap`` of the demo's 48-frame 720p plate: time from the process's start to its
  **first frame** (the first progress report of the swap), and to its end; once with an empty
  model cache (``FACERIGHT_HOME/model-cache``: every model parsed with ``onnx``), then warm.

Bytecode: the checkout's ``PYTHONDONTWRITEBYTECODE`` is removed and ``PYTHONPYCACHEPREFIX``
points at a temporary folder, warmed by a first run, so the figures are those of an installed
package (pip writes the ``.pyc`` files), not of recompiling every module on each start.
Goals (issue 12): ``--help``, ``keyring list`` and ``license verify`` ≤ 0.3 s; ``swap``'s first
frame ≤ 1 s once the models are cached.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

#: runs the CLI in-process and writes the wall-clock time of the swap's first frame to FIRST_FRAME_TO
FIRST_FRAME = """
import os, sys, time
import faceright.progress as progress
real = progress.TerminalProgress.__call__
def call(self, report):
    if report.done >= 1 and not os.path.exists(os.environ["FIRST_FRAME_TO"]):
        with open(os.environ["FIRST_FRAME_TO"], "w") as fh:
            fh.write(repr(time.time()))
    return real(self, report)
progress.TerminalProgress.__call__ = call
from faceright.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def faceright_cmd() -> list[str]:
    """The console script pip installed beside this interpreter (what a user runs), else ``-m``."""
    script = Path(sys.executable).with_name("faceright")
    return [str(script)] if script.exists() else [sys.executable, "-m", "faceright.cli.main"]


def timed(argv: list[str], env: dict[str, str], *, first_frame: Path | None = None,
          ok: tuple[int, ...] = (0,)) -> tuple[float, float | None]:
    """(seconds to the end, seconds to the first frame or None) of one fresh process."""
    if first_frame is not None:
        first_frame.unlink(missing_ok=True)
    start = time.time()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    end = time.time() - start
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    first = None
    if first_frame is not None and first_frame.exists():
        first = float(first_frame.read_text()) - start
    return end, first


def summary(values: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(values), 3), "best_s": round(min(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "FACERIGHT_CONFIG",
                                                                  "FACERIGHT_MODELS")}
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pyc")
        subprocess.run([*faceright_cmd(), "demo", "--out", str(folder / "demo"), "--no-progress"], env=env,
                       check=True, capture_output=True)
        studio = folder / "demo" / "demo-studio"
        env["FACERIGHT_HOME"] = str(studio / "home")
        import matplotlib.cbook

        donor = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        usage = ["--production", "PRJ-0001", "--platform", "douyin", "--territory", "CN",
                 "--date", date.today().isoformat(), "--tier", "ordinary"]
        verify = [*faceright_cmd(), "license", "verify", str(studio / "likeness-license.json"), "--offline", *usage]
        out = folder / "mine.mp4"
        swap = [sys.executable, "-c", FIRST_FRAME, "swap", "--donor", donor, "--plate", str(folder / "demo" / "plate.mp4"),
                "--out", str(out), "--overwrite", "--license", str(studio / "likeness-license.json"),
                "--release", str(studio / "plate-release.json"), *usage]
        first_to = folder / "first-frame"
        env["FIRST_FRAME_TO"] = str(first_to)
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], (0,)),
            "faceright --help": ([*faceright_cmd(), "--help"], (0,)),
            "faceright keyring list": ([*faceright_cmd(), "keyring", "list"], (0,)),
            "license verify (documents, no face)": (verify, (1,)),   # blocks: no face to check, as it should
            "license verify --donor (engine)": (verify + ["--donor", donor], (0,)),
        }
        report: dict[str, object] = {"machine": f"{os.cpu_count()} cores", "python": sys.version.split()[0],
                                     "runs": args.runs}
        for name, (argv, ok) in cases.items():
            timed(argv, env, ok=ok)   # warm-up: bytecode written, page cache filled
            report[name] = summary([timed(argv, env, ok=ok)[0] for _ in range(args.runs)])
        cache = studio / "home" / "model-cache"
        cold_end, cold_first = [], []
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            end, first = timed(swap, env, first_frame=first_to)
            cold_end.append(end)
            cold_first.append(first)
        warm_end, warm_first = [], []
        for _ in range(args.runs):
            end, first = timed(swap, env, first_frame=first_to)
            warm_end.append(end)
            warm_first.append(first)
        report["swap, empty model cache: first frame"] = summary(cold_first)
        report["swap, empty model cache: whole run (48 frames 720p)"] = summary(cold_end)
        report["swap, models cached: first frame"] = summary(warm_first)
        report["swap, models cached: whole run (48 frames 720p)"] = summary(warm_end)
    width = max(len(k) for k in report)
    for key, value in report.items():
        if isinstance(value, dict):
            value = f"median {value['median_s']:.3f} s   best {value['best_s']:.3f} s"
        print(f"{key.ljust(width)}  {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
