"""Landmark refinement: the detector again, on a small window around each face, at the frame's resolution.

A detector finds faces on the frame letterboxed to its input (640×640): a 1280-px photo shrinks
2×, a 1080p frame 3×, so a 130-px face's five landmarks come from a 45–65 px face. On t1.jpg
they drift up to ~10 px from what the same detector gives at the photo's own size, ~25 px at
1080p, and a face rolled 20° reads as 2–5°; the swap then aligns donor and target wrongly.
Running the detector on the whole frame at native size fixes that at several times the cost
(1920×1088 is 5× the pixels of 640×640).

:class:`LandmarkRefiner` keeps the cheap pass for *finding* faces and, per face, runs the same
detector on a square window around it, at least ``margin`` × the face's box on a side:

- **at native resolution** for faces up to ``face_size`` px, the window's origin on the
  detector's stride grid (a multiple of ``size_multiple`` frame pixels) and its side a
  multiple of it, filled with the frame as far as the frame goes, so its cells and anchors are
  those of a native-size pass over the whole frame and the landmarks are that pass's (the
  window is only short of far context); larger faces are scaled down to ``face_size``;
- **skipped** where the first pass already saw the face almost as finely (``min_gain``): frames
  no larger than the detector's input, faces big enough there;
- the face found in the window that overlaps the first pass's box best (IoU ≥ ``min_iou``)
  gives the box and landmarks in frame pixels; its score stays the first pass's (that pass
  decided which faces there are). Where the window finds none, the first pass's face stays.

Detectors must take other input sizes (:class:`ResizableDetector`: SCRFD and RetinaFace exports
are dynamic; the runtime declares YuNet's input free, see :mod:`faceright.engine.models.input_size`).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from faceright.errors import ConfigError

from ..types import Face, Frame
from .base import as_bgr, shrink
from .nms import iou

__all__ = ["LandmarkRefiner", "ResizableDetector"]

log = logging.getLogger(__name__)


@runtime_checkable
class ResizableDetector(Protocol):
    """A detector whose model runs at any input size (multiples of ``size_multiple``)."""

    input_size: tuple[int, int]
    size_multiple: int

    @property
    def resizable(self) -> bool: ...

    def detect(self, frame: Frame, *, input_size: tuple[int, int] | None = None) -> list[Face]: ...


def can_refine(detector: object) -> bool:
    """Whether ``detector`` can run the refiner's windows (a resizable ONNX detector)."""
    return isinstance(detector, ResizableDetector) and bool(detector.resizable)


@dataclass(frozen=True)
class _Window:
    """A square of the frame to detect in: ``[x0, x0 + span)`` × ``[y0, y0 + span)`` frame pixels
    (black where it runs past the frame), resized by ``scale`` to ``side`` × ``side`` input pixels."""

    x0: int
    y0: int
    span: int
    side: int
    scale: float


class LandmarkRefiner:
    """Refines the boxes and landmarks a detector found, on windows around the faces (module docstring)."""

    def __init__(
        self,
        detector: ResizableDetector,
        *,
        face_size: int = 256,
        margin: float = 2.0,
        min_gain: float = 1.25,
        min_iou: float = 0.4,
    ) -> None:
        if not can_refine(detector):
            raise ConfigError(
                f"landmark refinement needs a detector that runs at any input size; {detector!r} has a fixed "
                "input: load it through faceright's runtime, or turn refinement off ([engine] refine_landmarks = false)"
            )
        if face_size < 32 or margin < 1.0 or min_gain < 1.0 or not 0.0 < min_iou <= 1.0:
            raise ConfigError(
                f"landmark refinement: face_size ≥ 32, margin ≥ 1, min_gain ≥ 1 and 0 < min_iou ≤ 1 expected; "
                f"got face_size {face_size}, margin {margin}, min_gain {min_gain}, min_iou {min_iou}"
            )
        self.detector = detector
        self.face_size = int(face_size)
        self.margin = float(margin)
        self.min_gain = float(min_gain)
        self.min_iou = float(min_iou)

    def __repr__(self) -> str:
        return f"LandmarkRefiner(faces to {self.face_size} px, window {self.margin:g}× the box)"

    def refine(self, frame: Frame, faces: Sequence[Face]) -> list[Face]:
        """``faces`` (as the detector found them in ``frame``), each with its box and landmarks refined."""
        frame = as_bgr(frame)
        height, width = frame.shape[:2]
        in_w, in_h = self.detector.input_size
        seen = min(in_w / width, in_h / height)  # the first pass's scale: input pixels per frame pixel
        out, windows = [], 0
        for face in faces:
            scale = self._scale(face, seen)
            if scale is None:
                out.append(face)
                continue
            refined, used = self._settle(frame, face, scale)
            out.append(refined)
            windows += used
        refined = sum(a is not b for a, b in zip(out, faces, strict=True))
        log.debug("refined %d of %d faces on %d windows (first pass at %.2f×)", refined, len(out), windows, seen)
        return out

    def _settle(self, frame: Frame, face: Face, scale: float, *, rounds: int = 3) -> tuple[Face, int]:
        """``face`` refined until its window stops moving (at most ``rounds`` windows): the window a
        refined face asks for is the one :meth:`follow` looks in on the next frame, so on a still
        picture a key frame gives exactly the landmarks following gives (no pop every key frame,
        and the same answer whatever came before: a farm chunk's first key frame agrees with a
        whole run's). Returns the face and the windows run."""
        window = self._window(face, scale)
        current = face
        for used in range(1, rounds + 1):
            found = self._match(current, self._detect(frame, window))
            if found is current:
                return current, used
            current = found
            scale = self._native_scale(current) or scale
            following = self._window(current, scale)
            if following == window:
                return current, used
            window = following
        return current, rounds

    def follow(self, frame: Frame, faces: Sequence[Face], *, min_iou: float = 0.3) -> list[Face] | None:
        """``faces`` of the previous video frame, found again in ``frame`` on their windows alone.

        No whole-frame pass: each face is looked for in its own window (``margin`` × its box, so
        it may move by about half its size between frames) and comes back with this frame's box
        and landmarks and score. None when any face is not found again (it left, turned away or
        moved too far): the caller then runs a whole-frame pass.
        """
        frame = as_bgr(frame)
        out = []
        for face in faces:
            scale = self._native_scale(face)
            if scale is None:
                return None
            hit = _best_overlap(face, self._detect(frame, self._window(face, scale)), min_iou)
            if hit is None:
                return None
            out.append(replace(face, box=np.asarray(hit.box, np.float32), score=float(hit.score),
                               landmarks=np.asarray(hit.landmarks, np.float32), embedding=None))
        return out

    def _native_scale(self, face: Face) -> float | None:
        """frame → window pixels for ``face``: native, or down to ``face_size``; None for a degenerate box."""
        side = float(max(face.box[2] - face.box[0], face.box[3] - face.box[1]))
        if not math.isfinite(side) or side <= 1.0:
            return None
        return min(1.0, self.face_size / side)

    def _scale(self, face: Face, seen: float) -> float | None:
        """The window's scale for ``face`` (frame → window pixels), or None when refining gains nothing."""
        scale = self._native_scale(face)
        return scale if scale is not None and scale >= seen * self.min_gain else None

    def _window(self, face: Face, scale: float) -> _Window:
        """A square window around ``face``: at least ``margin`` × its box, origin on the stride grid
        (at native scale: multiples of m; scaled windows: as near as pixels allow), side a multiple of m."""
        m = self.detector.size_multiple
        x1, y1, x2, y2 = (float(v) for v in face.box)
        half = self.margin * max(x2 - x1, y2 - y1) / 2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        grid = m / scale
        ox = int(math.floor(max(0.0, cx - half) / grid) * grid)
        oy = int(math.floor(max(0.0, cy - half) / grid) * grid)
        side = math.ceil(max(cx + half - ox, cy + half - oy) * scale / m) * m  # input pixels
        return _Window(ox, oy, math.ceil(side / scale), side, scale)

    def _detect(self, frame: Frame, window: _Window) -> list[Face]:
        """The detector on ``window`` (filled with the frame as far as it goes), faces in frame pixels."""
        height, width = frame.shape[:2]
        ex, ey = min(width, window.x0 + window.span), min(height, window.y0 + window.span)
        if ex - window.x0 < 2 or ey - window.y0 < 2:
            return []
        side = window.side
        pixels = frame[window.y0:ey, window.x0:ex]
        if window.scale < 1.0:
            size = (min(side, max(1, round((ex - window.x0) * window.scale))),
                    min(side, max(1, round((ey - window.y0) * window.scale))))
            pixels = shrink(pixels, size)
        canvas = np.zeros((side, side, 3), np.uint8)
        canvas[:pixels.shape[0], :pixels.shape[1]] = pixels
        unscale = np.array([pixels.shape[1] / (ex - window.x0), pixels.shape[0] / (ey - window.y0)], np.float64)
        origin = np.array([window.x0, window.y0], np.float64)
        return [
            replace(f, box=((np.asarray(f.box, np.float64).reshape(2, 2) / unscale + origin).reshape(4)),
                    landmarks=np.asarray(f.landmarks, np.float64) / unscale + origin)
            for f in self.detector.detect(canvas, input_size=(side, side))
        ]

    def _match(self, face: Face, found: Sequence[Face]) -> Face:
        """``face`` with the box and landmarks of the found face overlapping it best, if enough."""
        hit = _best_overlap(face, found, self.min_iou)
        if hit is None:
            return face
        return replace(face, box=np.asarray(hit.box, np.float32), landmarks=np.asarray(hit.landmarks, np.float32))


def _best_overlap(face: Face, found: Sequence[Face], min_iou: float) -> Face | None:
    """The face of ``found`` that overlaps ``face``'s box most, if by at least ``min_iou``."""
    if not found:
        return None
    overlaps = iou(np.asarray(face.box, np.float64), np.stack([f.box for f in found]))
    best = int(np.argmax(overlaps))
    return found[best] if overlaps[best] >= min_iou else None
