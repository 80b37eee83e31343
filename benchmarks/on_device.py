"""Per-frame cost of the two swap paths on the same frames: the CPU's (OpenCV crop, swapper, OpenCV
paste-back) and the device's (align graph → swapper → paste graph, engine/swap/on_device.py), with
the swapper run through its fixed binding (the CUDA graph's buffers) in both.

    python benchmarks/on_device.py [--size 1920x1080] [--frames 48] [--providers CUDAExecutionProvider]
                                   [--dynamic-batch] [--batch 8]

``--dynamic-batch`` gives the stand-in a dynamic batch axis: the device path then sends the faces of
``--batch`` frames through one swapper call (a fixed-batch model, as inswapper_128, takes one face a call).

On a machine without a GPU both run on the CPU provider: the device path then only shows what its
graphs cost there (onnxruntime's GridSample and the frame put together again around the face, far
slower than OpenCV on a CPU, which is why ``[engine] gpu_paste = "auto"`` keeps it for GPU sessions). On a GPU it is the number the path exists for. Prints the median ms per frame of
each, interleaved over ``--rounds`` rounds, and the largest difference between their frames.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080", help="frame size WxH (default 1920x1080)")
    parser.add_argument("--frames", type=int, default=48, help="frames per round (default 48)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--providers", nargs="+", default=["CPUExecutionProvider"],
                        help="onnxruntime providers (default: the CPU's)")
    parser.add_argument("--dynamic-batch", action="store_true",
                        help="a stand-in with a dynamic batch axis: faces of several frames per swapper call")
    parser.add_argument("--batch", type=int, default=8, help="frames per swapper call on both paths (default 8)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    import cv2
    from clips import frames_from_still
    from conftest import _package_file
    from onnx_builders import build_arcface
    from stand_in_models import build_inswapper_shaped

    from faceright.engine.runtime import Runtime
    from faceright.engine.settings import EngineSettings
    from faceright.engine.swap.pasteback import paste_back
    from faceright.engine.types import Donor

    work = Path(tempfile.mkdtemp(prefix="faceright-on-device-"))
    models = work / "models"
    models.mkdir()
    build_inswapper_shaped(models / "swapper.onnx", dynamic_batch=args.dynamic_batch)
    build_arcface(models / "arcface.onnx")
    settings = EngineSettings(models_dir=models, model_cache_dir=work / "cache", providers=tuple(args.providers),
                              batch_size=args.batch,
                              gpu_paste="on")
    runtime = Runtime(settings, io_binding=True)
    for name in ("swapper.onnx", "arcface.onnx"):
        runtime.catalog.add(models / name)
    analyser = runtime.analyser()
    swapper = runtime.swapper()
    donor_image = cv2.imread(str(_package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg")))
    prepared = swapper.prepare(Donor(donor_image, analyser.one_face(donor_image, what="donor")))
    frames = list(frames_from_still(cv2.imread(str(_package_file("skimage", "data", "astronaut.png"))), args.frames, size=(width, height), motion="pan",
                                    stamp=False))
    faces = [analyser.faces(f) for f in frames]
    print(f"{width}x{height}, {len(frames)} frames, one face, {swapper.session!r}")

    batches = [list(zip(frames, faces))[i:i + args.batch] for i in range(0, len(frames), args.batch)]   # the pipeline's

    def cpu_path() -> list[np.ndarray]:
        return [paste_back(f, patches) for batch in batches
                for (f, _), patches in zip(batch, swapper.patches_batch(batch, prepared))]

    def device_path() -> list[np.ndarray]:
        return [out for batch in batches for out, _ in swapper.swap_frames(batch, prepared)]

    timings: dict[str, list[float]] = {"cpu": [], "device": []}
    outputs = {}
    for _ in range(args.rounds):
        for name, run in (("cpu", cpu_path), ("device", device_path)):
            start = time.perf_counter()
            outputs[name] = run()
            timings[name].append((time.perf_counter() - start) * 1000 / len(frames))
    for name, values in timings.items():
        print(f"{name:>6} path: {statistics.median(values):6.2f} ms/frame "
              f"(rounds: {', '.join(f'{v:.2f}' for v in values)})")
    worst = max(int(np.abs(a.astype(int) - b).max()) for a, b in zip(outputs["cpu"], outputs["device"]))
    print(f"largest difference between the paths' frames: {worst} grey levels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
