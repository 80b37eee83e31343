"""Face analysis: a detector and a recogniser, used together.

``FaceAnalyser`` is a loop over two backends (any objects that follow the
:mod:`faceright.engine.backends` protocols); which models they wrap is the catalog's
business, not this module's. With ``refine`` (the default), the landmarks of faces the
detector found on its shrunken input are refined on windows at the frame's own resolution
(:mod:`faceright.engine.detect.refine`), for every detector family that runs at other sizes.
"""
from __future__ import annotations

import logging
import math
from typing import Sequence

import numpy as np

from faceright.errors import ConfigError, MultipleFacesError, NoFaceError

from .backends import Detector, Recogniser, check_backend
from .detect.nms import iou
from .detect.refine import LandmarkRefiner, can_refine
from .select import Selection, TargetTracker
from .types import Face, Frame

log = logging.getLogger(__name__)


class FaceAnalyser:
    """Finds faces and, when asked, gives each its identity vector.

    ``refine``: refine each face's box and landmarks on a window at the frame's resolution
    (:class:`~faceright.engine.detect.refine.LandmarkRefiner`). A detector with a fixed input
    size cannot run those windows; its faces are then used as found (logged at INFO).
    """

    def __init__(self, detector: Detector, recogniser: Recogniser | None = None, *, refine: bool = True) -> None:
        check_backend(detector, Detector)
        if recogniser is not None:
            check_backend(recogniser, Recogniser)
        self.detector = detector
        self.recogniser = recogniser
        self.refiner: LandmarkRefiner | None = None
        if refine and can_refine(detector):
            self.refiner = LandmarkRefiner(detector)
        elif refine:
            log.info("landmarks not refined: %r cannot run at other input sizes", detector)

    def __repr__(self) -> str:
        return f"FaceAnalyser({self.detector!r}, {self.recogniser!r}, refiner={self.refiner!r})"

    def faces(self, frame: Frame, *, embed: bool = False) -> list[Face]:
        """The faces in ``frame``, best score first; with ``embed``, each carries its embedding."""
        return self.complete(frame, self.detector.detect(frame), embed=embed)

    def complete(self, frame: Frame, found: Sequence[Face], *, embed: bool = False) -> list[Face]:
        """Faces the detector found in ``frame``, refined (and with ``embed`` embedded): the work
        :meth:`faces` does after the detector's pass, for only the faces a caller keeps."""
        found = list(found)
        if self.refiner is not None and found:
            found = self.refiner.refine(frame, found)
        if embed and found:
            found = self.embed(frame, found)
        return found

    def embed(self, frame: Frame, faces: Sequence[Face]) -> list[Face]:
        """``faces`` with their embeddings filled in (one batched recogniser call)."""
        if self.recogniser is None:
            raise ConfigError(
                "this face analyser has no recogniser, so it cannot tell identities apart: "
                "install or configure a recogniser model (see `faceright models list`)"
            )
        if not faces:
            return []
        vectors = self.recogniser.embed(frame, faces)
        return [face.with_embedding(vector) for face, vector in zip(faces, vectors)]

    def upside_down(self, image: Frame, face: Face, *, margin: float = 0.1) -> float | None:
        """The detector's score for ``face`` seen turned by half a turn, when that beats its own score by
        ``margin``: the picture shows the face upside down (None: it is upright as far as the detector can
        tell). A detector finds an upside-down face with upright-looking landmarks at a lower score
        (matplotlib's Grace Hopper: 0.94 upright, 0.63 turned over), which a swap would paste upside
        down; the half-turned crop around the face is one small extra detector run."""
        height, width = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in face.box)
        half = 0.8 * max(x2 - x1, y2 - y1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left, top = max(0, int(cx - half)), max(0, int(cy - half))
        right, bottom = min(width, int(math.ceil(cx + half))), min(height, int(math.ceil(cy + half)))
        if right - left < 8 or bottom - top < 8:
            return None
        turned = np.ascontiguousarray(image[top:bottom, left:right][::-1, ::-1])
        span = np.array([right - left, bottom - top, right - left, bottom - top], np.float64)
        origin = np.array([left, top, left, top], np.float64)
        best = None
        for found in self.detector.detect(turned):
            box = span - np.asarray(found.box, np.float64)[[2, 3, 0, 1]] + origin   # back through the half turn
            if iou(np.asarray(face.box, np.float64), box[None, :])[0] >= 0.3 and (best is None or found.score > best):
                best = float(found.score)
        return best if best is not None and best >= float(face.score) + margin else None

    def one_face(self, image: Frame, *, what: str, largest: bool = False) -> Face:
        """The one face of ``image`` (a donor, a reference), with its embedding.

        Raises :class:`NoFaceError` when there is none, and :class:`MultipleFacesError` when
        there are several and ``largest`` is not set (then the largest face is taken).
        ``what`` names the image in the messages, e.g. ``"donor image donor.jpg"``.
        """
        found = self.faces(image, embed=False)
        if not found:
            raise NoFaceError(
                f"no face found in the {what}: use an image showing one face, frontal and at least "
                "about 64 pixels tall, not covered or strongly turned away"
            )
        if len(found) > 1:
            if not largest:
                sizes = ", ".join(f"{f.box[2] - f.box[0]:.0f}×{f.box[3] - f.box[1]:.0f}" for f in found)
                raise MultipleFacesError(
                    f"{len(found)} faces found in the {what} (sizes {sizes} px): crop the image to the one face "
                    "you mean, or ask for the largest face"
                )
            log.debug("%d faces in the %s; taking the largest", len(found), what)
        face = max(found, key=lambda f: f.area)
        return self.embed(image, [face])[0] if self.recogniser is not None else face


class ClipFaceFinder:
    """Faces of consecutive video frames, found cheaply by following them between key frames.

    Key frames fall on a fixed grid (the first frame, then every ``keyframe_interval`` frames
    counted from it: a farm chunk that starts on the grid sees the key frames a whole run sees),
    plus any frame where a followed face is lost. On a key frame the detector makes its
    whole-frame pass. On the frames between, each followed face is looked for only in a window
    around it (:meth:`LandmarkRefiner.follow`): one small detector run per face instead of a
    whole-frame pass plus refinement, with the same native-resolution landmarks.

    :meth:`targets` follows **only the faces a** :class:`~faceright.engine.select.TargetTracker`
    **selects**, and refines only those on key frames (an identity rule needs every face refined
    and embedded on key frames to decide; ``largest`` and ``all`` decide on the detector's boxes):
    six faces on a frame cost about what one does when one is replaced. :meth:`faces` follows
    every face. Faces found by following carry no embedding, so an identity rule decides on key
    frames and the tracker follows the chosen face by overlap in between. New faces entering the
    picture are found at the next key frame; while no face at all is in the picture, every frame
    is a key frame. A selected face the detector sees better turned over
    (:meth:`FaceAnalyser.upside_down`) is not a target: it is passed through, never pasted upside
    down. Stateful: one object per clip, frames in order.
    """

    def __init__(self, analyser: FaceAnalyser, *, keyframe_interval: int = 12) -> None:
        if keyframe_interval < 1:
            raise ConfigError(f"keyframe_interval must be at least 1, got {keyframe_interval}")
        self.analyser = analyser
        self.keyframe_interval = int(keyframe_interval)
        self._followed: list[Face] | None = None   #: None: nothing seen to follow, the next frame is a key frame
        self._frames = 0
        self._every_face = TargetTracker(Selection(rule="all"))
        self.key_frames = 0

    def faces(self, frame: Frame, *, embed: bool = False) -> list[Face]:
        """Every face of ``frame`` (all of them followed between key frames)."""
        return self.targets(frame, self._every_face, embed=embed)

    def targets(self, frame: Frame, tracker: TargetTracker, *, embed: bool | None = None) -> list[Face]:
        """The faces ``tracker`` selects in ``frame``, refined; only they are followed to the next frame.

        ``embed`` (default: what the tracker's rule needs) embeds every face on key frames."""
        embed = tracker.selection.needs_embeddings if embed is None else embed
        refiner = self.analyser.refiner
        on_grid = self._frames % self.keyframe_interval == 0
        self._frames += 1
        if refiner is not None and not on_grid and self._followed is not None:
            followed = refiner.follow(frame, self._followed) if self._followed else []
            if followed is not None:
                self._followed = tracker.select(followed)
                return self._followed
        self.key_frames += 1
        found = list(self.analyser.detector.detect(frame))
        if not found:
            self._followed = None
            return tracker.select([])
        if embed:   # identities are compared on aligned crops: every face refined and embedded
            chosen = tracker.select(self.analyser.complete(frame, found, embed=True))
        else:
            chosen = self.analyser.complete(frame, tracker.select(found))
        upright = [face for face in chosen if self.analyser.upside_down(frame, face) is None]
        if len(upright) < len(chosen):
            log.info("%d selected face(s) upside down on this key frame: passed through", len(chosen) - len(upright))
        self._followed = upright
        return upright
