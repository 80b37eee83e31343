"""Colour matching in CIE L*a*b*: move one face's colour statistics onto another's.

Reinhard-style transfer: inside a region, each L*a*b* channel of the source is shifted and
scaled so its mean and standard deviation become the reference's. The classic swapper uses it
to give the donor's face the plate's light and skin tone before blending, so the seam
disappears and only the features change. Works on OpenCV's 8-bit L*a*b* (L scaled to 0–255,
a* and b* offset by 128): the statistics are linear in it, and the conversion is fast.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..types import Frame, Mask

__all__ = ["LabStats", "lab_stats", "apply_lab_transfer", "lab_transfer", "region", "warm_lab_tables"]

#: a channel scale is clamped to this range, so a flat region cannot blow up the other's noise
SCALE_RANGE = (0.5, 2.0)


@dataclass(frozen=True)
class LabStats:
    """Per-channel mean and standard deviation of an 8-bit L*a*b* region."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def warm_lab_tables() -> None:
    """Have OpenCV build its 8-bit L*a*b* tables now (~35 ms, once per process; the GIL is released
    meanwhile): called where a swapper is made, which a job does on its loading thread
    (engine/jobs/swap.py), so that the first donor's conversion does not pay for them."""
    pixel = np.zeros((1, 1, 3), np.uint8)
    cv2.cvtColor(cv2.cvtColor(pixel, cv2.COLOR_BGR2LAB), cv2.COLOR_LAB2BGR)


def region(mask: Mask, threshold: float = 0.5) -> np.ndarray:
    """The 8-bit region (0 / 255) where a feathered mask weighs at least ``threshold``."""
    return np.where(np.asarray(mask) >= threshold, 255, 0).astype(np.uint8)


def lab_stats(lab: np.ndarray, where: np.ndarray) -> LabStats:
    """Statistics of an 8-bit L*a*b* image inside ``where`` (an 8-bit region, see :func:`region`)."""
    mean, std = cv2.meanStdDev(lab, mask=where)
    return LabStats(tuple(float(v) for v in mean.ravel()), tuple(float(v) for v in std.ravel()))


def apply_lab_transfer(source_lab: np.ndarray, source: LabStats, reference: LabStats) -> Frame:
    """The BGR image whose L*a*b* statistics are ``reference``'s where ``source_lab``'s were ``source``'s."""
    matrix = np.zeros((3, 4), np.float64)
    for c in range(3):
        scale = reference.std[c] / max(source.std[c], 1e-3)
        scale = float(np.clip(scale, *SCALE_RANGE))
        matrix[c, c] = scale
        matrix[c, 3] = reference.mean[c] - scale * source.mean[c]
    moved = cv2.transform(source_lab, matrix)  # uint8 in, uint8 out: rounds and saturates
    return cv2.cvtColor(moved, cv2.COLOR_LAB2BGR)


def lab_transfer(source: Frame, reference: Frame, mask: Mask, threshold: float = 0.5) -> Frame:
    """``source`` (BGR) recoloured so that, inside ``mask``, it has ``reference``'s L*a*b* statistics.

    Both images have the mask's size (aligned crops of two faces); the statistics are taken
    where the mask weighs at least ``threshold``, the transfer applies to the whole image.
    """
    if source.shape != reference.shape or source.shape[:2] != np.shape(mask):
        raise ValueError(
            f"source {source.shape}, reference {reference.shape} and mask {np.shape(mask)} must have one size"
        )
    where = region(mask, threshold)
    if not where.any():
        raise ValueError("the mask weighs less than the threshold everywhere: no region to match colours in")
    source_lab = cv2.cvtColor(source, cv2.COLOR_BGR2LAB)
    reference_lab = cv2.cvtColor(reference, cv2.COLOR_BGR2LAB)
    return apply_lab_transfer(source_lab, lab_stats(source_lab, where), lab_stats(reference_lab, where))
