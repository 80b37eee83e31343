"""What the arrays mean. Every engine module speaks this vocabulary.

Frames are ``H×W×3`` ``uint8`` in **BGR** order (OpenCV's and PyAV's ``bgr24``); models
that want RGB convert at their own boundary.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Frame = NDArray[np.uint8]          #: H×W×3 BGR image
Mask = NDArray[np.float32]         #: H×W weights in [0, 1]
Landmarks = NDArray[np.float32]    #: 5×2 points: left eye, right eye, nose, left mouth, right mouth
Box = NDArray[np.float32]          #: (x1, y1, x2, y2), exclusive ends in pixel units
Embedding = NDArray[np.float32]    #: L2-normalised identity vector (128-d SFace, 512-d ArcFace)
Matrix = NDArray[np.float64]       #: 2×3 affine, image → aligned crop

ModelKind = Literal["detector", "recogniser", "swapper"]
MODEL_KINDS: tuple[ModelKind, ...] = ("detector", "recogniser", "swapper")


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face. ``embedding`` is filled in by a recogniser, else ``None``."""

    box: Box
    score: float
    landmarks: Landmarks
    embedding: Embedding | None = None

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = (float(v) for v in self.box)
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    def with_embedding(self, embedding: Embedding) -> "Face":
        return replace(self, embedding=embedding)


@dataclass(frozen=True, eq=False)
class Donor:
    """The face to put in: the donor image, its detected face (with embedding)."""

    image: Frame
    face: Face


def cosine(a: Embedding, b: Embedding) -> float:
    """Cosine similarity of two identity vectors (normalised here, to be safe)."""
    a = np.asarray(a, dtype=np.float32).ravel()
    b = np.asarray(b, dtype=np.float32).ravel()
    if a.shape != b.shape:
        raise ValueError(f"embeddings differ in size: {a.shape[0]} vs {b.shape[0]} (made by different models?)")
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


@dataclass(frozen=True, eq=False)
class Patch:
    """A replaced face in aligned-crop space, ready for paste-back.

    ``matrix`` maps frame pixels to crop pixels (as :func:`faceright.engine.align.estimate_norm`);
    paste-back inverts it and blends ``crop`` into the frame by ``mask``, touching only the
    face region.
    """

    crop: Frame
    matrix: Matrix
    mask: Mask
