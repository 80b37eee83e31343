"""SCRFD, insightface's detector (``scrfd_*_bnkps.onnx``, ``det_10g.onnx``), decoded as insightface does.

Signature: one image input ``[1,3,H,W]`` (fixed, or dynamic: then ``input_size``, default
640×640), and per stride a score map ``[K·A,1]``, box distances ``[K·A,4]`` and, in the
``_kps`` variants, landmark offsets ``[K·A,10]`` (a leading batch axis of 1 is allowed).
Strides 8/16/32 with 2 anchors per cell (6 or 9 outputs) or 8…128 with 1 (10 or 15 outputs).

Outputs are told apart by their last axis (1, 4, 10) and, within a kind, ordered by how many
anchors they hold (stride 8 holds the most), so output names and order do not matter.

Decoding (insightface ``distance2bbox`` / ``distance2kps``): the anchor centre of cell
(row, col) at stride ``s`` is ``(col·s, row·s)``; box = centre ∓ distances·s; landmark k =
centre + offset_k·s. Input: RGB, (x − 127.5) / 128, letterboxed (pad right and bottom).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

import cv2
import numpy as np

from faceright.errors import ModelError

from ..types import Frame
from .base import OnnxDetector, Port, no_candidates, ports, single_image_input, stride_grid

KINDS = {1: "score", 4: "bbox", 10: "kps"}


def _layout(outputs: list[Port]) -> dict[str, list[Port]] | None:
    """Outputs grouped by kind (score / bbox / kps), or None when they are not SCRFD's.

    Where every last axis is known, they decide; exports that leave some symbolic are read in
    insightface's order (all scores, then all boxes, then all landmarks).
    """
    if len(outputs) not in (6, 9, 10, 15):
        return None
    for port in outputs:
        if port.rank not in (2, 3) or isinstance(port.shape[0], int) and port.rank == 3 and port.shape[0] != 1:
            return None
    lasts = [p.dim(-1) for p in outputs]
    groups: dict[str, list[Port]] = {"score": [], "bbox": [], "kps": []}
    if all(last is not None for last in lasts):
        for port, last in zip(outputs, lasts):
            if last not in KINDS:
                return None
            groups[KINDS[last]].append(port)
    else:
        levels = 3 if len(outputs) in (6, 9) else 5
        for i, port in enumerate(outputs):
            kind = ("score", "bbox", "kps")[i // levels]
            if lasts[i] is not None and KINDS.get(lasts[i]) != kind:
                return None
            groups[kind].append(port)
    levels = len(groups["score"])
    if levels not in (3, 5) or len(groups["bbox"]) != levels or len(groups["kps"]) not in (0, levels):
        return None
    return groups


class SCRFD(OnnxDetector):
    """insightface's SCRFD: boxes, scores and (``_kps`` models) 5 landmarks."""

    family: ClassVar[str] = "scrfd"
    expected: ClassVar[str] = (
        "one image input [1,3,H,W] and 6 or 9 outputs (score [N,1], bbox [N,4], kps [N,10] per stride 8/16/32; "
        "or 10 / 15 outputs for strides 8-128), as insightface's scrfd_*_bnkps.onnx"
    )
    default_threshold: ClassVar[float] = 0.5
    default_nms_threshold: ClassVar[float] = 0.4
    input_mean: ClassVar[float] = 127.5
    input_std: ClassVar[float] = 128.0

    def __init__(self, session: Any, *, model_id: str, **options: Any) -> None:
        super().__init__(session, model_id=model_id, **options)
        groups = _layout(self.outputs) or {"score": [], "bbox": [], "kps": []}  # matches() has checked it
        levels = len(groups["score"])
        self.strides = (8, 16, 32) if levels == 3 else (8, 16, 32, 64, 128)
        self.anchors = 2 if levels == 3 else 1  # per cell, as insightface's models are built
        self.has_landmarks = bool(groups["kps"])
        self._groups = {kind: [p.name for p in group] for kind, group in groups.items()}
        if not self.has_landmarks:
            # Faces need 5 points for alignment; a box-only model cannot serve the swap.
            raise ModelError(
                f"{model_id} is an SCRFD model without landmarks (6 outputs: scores and boxes only); "
                "faceright aligns faces on 5 landmarks: use a *_kps / *_bnkps model such as scrfd_10g_bnkps.onnx"
            )

    @classmethod
    def matches(cls, inputs: Iterable[Any], outputs: Iterable[Any]) -> bool:
        inputs, outputs = ports(inputs), ports(outputs)
        return single_image_input(inputs) and _layout(outputs) is not None

    def _prepare(self, canvas: Frame) -> np.ndarray:
        return cv2.dnn.blobFromImage(
            canvas, 1.0 / self.input_std, None, (self.input_mean,) * 3, swapRB=True
        )

    def _by_anchor_count(self, kind: str, outputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The outputs of one kind, stride 8 first (it holds the most anchors)."""
        width = {"score": 1, "bbox": 4, "kps": 10}[kind]
        arrays = []
        for name in self._groups[kind]:
            value = np.asarray(outputs[name])
            if value.ndim < 2 or value.shape[-1] != width:
                raise ModelError(
                    f"{self.model_id}: output {name} should hold {kind} values [N,{width}], it gave shape {value.shape}"
                )
            arrays.append(value.reshape(-1, width))
        order = sorted(range(len(arrays)), key=lambda i: -arrays[i].shape[0])  # stable: declared order on ties
        return [arrays[i] for i in order]

    def _decode(self, outputs: dict[str, np.ndarray], width: int, height: int):
        scores = self._by_anchor_count("score", outputs)
        bboxes = self._by_anchor_count("bbox", outputs)
        kpss = self._by_anchor_count("kps", outputs)
        all_boxes, all_scores, all_kps = [], [], []
        for stride, score, bbox, kps in zip(self.strides, scores, bboxes, kpss):
            anchors = (-(-width // stride)) * (-(-height // stride)) * self.anchors
            if not score.shape[0] == bbox.shape[0] == kps.shape[0] == anchors:
                raise ModelError(
                    f"{self.model_id}: stride-{stride} outputs hold {score.shape[0]} scores, {bbox.shape[0]} boxes and "
                    f"{kps.shape[0]} landmark sets; a {width}×{height} input has {anchors} anchors there"
                )
            score = score[:, 0]
            keep = np.flatnonzero(score >= self.threshold)
            if keep.size == 0:
                continue
            centres = stride_grid(width, height, stride, self.anchors)[keep]
            d = bbox[keep] * stride
            all_boxes.append(np.concatenate([centres - d[:, :2], centres + d[:, 2:]], axis=1))
            all_kps.append(centres[:, None, :] + kps[keep].reshape(-1, 5, 2) * stride)
            all_scores.append(score[keep])
        if not all_scores:
            return no_candidates()
        return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_kps)
