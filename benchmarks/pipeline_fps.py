"""The whole `faceright swap` against what physics allows: the inference bound and the codec floor (not a test).

    python benchmarks/pipeline_fps.py [--frames 48,480] [--size 1920x1080]
                                      [--backends classic,inswapper-shaped] [--repeat 5]
                                      [--crf 10] [--preset veryfast] [--providers LIST] [--json OUT]

In one run, on the same frames (the demo's push-in on scikit-image's astronaut, one moving face,
written once per length at ``--size``), for each backend and length:

- **bound**: onnxruntime alone. One in-process ``swap`` records every session ``run`` the
  pipeline makes (YuNet's key-frame passes and landmark windows, the recogniser, the swapper)
  with its inputs; the bound replays those very calls through the same sessions one after the
  other, nothing else running.
- **floor**: the codecs alone. The plate decoded and encoded again through faceright's own reader
  and writer with the same settings (libx264 ``--preset``/``--crf``, accurate colour), no processing.
- **pipeline**: the whole ``faceright swap`` process (a fresh process with the models already in
  the model cache and its bytecode compiled: start-up, license checks, donor, pipeline, label
  proof), wall and CPU seconds from ``os.wait4``.

Each figure is the median of ``--repeat`` runs, interleaved (bound, floor, pipeline, bound, …) so
that the machine's drift falls on all three. Printed: the ratio ``pipeline / (bound + floor)`` of
wall and of CPU seconds (issue 12's aims: ≤ 1.5 at 48 frames, ≤ 1.15 at 480, CPU ≤ 1.2), and
``pipeline / max(bound, floor)``: on 2 cores a pipeline that overlaps inference with the codecs
approaches the larger of the two, not their sum.

``inswapper-shaped`` is ``stand_in_models.build_inswapper_shaped`` (inswapper_128's inputs, outputs
and emap; ~4.9 GFLOP a call) with the tests' 512-d ArcFace stand-in for the donor's identity.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

INSWAPPER_SHAPED = "inswapper-shaped"


def faceright_cmd() -> list[str]:
    script = Path(sys.executable).with_name("faceright")
    return [str(script)] if script.exists() else [sys.executable, "-m", "faceright.cli.main"]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)     # every thread of this process
    return usage.ru_utime + usage.ru_stime


class Measured:
    """Wall and CPU seconds of one block of this process."""

    def __enter__(self) -> "Measured":
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._wall, cpu_seconds() - self._cpu


class RecordedRuns:
    """Wraps backends' ``session.run``: keeps each call the pipeline makes, with its inputs, for a replay."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, list[str] | None, dict]] = []
        self.recording = False

    def wrap(self, backend: object) -> None:
        session = getattr(backend, "session", None)
        if session is None:
            return
        run = session.run

        def recorded(output_names, feeds, *args):
            if self.recording:
                self.calls.append((run, output_names, {k: v.copy() for k, v in feeds.items()}))
            return run(output_names, feeds, *args)

        session.run = recorded

    def replay(self) -> Measured:
        with Measured() as measured:
            for run, names, feeds in self.calls:
                run(names, feeds)
        return measured


def make_models(folder: Path, env: dict[str, str]) -> None:
    """The inswapper-shaped swapper and a 512-d ArcFace stand-in, registered in ``folder``."""
    from onnx_builders import build_arcface
    from stand_in_models import build_inswapper_shaped

    folder.mkdir(parents=True, exist_ok=True)
    build_inswapper_shaped(folder / f"{INSWAPPER_SHAPED}.onnx")
    build_arcface(folder / "arcface-stand-in.onnx", dim=512)
    for name in (f"{INSWAPPER_SHAPED}.onnx", "arcface-stand-in.onnx"):
        subprocess.run([*faceright_cmd(), "models", "--models-dir", str(folder), "add", str(folder / name)],
                       env=env, check=True, capture_output=True)


def floor_run(plate: Path, out: Path, writer_options: dict) -> Measured:
    """Decode ``plate`` and encode it again with the pipeline's writer settings, nothing in between."""
    from faceright.engine.media import open_sink, open_source

    with Measured() as measured:
        with open_source(plate) as source:
            with open_sink(out, like=source.info, frames=source.range, overwrite=True, **writer_options) as sink:
                for _, frame in source:
                    sink.write(frame)
    return measured


def process_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU seconds) of one ``faceright`` process, its threads and children included."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{stderr.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def record(plate: Path, donor: Path, out: Path, backend: str, models: Path, writer_options: dict,
           providers: tuple[str, ...] | None) -> tuple[RecordedRuns, object]:
    """One in-process swap of ``plate`` (as ``faceright swap`` makes it), recording the pipeline's session calls."""
    from faceright.engine.demo import demo_labels
    from faceright.engine.jobs.swap import SwapRequest, swap_clip_unchecked
    from faceright.engine.pipeline import SwapPipeline
    from faceright.engine.runtime import Runtime
    from faceright.engine.settings import engine_settings

    runtime = Runtime(engine_settings(models_dir=models, providers=providers))
    analyser, swapper = runtime.analyser(), runtime.swapper(backend)
    recorder = RecordedRuns()
    for model in (analyser.detector, analyser.recogniser, swapper):
        recorder.wrap(model)
    runtime.analyser = lambda *a, **k: analyser          # the swap uses these very instances
    runtime.swapper = lambda *a, **k: swapper
    labels, _ = demo_labels(out.parent)
    real_run = SwapPipeline.run

    def recorded_run(pipeline, *a, **k):                  # calls before this are the donor's, not the frames'
        recorder.recording = True
        try:
            return real_run(pipeline, *a, **k)
        finally:
            recorder.recording = False

    SwapPipeline.run = recorded_run
    try:
        result = swap_clip_unchecked(SwapRequest(plate=plate, donor=donor, output=out, overwrite=True, labels=labels,
                                                 swapper=backend, writer_options=writer_options), runtime)
    finally:
        SwapPipeline.run = real_run
    return recorder, result


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", default="48,480", help="clip lengths, comma-separated")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--backends", default=f"classic,{INSWAPPER_SHAPED}",
                        help=f"classic, {INSWAPPER_SHAPED}, or a swap model's catalog name, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement (the median is shown)")
    parser.add_argument("--crf", type=int, default=10)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--providers", default=None, help="onnxruntime providers, comma-separated")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    lengths = [int(n) for n in args.frames.split(",")]
    backends = args.backends.split(",")
    providers = tuple(args.providers.split(",")) if args.providers else None
    writer_options = {"crf": args.crf, "preset": args.preset}

    import matplotlib.cbook
    from faceright.engine.demo import write_demo_plate

    donor = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # as a user's install runs: bytecode cached (this checkout's PYTHONDONTWRITEBYTECODE dropped)
        env = {k: v for k, v in os.environ.items()
               if k not in ("FACERIGHT_CONFIG", "FACERIGHT_MODELS", "PYTHONDONTWRITEBYTECODE")}
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pyc")
        subprocess.run([*faceright_cmd(), "demo", "--out", str(folder / "demo"), "--no-progress"], env=env,
                       check=True, capture_output=True)
        studio = folder / "demo" / "demo-studio"
        env["FACERIGHT_HOME"] = os.environ["FACERIGHT_HOME"] = str(studio / "home")   # one model cache for all
        models = folder / "models"
        make_models(models, env)
        usage = ["--production", "PRJ-0001", "--platform", "douyin", "--territory", "CN",
                 "--date", date.today().isoformat(), "--tier", "ordinary"]
        for frames in lengths:
            plate = folder / f"plate-{frames}.mp4"
            write_demo_plate(plate, frames=frames, size=(width, height), rate=Fraction(24))
            for backend in backends:
                recorder, result = record(plate, donor, folder / "recorded.mp4", backend, models, writer_options,
                                          providers)
                argv = [*faceright_cmd(), "swap", "--donor", str(donor), "--plate", str(plate),
                        "--out", str(folder / "out.mp4"), "--overwrite", "--no-progress",
                        "--license", str(studio / "likeness-license.json"),
                        "--release", str(studio / "plate-release.json"), *usage,
                        "--backend", backend, "--models-dir", str(models),
                        "--crf", str(args.crf), "--preset", args.preset,
                        *(["--providers", args.providers] if args.providers else [])]
                process_run(argv, env)                     # warm: page cache, model cache
                bound, floor, pipeline = [], [], []
                for _ in range(args.repeat):
                    bound.append(recorder.replay())
                    floor.append(floor_run(plate, folder / "floor.mp4", writer_options))
                    pipeline.append(process_run(argv, env))
                row = {
                    "backend": result.swapper, "frames": frames, "size": f"{width}x{height}",
                    "faces_swapped": result.stats.faces_swapped, "ort_calls": len(recorder.calls),
                    "bound_s": median([m.wall for m in bound]), "bound_cpu_s": median([m.cpu for m in bound]),
                    "floor_s": median([m.wall for m in floor]), "floor_cpu_s": median([m.cpu for m in floor]),
                    "pipeline_s": median([w for w, _ in pipeline]), "pipeline_cpu_s": median([c for _, c in pipeline]),
                    "pipeline_fps": round(frames / statistics.median([w for w, _ in pipeline]), 2),
                    "stage_busy_s": {k: round(v, 3) for k, v in vars(result.stats.busy).items()},
                }
                row["ratio_to_sum"] = round(row["pipeline_s"] / (row["bound_s"] + row["floor_s"]), 3)
                row["ratio_to_larger"] = round(row["pipeline_s"] / max(row["bound_s"], row["floor_s"]), 3)
                row["cpu_ratio"] = round(row["pipeline_cpu_s"] / (row["bound_cpu_s"] + row["floor_cpu_s"]), 3)
                rows.append(row)
                del recorder
                print(f"{row['backend']:<18} {frames:4d} frames  bound {row['bound_s']:6.2f} s "
                      f"({row['bound_cpu_s']:6.2f} CPU-s)  floor {row['floor_s']:6.2f} s ({row['floor_cpu_s']:6.2f})  "
                      f"swap {row['pipeline_s']:6.2f} s ({row['pipeline_cpu_s']:6.2f})  "
                      f"swap/(bound+floor) {row['ratio_to_sum']:.2f}  CPU {row['cpu_ratio']:.2f}  "
                      f"swap/max {row['ratio_to_larger']:.2f}", flush=True)
    report = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "encoder": f"libx264 {args.preset} crf {args.crf}", "repeat": args.repeat, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
