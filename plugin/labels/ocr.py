"""The seam through which a visible label is read from pixels: :class:`OcrBackend`.

The core only defines what an OCR backend gives (:class:`TextBox` lines of text with their
measured glyph height). The backend itself runs on the engine (onnxruntime); it is found
through the ``faceright.ocr`` entry point so that the core never imports the engine, and a
host can hand in its own backend (or one that asks the engine service).
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

import numpy as np

from faceright.errors import DependencyMissingError

#: the entry point group OCR backends register in; "paddle" is the engine's
ENTRY_POINT_GROUP = "faceright.ocr"
DEFAULT_BACKEND = "paddle"


@dataclass(frozen=True)
class TextBox:
    """One line of text found in a frame; ``box`` is (x1, y1, x2, y2) in frame pixels."""

    text: str
    score: float
    box: tuple[int, int, int, int]
    glyph_height: int          #: height of the inked rows inside the box, measured from pixels


class OcrBackend(Protocol):
    name: str

    def read(self, frame: np.ndarray) -> list[TextBox]:
        """Every text line in a BGR frame."""
        ...

    def read_region(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> list[TextBox]:
        """The text lines around ``box`` (frame coordinates), at the scale a whole-frame read uses."""
        ...


def default_backend(models_dir: Path | None = None) -> OcrBackend:
    """The OCR backend faceright uses; raises :class:`DependencyMissingError` when none can run."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == DEFAULT_BACKEND]
    if not found:
        raise DependencyMissingError(
            f"no OCR backend is registered (entry point {ENTRY_POINT_GROUP}: {DEFAULT_BACKEND}), so the visible "
            "label cannot be read from pixels; install faceright with its engine (pip install 'faceright[cpu]')"
        )
    factory = found[0].load()
    return factory(models_dir)
