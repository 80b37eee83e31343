"""SFace (OpenCV Zoo ``face_recognition_sface_2021dec``), the recogniser that ships with faceright.

Signature: input ``data`` ``[1,3,112,112]`` → output ``fc1`` ``[1,128]``; any 112×112 → 128
recogniser matches (as the model router routes every 128-d recogniser to SFace). Input: the aligned crop in
RGB, float 0–255 (no normalisation), as OpenCV's FaceRecognizerSF feeds it. The shipped int8
model has a fixed batch of 1, so faces go through one call each.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

from .base import OnnxRecogniser, recogniser_ports

SFACE_DIM = 128


class SFace(OnnxRecogniser):
    """OpenCV's SFace: RGB 0–255 in, a 128-d identity vector out."""

    family: ClassVar[str] = "sface"
    expected: ClassVar[str] = "one input [N,3,112,112] and one output [N,128] (OpenCV Zoo's SFace)"
    input_mean: ClassVar[float] = 0.0
    input_std: ClassVar[float] = 1.0

    @classmethod
    def matches(cls, inputs: Iterable[Any], outputs: Iterable[Any]) -> bool:
        found = recogniser_ports(inputs, outputs)
        if found is None:
            return False
        image, embedding = found
        return image.dim(2) == 112 and embedding.dim(1) == SFACE_DIM
