"""The selected faces as tracks: landmarks smoothed along each, and the swap decision kept steady.

The pipeline's targets come frame by frame (:meth:`~faceright.engine.analysis.ClipFaceFinder.targets`).
:class:`FaceTracks` links each to the track it continues (box overlap with the track's last face)
and, per track:

- **smooths the landmarks** with a One-Euro filter (Casiez, Roussel, Vogel, CHI 2012): a low-pass
  whose cutoff rises with the speed of the points, so detector noise on a face that holds still
  (YuNet's points move 2–3 % of the face when the picture shifts a pixel) is filtered out, while a
  face that moves is followed without lag. Positions are filtered in units of the track's face
  width, so the same settings hold at any resolution. The similarity transform the swap aligns
  with is made from these landmarks, so it is smoothed with them.
- **keeps the swap decision with hysteresis**: a face beyond the swapper's pose limits
  (``swapper.limits``, e.g. yaw 40°) is passed through, and its track is swapped again only once it
  has come back ``margin`` degrees inside them (32°), so a face turning around the limit does not
  pop between donor and plate from frame to frame.

A face that matches no track starts one (no history: its landmarks as found). Tracks not seen for a
frame end. Only a track's last :data:`HISTORY` frames count. Stateful: one object per clip, frames
in order.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .detect.nms import iou
from .swap.pose import PoseLimits, estimate_pose
from .types import Face

__all__ = ["HISTORY", "FaceTracks", "OneEuro"]


class OneEuro:
    """A One-Euro filter over an array of values sampled at ``rate`` Hz."""

    def __init__(self, rate: float, *, min_cutoff: float = 1.0, beta: float = 1.0, d_cutoff: float = 1.0) -> None:
        if rate <= 0 or min_cutoff <= 0 or beta < 0 or d_cutoff <= 0:
            raise ValueError("OneEuro: rate, min_cutoff and d_cutoff must be positive and beta ≥ 0")
        self.rate, self.min_cutoff, self.beta, self.d_cutoff = float(rate), min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self.rate)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) * self.rate
        self._dx = self._dx + self._alpha(self.d_cutoff) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + self._alpha(cutoff) * (x - self._x)
        return self._x.copy()


#: frames of a track's past its smoothing and its swap decision look at: a farm chunk decoded from a
#: key frame at least this many frames before its first frame continues every track exactly as a whole run does
HISTORY = 12


@dataclass(eq=False)
class _Track:
    box: np.ndarray
    seen: deque   #: the last HISTORY faces of the track, as found (oldest first)


class FaceTracks:
    """See the module's docstring. ``rate``: the clip's frame rate; ``limits``: the swapper's pose
    limits (None: no swap decision here); ``margin``: degrees a refused face must come back inside
    them; ``min_cutoff`` (Hz) and ``beta`` (per face width per second): the One-Euro filter's.

    Each frame's answer is computed from the track's last :data:`HISTORY` faces alone (the filter is
    run over them afresh, the decision replayed over them), so it does not depend on what came
    before: a farm chunk whose lead-in holds those frames gives the whole run's pixels."""

    def __init__(self, rate: float, *, limits: PoseLimits | None = None, margin: float = 8.0,
                 min_cutoff: float = 1.0, beta: float = 3.0, match_iou: float = 0.3, smooth: bool = True) -> None:
        self.rate = float(rate) if rate and rate > 0 else 24.0
        self.limits = limits
        self.margin = float(margin)
        self.min_cutoff, self.beta, self.match_iou, self.smooth = min_cutoff, beta, match_iou, smooth
        self._tracks: list[_Track] = []
        self.held_back = 0   #: faces kept unswapped by the hysteresis (inside the limits, not yet back enough)

    def update(self, faces: Sequence[Face]) -> list[Face]:
        """This frame's targets: smoothed, and without the faces whose track waits to come back."""
        previous, self._tracks = self._tracks, []
        out = []
        for face in faces:
            track = self._continued(previous, face)
            if track is None:
                track = _Track(np.asarray(face.box, np.float64), deque(maxlen=HISTORY))
            else:
                previous.remove(track)
            track.box = np.asarray(face.box, np.float64)
            track.seen.append(face)
            self._tracks.append(track)
            smoothed = self._smoothed(track)
            if self._held(track, smoothed):
                self.held_back += 1
                continue
            out.append(smoothed)
        return out

    def _continued(self, previous: list[_Track], face: Face) -> _Track | None:
        if not previous:
            return None
        overlaps = iou(np.asarray(face.box, np.float64), np.stack([t.box for t in previous]))
        best = int(np.argmax(overlaps))
        return previous[best] if overlaps[best] >= self.match_iou else None

    def _smoothed(self, track: _Track) -> Face:
        face = track.seen[-1]
        if not self.smooth or face.landmarks is None or len(track.seen) < 2:
            return face
        width = float(np.mean([max(1.0, float(f.box[2] - f.box[0])) for f in track.seen]))
        smoother = OneEuro(self.rate, min_cutoff=self.min_cutoff, beta=self.beta)
        for seen in track.seen:   # afresh over the window: the answer depends on these frames only
            points = smoother(np.asarray(seen.landmarks, np.float64) / width)
        points = points * width
        shift = (points - np.asarray(face.landmarks, np.float64)).mean(axis=0)
        box = np.asarray(face.box, np.float64) + np.tile(shift, 2)
        return replace(face, landmarks=points.astype(np.float32), box=box.astype(np.float32))

    def _held(self, track: _Track, face: Face) -> bool:
        """Whether the hysteresis keeps ``face`` unswapped: its track went beyond the limits within the
        window and has not come back ``margin`` inside them since. A face beyond the limits is not held
        here: the swapper passes it through itself."""
        if self.limits is None or face.landmarks is None:
            return False
        refused = False
        poses = [estimate_pose(f.landmarks) for f in list(track.seen)[:-1] if f.landmarks is not None]
        for pose in [*poses, estimate_pose(face.landmarks)]:
            if self.limits.violations(pose):
                refused = True
            elif refused and not self.limits.violations(pose, slack=-self.margin):
                refused = False
        return refused and not self.limits.violations(estimate_pose(face.landmarks))
