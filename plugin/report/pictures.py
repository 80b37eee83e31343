"""Pictures for the publish report, made from the frames and faces the publish already holds.

The report inlines every picture as PNG bytes, so each must be small (a thumbnail, not a plate)
and display-ready (8-bit, whatever the plate's depth). :func:`picture` scales a whole image;
:func:`face_crop` cuts a face out with some context around it first, as an artist judges a
swap by the face *and* how it sits in the frame.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from faceright.images import to_uint8

from .model import Picture

__all__ = ["picture", "face_crop", "crop_bounds"]


def picture(image: np.ndarray, caption: str, *, max_side: int = 256) -> Picture:
    """``image`` (BGR, grey or BGRA; uint8, uint16 or linear float) as a PNG :class:`Picture` whose
    longer side is at most ``max_side`` pixels (never enlarged; the aspect ratio is kept)."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1 pixel, got {max_side}")
    bgr = _display_bgr(image)
    height, width = bgr.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    # the strongest zlib level: thumbnails are tiny to encode, and every byte is inlined in the page
    ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {width}x{height} picture as PNG")
    return Picture(png=encoded.tobytes(), caption=caption)


def face_crop(image: np.ndarray, box: Sequence[float], caption: str, *, margin: float = 0.35,
              max_side: int = 256) -> Picture:
    """The face in ``box`` = (x0, y0, x1, y1) (pixels, floats), each side widened by ``margin`` times
    the box's width (left, right) or height (top, bottom) and clipped to ``image``, as a
    :func:`picture` of at most ``max_side`` pixels."""
    x0, y0, x1, y1 = crop_bounds(image.shape, box, margin=margin)
    return picture(image[y0:y1, x0:x1], caption, max_side=max_side)


def crop_bounds(shape: Sequence[int], box: Sequence[float], *, margin: float = 0.35) -> tuple[int, int, int, int]:
    """The whole-pixel region (x0, y0, x1, y1; ends exclusive) :func:`face_crop` cuts from an image
    of ``shape`` (height, width, ...): the box widened by ``margin``, rounded outwards, clipped."""
    if len(box) != 4:
        raise ValueError(f"a face box is (x0, y0, x1, y1), got {len(box)} numbers: {tuple(box)}")
    bx0, by0, bx1, by1 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (bx0, by0, bx1, by1)):
        raise ValueError(f"the face box {tuple(box)} has a value that is not a finite number")
    if bx1 <= bx0 or by1 <= by0:
        raise ValueError(f"the face box {tuple(box)} is empty: x1 must exceed x0 and y1 must exceed y0")
    if margin < 0 or not math.isfinite(margin):
        raise ValueError(f"margin must be a finite number of at least 0, got {margin}")
    height, width = int(shape[0]), int(shape[1])
    dx, dy = (bx1 - bx0) * margin, (by1 - by0) * margin
    x0 = max(0, math.floor(bx0 - dx))
    y0 = max(0, math.floor(by0 - dy))
    x1 = min(width, math.ceil(bx1 + dx))
    y1 = min(height, math.ceil(by1 + dy))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the face box {tuple(box)} lies outside the {width}x{height} image")
    return x0, y0, x1, y1


def _display_bgr(image: np.ndarray) -> np.ndarray:
    """Three 8-bit channels, as a browser shows a PNG: grey repeated, alpha dropped, depth reduced."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif not (image.ndim == 3 and image.shape[2] in (3, 4)):
        raise ValueError(f"a picture needs a grey, BGR or BGRA image, got an array of shape {image.shape}")
    image = image[:, :, :3]
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"a picture needs at least one pixel, got an image of shape {image.shape}")
    if np.issubdtype(image.dtype, np.floating):
        image = np.nan_to_num(image, nan=0.0, posinf=1.0, neginf=0.0)
    return np.ascontiguousarray(to_uint8(image))
