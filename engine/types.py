"""What the arrays mean. Every engine module speaks this vocabulary.

Frames are ``H×W×3`` ``uint8`` in **BGR** order (OpenCV's and PyAV's ``bgr24``); models
that want RGB convert at their own boundary.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from faceright.vectors import Embedding, Frame, cosine  # noqa: F401  (shared with the core)

Mask = NDArray[np.float32]         #: H×W weights in [0, 1]
Landmarks = NDArray[np.float32]    #: 5×2 points: left eye, right eye, nose, left mouth, right mouth
Box = NDArray[np.float32]          #: (x1, y1, x2, y2), exclusive ends in pixel units
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
