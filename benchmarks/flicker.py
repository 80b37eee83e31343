"""Flicker: how much a swapped face moves from frame to frame when the picture does not (not a test).

    python benchmarks/flicker.py [--frames 48] [--keyframe-interval 12]

1. **Still**: insightface's t1.jpg (six faces) as a still shot at 1280×886, every face selected,
   swapped with the classic backend as the swap's pipeline does (ClipFaceFinder → swapper →
   paste-back; no encoder, so no codec noise). Prints, per frame step, the mean and largest change
   of the output's pixels where the plate did not change: on a still shot both should be 0, key
   frames included (before the key-frame refinement settled its window this popped every 12 frames).
2. **Shaken**: scikit-image's astronaut at 1280×720 moved by ±1 px from frame to frame: how far the
   landmarks jump per frame as the detector finds them, and as the swap uses them (smoothed along
   the track, engine/tracks.py), in % of the face's width.
3. **Moving**: the astronaut panning across 1920×1080: the distance of the landmarks the swap uses
   (followed between key frames, smoothed) to a whole-frame pass on every frame, in % of the face's
   width (the face must follow the motion, not lag behind the smoothing).
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
    from faceright.engine.tracks import FaceTracks
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

        still = next(frames_from_still(astronaut, 1, size=(1280, 720), motion="still", stamp=False))
        shaken = [np.roll(still, (i % 2, (i // 2) % 2), axis=(0, 1)) for i in range(args.frames)]
        tracks = FaceTracks(24, limits=swapper.limits)
        raw, used = [], []
        for frame in shaken:
            (face,) = analyser.faces(frame)
            raw.append(face.landmarks)
            used.append(tracks.update([face])[0].landmarks)
        width = float(face.box[2] - face.box[0])
        step = lambda points: 100 * float(np.abs(np.diff(np.array(points), axis=0)).mean()) / width  # noqa: E731
        print(f"shaken by ±1 px, {args.frames} frames: landmark jump per frame {step(raw):.2f} % of the face's width "
              f"as found, {step(used[12:]):.2f} % as the swap uses them (smoothed)")

        frames = list(frames_from_still(astronaut, args.frames, size=(1920, 1080), motion="pan", stamp=False))
        finder = ClipFaceFinder(analyser, keyframe_interval=args.keyframe_interval)
        tracker = TargetTracker(Selection(rule="largest"))
        tracks = FaceTracks(24, limits=swapper.limits)
        errors = []
        for frame in frames:
            (used,) = tracks.update(finder.targets(frame, tracker))
            whole = max(analyser.faces(frame), key=lambda f: f.area)
            side = float(whole.box[2] - whole.box[0])
            errors.append(100 * float(np.linalg.norm(used.landmarks - whole.landmarks, axis=1).max()) / side)
        print(f"moving, one face panning, {args.frames} frames: landmarks used vs a whole-frame pass on every "
              f"frame: mean {statistics.fmean(errors):.2f} %, largest {max(errors):.2f} % of the face's width")


if __name__ == "__main__":
    main()
