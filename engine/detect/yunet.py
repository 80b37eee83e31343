"""YuNet (OpenCV Zoo ``face_detection_yunet_2023mar``), decoded as OpenCV's FaceDetectorYN does.

Signature: ``input`` ``[1,3,H,W]`` (640×640 in the shipped int8 model) → 12 outputs
``cls_s``, ``obj_s`` ``[1,K,1]``, ``bbox_s`` ``[1,K,4]``, ``kps_s`` ``[1,K,10]`` for strides
s = 8, 16, 32, with K = (H/s)·(W/s) cells, one anchor each, row-major.

Per cell (col, row) at stride s: score = √(clip(cls)·clip(obj)); centre =
((col + dx)·s, (row + dy)·s); size = (e^dw·s, e^dh·s); landmark k = ((col + kx)·s,
(row + ky)·s). Input: BGR float 0–255, letterboxed (pad right and bottom).

The shipped file declares its input 640×640; the runtime declares it free
(:func:`faceright.engine.models.input_size.free_yunet_input_size`), so ``input_size`` (and
``detect(frame, input_size=…)``, used by landmark refinement) may then be any multiple of 32.
A black pixel is a 0 here, as the convolutions pad, so a free model gets the letterbox cut to
the frame's part: a 16:9 frame runs at 640×384 instead of 640×640, with the same faces.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar, Iterable

import numpy as np

from faceright.errors import ModelError

from ..types import Frame
from .base import OnnxDetector, Port, no_candidates, ports, single_image_input, stride_grid

STRIDES = (8, 16, 32)
WIDTHS = {"cls": 1, "obj": 1, "bbox": 4, "kps": 10}
_NAME = re.compile(r"^(cls|obj|bbox|kps)_(\d+)$")


def _layout(outputs: list[Port]) -> dict[tuple[str, int], Port] | None:
    found: dict[tuple[str, int], Port] = {}
    for port in outputs:
        m = _NAME.match(port.name)
        if m is None or port.dim(-1) != WIDTHS[m.group(1)]:
            return None
        found[(m.group(1), int(m.group(2)))] = port
    want = {(kind, s) for kind in WIDTHS for s in STRIDES}
    return found if set(found) == want and len(outputs) == len(want) else None


class YuNet(OnnxDetector):
    """OpenCV's YuNet: boxes, scores and 5 landmarks."""

    family: ClassVar[str] = "yunet"
    expected: ClassVar[str] = (
        "one image input [1,3,H,W] and 12 outputs cls_s, obj_s [1,K,1], bbox_s [1,K,4], kps_s [1,K,10] "
        "for strides s = 8, 16, 32 (OpenCV Zoo's face_detection_yunet_2023mar)"
    )
    default_threshold: ClassVar[float] = 0.6
    default_nms_threshold: ClassVar[float] = 0.3
    black_is_padding: ClassVar[bool] = True  # input is raw 0–255 BGR: a black pixel is a 0

    @classmethod
    def matches(cls, inputs: Iterable[Any], outputs: Iterable[Any]) -> bool:
        inputs, outputs = ports(inputs), ports(outputs)
        return single_image_input(inputs) and _layout(outputs) is not None

    def _prepare(self, canvas: Frame) -> np.ndarray:
        return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)

    def _decode(self, outputs: dict[str, np.ndarray], width: int, height: int):
        all_boxes, all_scores, all_kps = [], [], []
        for s in STRIDES:
            cls_ = outputs[f"cls_{s}"].reshape(-1)
            obj = outputs[f"obj_{s}"].reshape(-1)
            cells = (-(-width // s)) * (-(-height // s))
            if cls_.shape[0] != cells:
                raise ModelError(
                    f"{self.model_id}: cls_{s} holds {cls_.shape[0]} cells, a {width}×{height} input has {cells}"
                )
            score = np.sqrt(np.clip(cls_, 0.0, 1.0) * np.clip(obj, 0.0, 1.0))
            keep = np.flatnonzero(score >= self.threshold)
            if keep.size == 0:
                continue
            grid = stride_grid(width, height, s)[keep] / s  # (col, row)
            bbox = outputs[f"bbox_{s}"].reshape(-1, 4)[keep]
            kps = outputs[f"kps_{s}"].reshape(-1, 5, 2)[keep]
            centre = (grid + bbox[:, :2]) * s
            size = np.exp(bbox[:, 2:]) * s
            all_boxes.append(np.concatenate([centre - size / 2, centre + size / 2], axis=1))
            all_kps.append((grid[:, None, :] + kps) * s)
            all_scores.append(score[keep])
        if not all_scores:
            return no_candidates()
        return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_kps)
