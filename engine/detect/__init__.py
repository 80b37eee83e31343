"""Face detectors: SCRFD, RetinaFace and YuNet, one class per family, all behind one interface.

Each class takes an onnxruntime session (``Class(session, *, model_id, threshold=…,
nms_threshold=…, input_size=…)``), says whether a signature is its own with
``Class.matches(inputs, outputs)``, and finds faces with ``detect(frame) -> list[Face]``.
:data:`DETECTORS` maps a family name to its class, for the model router.
:class:`LandmarkRefiner` refines any of them on windows at the frame's own resolution.
"""
from __future__ import annotations


from .base import OnnxDetector, Port, letterbox, ports
from .nms import iou, nms
from .refine import LandmarkRefiner
from .retinaface import RetinaFace
from .scrfd import SCRFD
from .yunet import YuNet

#: family name → detector class (the router looks classes up here; never mutated)
DETECTORS: dict[str, type[OnnxDetector]] = {"scrfd": SCRFD, "retinaface": RetinaFace, "yunet": YuNet}

__all__ = [
    "DETECTORS", "LandmarkRefiner", "OnnxDetector", "Port", "RetinaFace", "SCRFD", "YuNet", "iou", "letterbox", "nms",
    "ports",
]
