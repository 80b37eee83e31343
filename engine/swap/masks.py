"""Feathered blend masks in aligned-crop space, made once per crop size.

A mask is drawn in the coordinates of the 112-pixel ArcFace template (see
:mod:`faceright.engine.align`) and scaled to the crop, so the same numbers describe the face
region at every crop size. Masks are pure functions of their arguments and cached with
:func:`functools.lru_cache`; the arrays handed out are read-only, so no caller can change
what the next one gets.

Two shapes:

- :func:`inner_face_mask` — the inner face, brows to chin and cheek to cheek: an ellipse that
  leaves out the hair, the ears and the background. The classic swapper pastes only this,
  since its donor pixels come from another photo.
- :func:`box_mask` — the whole crop with a feathered margin; a swap model such as inswapper
  re-renders the whole crop, so more of it can go back.

Both are exactly 0 on the crop's border (an edge taper sees to it even when the feather would
reach past it), so paste-back never draws a crop's edge.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ..align import ARCFACE_TEMPLATE, template_for
from ..types import Mask

__all__ = ["FaceEllipse", "INNER_FACE", "inner_face_mask", "box_mask", "mask_bounds"]

#: weights below this are set to exactly 0: they change an 8-bit pixel by one level at most
ZERO_BELOW = 1.0 / 255.0


@dataclass(frozen=True)
class FaceEllipse:
    """The inner-face region as an ellipse in 112-template units.

    In those units the eyes sit at y ≈ 51.6 (x ≈ 38 and 74), the nose tip at (56, 71.7) and the
    mouth corners at y ≈ 92.3. The ellipse is the mask's half-weight line; ``feather`` is the
    Gaussian sigma, also in template units, and the weight reaches 0 about three sigmas
    outside the ellipse.
    """

    centre_x: float = 56.0
    centre_y: float = 74.0
    half_width: float = 36.0    #: cheek to cheek
    half_height: float = 42.0   #: brows to chin
    feather: float = 6.0


#: the default inner-face region: keeps the donor's hair, ears and background out
INNER_FACE = FaceEllipse()


def _scale_and_shift(size: int) -> tuple[float, float]:
    """How the 112 template maps onto a crop of ``size``: x' = x·scale + shift, y' = y·scale."""
    template = template_for(size)
    scale = float((template[1, 0] - template[0, 0]) / (ARCFACE_TEMPLATE[1, 0] - ARCFACE_TEMPLATE[0, 0]))
    shift = float(template[0, 0] - ARCFACE_TEMPLATE[0, 0] * scale)
    return scale, shift


def _edge_taper(size: int) -> np.ndarray:
    """1 inside, falling linearly to 0 over the outer 3 % of the crop: a mask is 0 on its border."""
    ramp = max(2.0, 0.03 * size)
    distance = np.minimum(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32)[::-1])
    line = np.clip(distance / ramp, 0.0, 1.0)
    return np.minimum.outer(line, line)


def _frozen(mask: np.ndarray) -> Mask:
    size = mask.shape[0]
    mask = np.clip(np.ascontiguousarray(mask, dtype=np.float32) * _edge_taper(size), 0.0, 1.0)
    mask[mask < ZERO_BELOW] = 0.0
    mask.setflags(write=False)
    return mask


@functools.lru_cache(maxsize=32)
def inner_face_mask(size: int, shape: FaceEllipse = INNER_FACE) -> Mask:
    """The feathered inner-face mask for a ``size``² aligned crop (read-only, cached)."""
    scale, shift = _scale_and_shift(size)
    sigma = max(shape.feather * scale, 0.5)
    centre = (shape.centre_x * scale + shift, shape.centre_y * scale)
    axes = (shape.half_width * scale, shape.half_height * scale)
    hard = np.zeros((size, size), np.float32)
    # 4× sub-pixel precision (shift=2), so small crops keep a smooth outline
    cv2.ellipse(
        hard,
        (int(round(centre[0] * 4)), int(round(centre[1] * 4))),
        (int(round(axes[0] * 4)), int(round(axes[1] * 4))),
        0, 0, 360, 1.0, thickness=-1, lineType=cv2.LINE_AA, shift=2,
    )
    soft = cv2.GaussianBlur(hard, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_CONSTANT)
    return _frozen(soft)


@functools.lru_cache(maxsize=32)
def box_mask(size: int, margin: float = 0.05, feather: float = 0.04) -> Mask:
    """The whole crop less a ``margin`` (fraction of ``size``) on each side, feathered (read-only, cached).

    ``feather`` is the Gaussian sigma as a fraction of ``size``; the box is shrunk by three
    sigmas so that the weight has fallen to 0 where the margin begins.
    """
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    sigma = max(feather * size, 0.5)
    inset = int(round(margin * size + 3.0 * sigma))
    hard = np.zeros((size, size), np.float32)
    if inset * 2 < size:
        hard[inset:size - inset, inset:size - inset] = 1.0
    soft = cv2.GaussianBlur(hard, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_CONSTANT)
    return _frozen(soft)


def mask_bounds(mask: Mask) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` of the mask's non-zero weights (exclusive ends), or None if it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
