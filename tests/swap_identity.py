"""The identity measurement behind the classic swap's acceptance test (tests/test_swap_identity.py).

A swap is judged by the shipped SFace recogniser on the face **re-detected** in the output:
similarity to the donor at least 0.40, at least 0.25 above what the plate face already had, and
closer to the donor than to the original plate face.

Faces are found and embedded by the product's default analyser, as a fresh machine has it:
``Runtime(EngineSettings(models_dir=<empty>)).analyser()``, the shipped YuNet and SFace, YuNet
finding faces on the frame letterboxed to 640×640 and refining each face's landmarks on a window
at the image's own resolution (:mod:`faceright.engine.detect.refine`). No model is edited
here. The output face is re-detected in a window around the plate face (three times its box).
``python tests/swap_identity.py --no-refine`` measures the unrefined 640 pass instead: t1.jpg's
faces (about 130 px) then give their landmarks from 65 px and drift by up to ~10 px (a face
rolled 20° reads as 2°), which misaligns donor and target alike.

``python tests/swap_identity.py`` prints the per-pair table.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from faceright.engine.align import estimate_norm
from faceright.engine.analysis import FaceAnalyser
from faceright.engine.runtime import Runtime
from faceright.engine.settings import EngineSettings
from faceright.engine.swap import ClassicSwapper, paste_back
from faceright.engine.swap.colour import lab_transfer
from faceright.engine.types import Donor, Face, Frame, Patch, cosine

MIN_DONOR_SIMILARITY = 0.40
MIN_GAIN = 0.25


def product_analyser(models_dir: Path, *, refine: bool | None = None) -> FaceAnalyser:
    """The product's default analyser on a machine whose models folder ``models_dir`` is empty:
    the runtime's pick, the shipped YuNet and SFace. ``refine`` overrides the settings' default."""
    return Runtime(EngineSettings(models_dir=models_dir)).analyser(refine=refine)


@dataclass(frozen=True)
class Subject:
    """A face in one of the package images."""

    name: str
    image: Frame
    face: Face


@dataclass(frozen=True)
class Verdict:
    donor: str
    target: str
    to_donor: float | None      #: similarity of the re-detected output face to the donor
    before: float               #: the plate face's own similarity to the donor
    to_plate: float | None      #: similarity of the output face to the original plate face

    @property
    def redetected(self) -> bool:
        return self.to_donor is not None

    @property
    def gain(self) -> float | None:
        return None if self.to_donor is None else self.to_donor - self.before

    @property
    def passed(self) -> bool:
        return (
            self.to_donor is not None
            and self.to_donor >= MIN_DONOR_SIMILARITY
            and self.to_donor - self.before >= MIN_GAIN
            and self.to_donor > self.to_plate
        )

    def row(self) -> str:
        if self.to_donor is None:
            return f"{self.donor:>12} → {self.target:<12} not re-detected{'':41}FAIL"
        return (f"{self.donor:>12} → {self.target:<12} donor {self.to_donor:5.3f}  before {self.before:6.3f}  "
                f"gain {self.gain:+5.3f}  plate {self.to_plate:5.3f}  {'pass' if self.passed else 'FAIL'}")


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def subjects(analysis: FaceAnalyser, images: dict[str, Frame]) -> list[Subject]:
    """Every face of every image, embedded, named ``image#k`` (k in the detector's order)."""
    found = []
    for name, image in images.items():
        faces = analysis.faces(image, embed=True)
        for k, face in enumerate(faces):
            found.append(Subject(f"{name}#{k}" if len(faces) > 1 else name, image, face))
    return found


def redetect(analysis: FaceAnalyser, output: Frame, target: Face) -> Face | None:
    """The output's face where ``target`` was (box overlap ≥ 0.5), embedded; searched in a window
    three times the target's box, in frame coordinates."""
    x1, y1, x2, y2 = (float(v) for v in target.box)
    w, h = x2 - x1, y2 - y1
    height, width = output.shape[:2]
    wx0, wy0 = max(0, int(x1 - w)), max(0, int(y1 - h))
    wx1, wy1 = min(width, int(x2 + w) + 1), min(height, int(y2 + h) + 1)
    window = np.ascontiguousarray(output[wy0:wy1, wx0:wx1])
    shift = np.array([wx0, wy0], np.float32)
    faces = analysis.faces(window, embed=False)
    moved = [Face(box=f.box + np.tile(shift, 2), score=f.score, landmarks=f.landmarks + shift) for f in faces]
    best = max(range(len(moved)), key=lambda i: iou(moved[i].box, target.box), default=None)
    if best is None or iou(moved[best].box, target.box) < 0.5:
        return None
    (embedded,) = analysis.embed(window, [faces[best]])
    return embedded


def judge(analysis: FaceAnalyser, donor: Subject, target: Subject, output: Frame) -> Verdict:
    before = cosine(target.face.embedding, donor.face.embedding)
    found = redetect(analysis, output, target.face)
    if found is None:
        return Verdict(donor.name, target.name, None, before, None)
    return Verdict(donor.name, target.name, cosine(found.embedding, donor.face.embedding), before,
                   cosine(found.embedding, target.face.embedding))


Swap = Callable[[Subject, Subject], Frame]


def classic_swap(swapper: ClassicSwapper) -> Swap:
    def swap(donor: Subject, target: Subject) -> Frame:
        prepared = swapper.prepare(Donor(donor.image, donor.face))
        return paste_back(target.image, swapper.patches(target.image, [target.face], prepared))
    return swap


def control_swap(kind: str, size: int = 256) -> Swap:
    """A control that keeps the plate face's features, pasted with the classic mask:
    ``"recolour"`` gives the plate face the donor's L*a*b* colours, ``"blur"`` blurs it."""
    swapper = ClassicSwapper(size=size)

    def swap(donor: Subject, target: Subject) -> Frame:
        matrix = estimate_norm(target.face.landmarks, size)
        plate = cv2.warpAffine(target.image, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)
        if kind == "recolour":
            crop = lab_transfer(plate, swapper.prepare(Donor(donor.image, donor.face)).crop, swapper.mask)
        elif kind == "blur":
            crop = cv2.GaussianBlur(plate, (0, 0), sigmaX=4.0)
        else:
            raise ValueError(f"control must be 'recolour' or 'blur', got {kind!r}")
        return paste_back(target.image, [Patch(crop=crop, matrix=matrix, mask=swapper.mask)])
    return swap


def run_pairs(
    analysis: FaceAnalyser, faces: Sequence[Subject], swap: Swap, *, donor_blind: bool = False
) -> list[Verdict]:
    """Every ordered (donor, target) pair of distinct faces. ``donor_blind``: the swap's output
    does not depend on the donor (the blur control), so each target's output is judged once."""
    if not donor_blind:
        return [judge(analysis, d, t, swap(d, t)) for d, t in itertools.permutations(faces, 2)]
    verdicts = []
    for target in faces:
        donors = [d for d in faces if d is not target]
        found = redetect(analysis, swap(donors[0], target), target.face)
        for d in donors:
            before = cosine(target.face.embedding, d.face.embedding)
            verdicts.append(Verdict(d.name, target.name, None, before, None) if found is None else Verdict(
                d.name, target.name, cosine(found.embedding, d.face.embedding), before,
                cosine(found.embedding, target.face.embedding)))
    return verdicts


def summary(verdicts: Sequence[Verdict]) -> str:
    gains = [v.gain for v in verdicts if v.gain is not None]
    passed = sum(v.passed for v in verdicts)
    return (f"{passed}/{len(verdicts)} pairs pass ({passed / len(verdicts):.0%}); "
            f"mean similarity to donor {np.mean([v.to_donor for v in verdicts if v.redetected]):.3f}, "
            f"mean gain {np.mean(gains):+.3f} (min {min(gains):+.3f}, max {max(gains):+.3f}); "
            f"{sum(not v.redetected for v in verdicts)} not re-detected")


def package_images() -> dict[str, Frame]:
    def read(package: str, *parts: str) -> Frame:
        return cv2.imread(str(Path(str(resources.files(package).joinpath(*parts)))), cv2.IMREAD_COLOR)

    return {
        "t1": read("insightface", "data", "images", "t1.jpg"),
        "astronaut": read("skimage", "data", "astronaut.png"),
        "grace_hopper": read("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
    }


if __name__ == "__main__":  # the per-pair table for a report
    import sys
    import tempfile

    analysis = product_analyser(Path(tempfile.mkdtemp()), refine=False if "--no-refine" in sys.argv else None)
    print(analysis)
    swapper = ClassicSwapper()
    everyone = subjects(analysis, package_images())
    frontal = [s for s in everyone if swapper.refusal(s.face) is None]
    for s in everyone:
        if s not in frontal:
            print(f"turned, passed through: {s.name} ({swapper.refusal(s.face)})")
    for label, swap in (("classic", classic_swap(swapper)), ("recolour control", control_swap("recolour")),
                        ("blur control", control_swap("blur"))):
        verdicts = run_pairs(analysis, frontal, swap, donor_blind=label == "blur control")
        print(f"\n== {label}")
        if label == "classic" or "-v" in sys.argv:
            print("\n".join(v.row() for v in verdicts))
        print(summary(verdicts))
