"""Images and identity vectors as the core and the engine both speak of them.

Frames are ``H×W×3`` ``uint8`` in **BGR** order (OpenCV's and PyAV's ``bgr24``); an
identity vector is a float32 array compared by cosine similarity. The engine re-exports
these (``faceright.engine.types``); the core's identity check uses them without the engine.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Frame = NDArray[np.uint8]          #: H×W×3 BGR image
Embedding = NDArray[np.float32]    #: L2-normalised identity vector (128-d SFace, 512-d ArcFace)


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
