"""Flicker: how much a swapped face moves from frame to frame when the picture does not (not a test).

    python benchmarks/flicker.py [--frames 48] [--keyframe-interval 12]

1. **Still**: insightface's t1.jpg (six faces) as a still shot at 1280×886, every face selected,
   swapped with the classic backend as the swap's pipeline does (ClipFaceFinder → swapper →
   paste-back; no encoder, so no codec noise). Prints, per frame step, the mean and largest change
   of the output's pixels where the plate did not change: on a still shot both should be 0, key
   frames included (before the key-frame refinement settled its window this popped every 12 frames).
2. **Moving**: scikit-image's astronaut panning across 1920×1080: the distance of the landmarks the
   swap uses (followed between key frames) to a whole-frame pass on every frame, in % of the face's
   size (the face must follow the motion, not lag behind a smoothing).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _package_file(package: str, *parts: str) -> Path:
    from importlib import resources

    return Path(str(resources.files(package).joinpath(*parts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--keyframe-interval", type=int, default=12)
    args = parser.parse_args()

    import cv2
    from clips import frames_from_still
    from faceright.engine.analysis import ClipFaceFinder
    from faceright.engine.runtime import Runtime
    from faceright.engine.select import Selection, TargetTracker
    from faceright.engine.settings import EngineSettings
    from faceright.engine.swap.classic import ClassicSwapper
    from faceright.engine.swap.pasteback import paste_back
    from faceright.engine.types import Donor

    t1 = cv2.imread(str(_package_file("insightface", "data", "images", "t1.jpg")))
    astronaut = cv2.imread(str(_package_file("skimage", "data", "astronaut.png")))
    donor = cv2.imread(str(_package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg")))
    with tempfile.TemporaryDirectory() as models:
        analyser = Runtime(EngineSettings(models_dir=Path(models))).analyser()
        swapper = ClassicSwapper()
        prepared = swapper.prepare(Donor(donor, analyser.one_face(donor, what="donor")))

        frames = list(frames_from_still(t1, args.frames, size=(1280, 886), motion="still", stamp=False))
        finder = ClipFaceFinder(analyser, keyframe_interval=args.keyframe_interval)
        tracker = TargetTracker(Selection(rule="all"))
        outs = [paste_back(f, swapper.patches(f, finder.targets(f, tracker), prepared)).astype(np.int16)
                for f in frames]
        steps = [np.abs(b - a) for a, b in zip(outs, outs[1:])]
        print(f"still, six faces, {args.frames} frames, {finder.key_frames} key frames:")
        print(f"  output change per frame step: mean {statistics.fmean(float(s.mean()) for s in steps):.4f}, "
              f"largest {max(int(s.max()) for s in steps)} grey levels")

        frames = list(frames_from_still(astronaut, args.frames, size=(1920, 1080), motion="pan", stamp=False))
        finder = ClipFaceFinder(analyser, keyframe_interval=args.keyframe_interval)
        tracker = TargetTracker(Selection(rule="largest"))
        errors = []
        for frame in frames:
            (used,) = finder.targets(frame, tracker)
            whole = max(analyser.faces(frame), key=lambda f: f.area)
            side = float(whole.box[2] - whole.box[0])
            errors.append(100 * float(np.linalg.norm(used.landmarks - whole.landmarks, axis=1).max()) / side)
        print(f"moving, one face panning, {args.frames} frames: landmarks used vs a whole-frame pass on every "
              f"frame: mean {statistics.fmean(errors):.2f} %, largest {max(errors):.2f} % of the face's width")


if __name__ == "__main__":
    main()
