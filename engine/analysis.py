"""Face analysis: a detector and a recogniser, used together.

``FaceAnalyser`` is a loop over two backends (any objects that follow the
:mod:`faceright.engine.backends` protocols); which models they wrap is the catalog's
business, not this module's. With ``refine`` (the default), the landmarks of faces the
detector found on its shrunken input are refined on windows at the frame's own resolution
(:mod:`faceright.engine.detect.refine`), for every detector family that runs at other sizes.
"""
from __future__ import annotations

import logging
from typing import Sequence

from faceright.errors import ConfigError, MultipleFacesError, NoFaceError

from .backends import Detector, Recogniser, check_backend
from .detect.refine import LandmarkRefiner, can_refine
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
        found = list(self.detector.detect(frame))
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

    On a key frame (the first, every ``keyframe_interval`` frames, and whenever a followed face
    is lost) the analyser runs its whole-frame pass (with refinement and, when asked, the
    embeddings). On the frames between, each face of the previous frame is looked for only in a
    window around it (:meth:`LandmarkRefiner.follow`): one small detector run per face instead of
    a whole-frame pass plus refinement, with the same native-resolution landmarks. Faces found
    that way carry no embedding, so an identity rule decides on key frames and the target
    tracker follows the chosen face by overlap in between. New faces entering the picture are
    found at the next key frame. Stateful: one object per clip, frames in order.
    """

    def __init__(self, analyser: FaceAnalyser, *, keyframe_interval: int = 12) -> None:
        if keyframe_interval < 1:
            raise ConfigError(f"keyframe_interval must be at least 1, got {keyframe_interval}")
        self.analyser = analyser
        self.keyframe_interval = int(keyframe_interval)
        self._previous: list[Face] = []
        self._since_key = 0
        self.key_frames = 0

    def faces(self, frame: Frame, *, embed: bool = False) -> list[Face]:
        refiner = self.analyser.refiner
        if refiner is not None and self._previous and self._since_key < self.keyframe_interval - 1:
            followed = refiner.follow(frame, self._previous)
            if followed is not None:
                self._previous = followed
                self._since_key += 1
                return followed
        found = self.analyser.faces(frame, embed=embed)
        self._previous = found
        self._since_key = 0
        self.key_frames += 1
        return found
