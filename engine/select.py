"""Which faces of a frame to replace, followed across frames.

A rule picks the target(s) on the frames where it can decide: ``reference`` (the face most
like a reference identity, above a similarity threshold), ``largest`` or ``all``. A
:class:`TargetTracker` then follows the chosen face from frame to frame by box overlap, so a
face that turns briefly away from the reference identity (a profile, motion blur) stays
selected, and a frame with no matching face passes through untouched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from .detect.nms import iou as _iou_many
from .types import Box, Embedding, Face, cosine

SelectRule = Literal["reference", "largest", "all"]
SELECT_RULES: tuple[SelectRule, ...] = ("reference", "largest", "all")


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes (NMS's :func:`~.detect.nms.iou`, for one pair)."""
    return float(_iou_many(a, np.asarray(b))[0])


@dataclass(frozen=True)
class Selection:
    """How targets are chosen. ``reference`` needs ``reference_embedding``."""

    rule: SelectRule = "largest"
    reference_embedding: Embedding | None = None
    threshold: float = 0.35        #: minimum similarity to the reference identity
    track_iou: float = 0.3         #: minimum box overlap to keep following a face
    max_gap: int = 12              #: frames a track survives with no face before it is dropped

    def __post_init__(self) -> None:
        if self.rule not in SELECT_RULES:
            raise ValueError(f"selection rule must be one of {SELECT_RULES}, got {self.rule!r}")
        if self.rule == "reference" and self.reference_embedding is None:
            raise ValueError("the 'reference' rule needs a reference embedding (a target reference image)")

    @property
    def needs_embeddings(self) -> bool:
        return self.rule == "reference"


class TargetTracker:
    """Stateful per clip: call :meth:`select` once per frame, in order."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self._last_box: Box | None = None
        self._gap = 0

    def select(self, faces: Sequence[Face]) -> list[Face]:
        rule = self.selection.rule
        if rule == "all":
            return list(faces)
        chosen = self._decide(faces)
        if chosen is None:
            chosen = self._follow(faces)
        if chosen is None:
            self._gap += 1
            if self._gap > self.selection.max_gap:
                self._last_box = None
            return []
        self._last_box = chosen.box
        self._gap = 0
        return [chosen]

    def _decide(self, faces: Sequence[Face]) -> Face | None:
        """The rule's own pick on this frame, or None when the rule cannot decide."""
        if not faces:
            return None
        if self.selection.rule == "largest":
            return max(faces, key=lambda f: f.area)
        reference = self.selection.reference_embedding
        scored = [(cosine(f.embedding, reference), f) for f in faces if f.embedding is not None]
        if not scored:
            return None
        score, best = max(scored, key=lambda pair: pair[0])
        return best if score >= self.selection.threshold else None

    def _follow(self, faces: Sequence[Face]) -> Face | None:
        """The face that continues the current track, when the rule did not pick one."""
        if self._last_box is None or not faces:
            return None
        overlaps = [(iou(f.box, self._last_box), f) for f in faces]
        score, best = max(overlaps, key=lambda pair: pair[0])
        return best if score >= self.selection.track_iou else None


__all__ = ["Selection", "SelectRule", "SELECT_RULES", "TargetTracker", "iou"]
