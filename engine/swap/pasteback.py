"""Paste-back: blend replaced faces into a frame, touching only each face's region.

Each :class:`~faceright.engine.types.Patch` holds a crop in aligned space, the matrix that
took the frame to that space, and a feathered mask. For each patch, paste-back

1. finds the region of interest (ROI): the frame box that the mask's non-zero part covers
   once mapped back (clipped to the frame, so faces over the edge work);
2. warps the crop and the mask **into that ROI only** (the matrix's translation is moved to
   the ROI's corner), never over the whole frame;
3. blends there, and writes back only the pixels whose warped mask weight is above 0.

So every pixel outside the blend mask is bit-identical to the input frame — by construction,
not by rounding luck. The input frame is never modified; a copy is returned.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from ..types import Frame, Mask, Matrix, Patch
from .masks import mask_bounds

log = logging.getLogger(__name__)

__all__ = ["Coverage", "WarpedPatch", "coverage_map", "mask_roi", "paste_back", "paste_into", "patch_roi", "warp_patch"]

Roi = tuple[int, int, int, int]  #: (x0, y0, x1, y1) in frame pixels, exclusive ends


def patch_roi(patch: Patch, frame_shape: tuple[int, ...]) -> Roi | None:
    """The frame box a patch can change (its mask's support mapped back, clipped), or None if it misses the frame."""
    return mask_roi(patch.mask, patch.matrix, frame_shape)


def mask_roi(mask: Mask, matrix: Matrix, frame_shape: tuple[int, ...]) -> Roi | None:
    """The frame box that ``mask`` (in crop space, ``matrix``: frame → crop) can weigh, clipped to the
    frame, or None if it misses the frame."""
    bounds = mask_bounds(mask)
    if bounds is None:
        return None
    bx0, by0, bx1, by1 = bounds
    # bilinear sampling reads a crop pixel from any coordinate less than one pixel away
    corners = np.array([[bx0 - 1, by0 - 1], [bx1, by0 - 1], [bx0 - 1, by1], [bx1, by1]], dtype=np.float64)
    inverse = cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    height, width = frame_shape[:2]
    x0 = max(0, math.floor(mapped[:, 0].min()))
    y0 = max(0, math.floor(mapped[:, 1].min()))
    x1 = min(width, math.ceil(mapped[:, 0].max()) + 1)
    y1 = min(height, math.ceil(mapped[:, 1].max()) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _roi_matrix(matrix: Matrix, x0: int, y0: int) -> Matrix:
    """frame→crop matrix for ROI pixels: crop = A·(roi + (x0, y0)) + t."""
    m = np.array(matrix, dtype=np.float64, copy=True)
    m[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)
    return m


def _check(patch: Patch) -> None:
    crop, mask = patch.crop, patch.mask
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
        raise ValueError(f"a patch crop must be H×W×3 uint8 BGR, got {crop.shape} {crop.dtype}")
    if mask.shape != crop.shape[:2]:
        raise ValueError(f"a patch mask must have its crop's size {crop.shape[:2]}, got {mask.shape}")
    if np.shape(patch.matrix) != (2, 3):
        raise ValueError(f"a patch matrix must be 2×3, got {np.shape(patch.matrix)}")


@dataclass(frozen=True, eq=False)
class WarpedPatch:
    """A patch mapped into frame space, over its ROI only: the face pixels and their blend weights."""

    roi: Roi
    face: Frame    #: (y1 - y0)×(x1 - x0)×3 uint8
    alpha: Mask    #: (y1 - y0)×(x1 - x0) float32 in [0, 1]; 0 where the frame must stay as it is


def warp_patch(patch: Patch, frame_shape: tuple[int, ...]) -> WarpedPatch | None:
    """The patch's crop and mask warped into its ROI of a frame of ``frame_shape`` (None: off-frame)."""
    _check(patch)
    roi = patch_roi(patch, frame_shape)
    if roi is None:
        return None
    x0, y0, x1, y1 = roi
    size = (x1 - x0, y1 - y0)
    matrix = _roi_matrix(patch.matrix, x0, y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    face = cv2.warpAffine(patch.crop, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(np.asarray(patch.mask, dtype=np.float32), matrix, size, flags=flags,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return WarpedPatch(roi=roi, face=face, alpha=alpha)


#: where paste-back blended, patch by patch: each ROI and its warped mask weights (what a writer
#: that keeps a deep plate's own pixels blends with, :func:`coverage_map`)
Coverage = list[tuple[Roi, Mask]]


def coverage_map(coverage: Coverage, shape: tuple[int, ...]) -> Mask | None:
    """H×W float32: how much of each pixel the pasted faces replaced (the largest weight), or None.
    In steps of 1/255, so that a farm chunk's 8-bit alpha channel holds it exactly."""
    if not coverage:
        return None
    alpha = np.zeros(shape[:2], dtype=np.float32)
    for (x0, y0, x1, y1), weights in coverage:
        view = alpha[y0:y1, x0:x1]
        np.maximum(view, weights, out=view)
    alpha = np.rint(alpha * 255.0) / np.float32(255.0)
    return alpha if alpha.any() else None


def paste_into(canvas: Frame, patch: Patch, coverage: Coverage | None = None) -> Roi | None:
    """Blend one patch into ``canvas`` **in place**; return the ROI it may have changed (None: off-frame).
    With ``coverage``, the ROI and its blend weights are appended to it."""
    warped = warp_patch(patch, canvas.shape)
    if warped is None:
        log.debug("patch lies outside the %dx%d frame; nothing pasted", canvas.shape[1], canvas.shape[0])
        return None
    x0, y0, x1, y1 = warped.roi
    target = canvas[y0:y1, x0:x1]
    alpha = warped.alpha
    blended = cv2.blendLinear(warped.face, target, alpha, 1.0 - alpha)
    touched = cv2.compare(alpha, 0.0, cv2.CMP_GT)  # 255 where the mask weighs anything, else 0
    written = cv2.copyTo(blended, touched, target)  # writes into the canvas view in place
    if written is not target:  # an OpenCV build that copied the view instead: write it back
        target[...] = written
    if coverage is not None:
        coverage.append((warped.roi, alpha))
    return warped.roi


def paste_back(frame: Frame, patches: Sequence[Patch], coverage: Coverage | None = None, *,
               in_place: bool = False) -> Frame:
    """A copy of ``frame`` with every patch blended in, in order (later patches over earlier ones).

    Only each patch's region is warped and blended; every pixel where no warped mask weighs
    more than 0 is bit-identical to ``frame``, which itself is never modified, unless ``in_place``
    says it is the caller's to change (a reader's fresh frame): then a writable C-contiguous
    ``uint8`` frame is blended into and returned, which saves a whole-frame copy (at 1080p its
    page faults cost more than the blend).
    """
    if in_place and frame.dtype == np.uint8 and frame.flags.c_contiguous and frame.flags.writeable:
        canvas = frame
    else:
        canvas = np.array(frame, dtype=np.uint8, copy=True, order="C")
    for patch in patches:
        paste_into(canvas, patch, coverage)
    return canvas
