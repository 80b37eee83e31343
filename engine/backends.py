"""The interfaces every backend implements, written down and checked at load.

Backends are constructed around an onnxruntime session (``session=``), so a session pool
or a test can hand one in; routing by signature (``faceright.engine.models``) decides which
class wraps which file. File names never matter.
"""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from .types import Donor, Embedding, Face, Frame, Patch


@runtime_checkable
class Detector(Protocol):
    """Finds faces: boxes, scores and 5 landmarks, after NMS, in frame pixels."""

    taskname: str  # "detector"

    def detect(self, frame: Frame) -> list[Face]: ...


@runtime_checkable
class Recogniser(Protocol):
    """Turns aligned faces into L2-normalised identity vectors."""

    taskname: str  # "recogniser"
    model_id: str  # names the model that made an embedding (embeddings of two models never compare)
    dim: int

    def embed(self, frame: Frame, faces: Sequence[Face]) -> np.ndarray: ...  # (n, dim) float32


@runtime_checkable
class Swapper(Protocol):
    """Makes the patches that replace ``targets`` in ``frame`` by the donor's face."""

    taskname: str  # "swapper"

    def prepare(self, donor: Donor) -> object: ...

    def patches(self, frame: Frame, targets: Sequence[Face], prepared: object) -> list[Patch]: ...


def check_backend(obj: object, protocol: type) -> None:
    """Refuse an object that does not implement ``protocol``, naming what it lacks."""
    missing = [
        name
        for name in getattr(protocol, "__annotations__", {}).keys() | {
            n for n in dir(protocol) if not n.startswith("_") and callable(getattr(protocol, n, None))
        }
        if not hasattr(obj, name)
    ]
    if missing:
        raise TypeError(
            f"{type(obj).__name__} is not a {protocol.__name__}: it lacks {', '.join(sorted(missing))}"
        )


__all__ = ["Detector", "Recogniser", "Swapper", "Patch", "check_backend", "Embedding"]
