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
  pop between donor and plate from frame to frame, however long it stays between the two.

A face that matches no track starts one (no history: its landmarks as found). Tracks not seen for a
frame end. The smoothing looks at a track's last :data:`HISTORY` frames only. The decision is
carried along the whole track, but only frames that *decide* it change it: one beyond the limits,
or one ``margin`` inside them; a frame between the two keeps the track's decision. So a farm chunk
whose lead-in starts at a key frame :data:`HISTORY` frames back reproduces the single run exactly
once every track at its first frame has passed a deciding frame (:attr:`FaceTracks.decided`); a
chunk where one has not reaches further back (engine/farm/tasks.py). Stateful: one object per
clip, frames in order.
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


#: frames of a track's past its smoothing looks at: a farm chunk decoded from a key frame at least this many
#: frames before its first frame smooths every track exactly as a whole run does
HISTORY = 12


@dataclass(eq=False)
class _Track:
    box: np.ndarray
    seen: deque             #: the last HISTORY faces of the track, as found (oldest first)
    refused: bool = False   #: the hysteresis keeps the track unswapped until it comes back ``margin`` inside
    decided: bool = False   #: a frame of this track seen here decided that (else its older past might have)


class FaceTracks:
    """See the module's docstring. ``rate``: the clip's frame rate; ``limits``: the swapper's pose
    limits (None: no swap decision here); ``margin``: degrees a refused face must come back inside
    them; ``min_cutoff`` (Hz) and ``beta`` (per face width per second): the One-Euro filter's.

    Each frame's landmarks are computed from the track's last :data:`HISTORY` faces alone (the
    filter is run over them afresh), so they do not depend on what came before; the decision is
    the track's, changed only by deciding frames (see the module's docstring)."""

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

    @property
    def decided(self) -> bool:
        """Whether every track of the last frame has had its swap decision made by a frame seen here
        (always, without pose limits): then the frames from here on are decided as in a run that
        saw the tracks' whole past."""
        return self.limits is None or all(track.decided for track in self._tracks)

    def _held(self, track: _Track, face: Face) -> bool:
        """Whether the hysteresis keeps ``face`` unswapped: its track went beyond the limits and has
        not come back ``margin`` inside them since. A face beyond the limits is not held here: the
        swapper passes it through itself."""
        if self.limits is None:
            return False
        if face.landmarks is None:   # nothing to decide from: the track's decision stands
            return track.refused
        pose = estimate_pose(face.landmarks)
        beyond = bool(self.limits.violations(pose))
        if beyond:
            track.refused = track.decided = True
        elif not self.limits.violations(pose, slack=-self.margin):
            track.refused, track.decided = False, True
        return track.refused and not beyond
