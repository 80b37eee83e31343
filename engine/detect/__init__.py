"""Face detectors: SCRFD, RetinaFace and YuNet, one class per family, all behind one interface.

Each class takes an onnxruntime session (``Class(session, *, model_id, threshold=…,
nms_threshold=…, input_size=…)``), says whether a signature is its own with
``Class.matches(inputs, outputs)``, and finds faces with ``detect(frame) -> list[Face]``.
:data:`DETECTORS` maps a family name to its class, for the model router.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .base import OnnxDetector, Port, letterbox, ports
from .nms import iou, nms
from .retinaface import RetinaFace
from .scrfd import SCRFD
from .yunet import YuNet

#: family name → detector class
DETECTORS: Mapping[str, type[OnnxDetector]] = MappingProxyType({"scrfd": SCRFD, "retinaface": RetinaFace, "yunet": YuNet})

__all__ = [
    "DETECTORS", "OnnxDetector", "Port", "RetinaFace", "SCRFD", "YuNet", "iou", "letterbox", "nms", "ports",
]
