"""A high-precision plate's own pixels outside the swap: EXR (half/float), 16-bit PNG and TIFF, and
10/12/16-bit DPX frames.

The engine swaps on a display-referred 8-bit copy of each frame (:func:`faceright.images.to_uint8`
of the plate's BGR). Writing that copy back would quantise the whole frame to 256 levels and clip
an EXR's highlights to 1.0. Instead, :func:`restore` starts from the plate file itself (every
channel, in its own type, header, windows and compression) and changes only the pixels the
swapped copy changed:

* a channel the swap left at the copy's value keeps the plate's value exactly (above 1.0 too);
* a changed channel whose plate value is within the copy's range gets the swap's change added to
  the plate's exact display-referred value (EXR: ``decode(encode(plate) + (swapped - copy)/255)``;
  16-bit: ``plate + 257 (swapped - copy)``), so the plate's detail finer than 8 bits stays under
  a soft blend edge;
* a changed channel whose plate value the copy clipped (an EXR highlight above 1.0 or a negative
  value under the face) is blended in linear light, ``swapped + (1 − alpha)(plate − copy)``, with
  the faces' blend weights ``alpha`` from the pipeline: a highlight under the face's soft edge
  keeps what the face does not cover (without the weights it takes the swap's value);
* channels other than R, G, B (alpha, depth, ...) are the plate's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceright.images import bgr_of, read_oiio_native, srgb_decode, srgb_encode, to_uint8

from .video_fidelity import changed_pixels

#: plate suffixes restore applies to (EXR always; the others when deeper than 8 bits)
SUFFIXES = (".exr", ".png", ".tif", ".tiff", ".dpx")


@dataclass(frozen=True)
class NativeFrame:
    """A frame to write as the plate was: every channel in the file's order and its spec."""

    pixels: np.ndarray       #: H×W×C, float32 (EXR) or uint16 (a 10-bit DPX as OpenImageIO widens it)
    spec: Any                #: the plate's OpenImageIO ``ImageSpec`` (a copy)
    changed: int             #: pixels the swap changed


def applies(plate: Path, bit_depth: int) -> bool:
    """Whether ``plate``'s frames carry more than the engine's 8 bits (EXR, 16-bit PNG or TIFF,
    10/12/16-bit DPX)."""
    suffix = plate.suffix.lower()
    return suffix == ".exr" or (suffix in SUFFIXES and bit_depth > 8)


def restore(plate_file: Path, swapped: np.ndarray, alpha: np.ndarray | None = None) -> NativeFrame:
    """The plate frame ``plate_file`` with the changes the 8-bit BGR ``swapped`` made to its copy;
    ``alpha`` (H×W, 0–1): how much of each pixel the faces replaced, when the pipeline knows."""
    pixels, spec = read_oiio_native(plate_file)
    names = [n.upper() for n in spec.channelnames]
    plate_bgr = bgr_of(pixels, list(spec.channelnames), plate_file)
    copy = to_uint8(plate_bgr)                       # what the engine was given for this frame
    if copy.shape != swapped.shape:
        raise ValueError(f"{plate_file}: the swapped frame is {swapped.shape}, the plate's copy {copy.shape}")
    moved = swapped != copy
    out = pixels.copy()
    anywhere = changed_pixels(swapped, copy)
    changed = int(np.count_nonzero(anywhere))
    weight = None
    if alpha is not None and changed:
        weight = np.array(alpha, dtype=np.float32)
        weight[anywhere & (weight <= 0.0)] = 1.0     # changed, but not by a face (a burned-in label): the swap's
    if changed and all(c in names for c in "RGB"):
        for plane, channel in enumerate("BGR"):
            index = names.index(channel)
            where = moved[:, :, plane]
            if not where.any():
                continue
            value = plate_bgr[:, :, plane][where]
            out[:, :, index][where] = _changed(value, copy[:, :, plane][where], swapped[:, :, plane][where],
                                               None if weight is None else weight[where])
    elif changed:     # one channel shown as grey: the swap's luma goes into it
        where = changed_pixels(swapped, copy)
        grey = np.rint(swapped.astype(np.float32).mean(axis=2)).astype(np.uint8)
        first = copy[:, :, 0]
        out[:, :, 0][where] = _changed(pixels[:, :, 0][where], first[where], grey[where],
                                       None if weight is None else weight[where])
    return NativeFrame(out, spec, changed)


def _changed(plate: np.ndarray, copy: np.ndarray, swapped: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    if plate.dtype == np.uint16:
        moved = plate.astype(np.int32) + (swapped.astype(np.int32) - copy.astype(np.int32)) * 257
        return np.clip(moved, 0, 65535).astype(np.uint16)
    # the change in display-referred terms, added to the plate's exact display value, then back to linear
    step = (swapped.astype(np.float32) - copy.astype(np.float32)) / 255.0
    moved = srgb_decode(np.clip(srgb_encode(plate) + step, 0.0, 1.0))
    inside = (plate >= 0.0) & (plate <= 1.0)
    face = srgb_decode(swapped.astype(np.float32) / 255.0)
    if weight is not None:
        # a value the copy clipped, blended in the plate's linear light: what the copy lost of it
        # stays as far as the face did not cover the pixel (a highlight under a soft edge)
        face = face + (1.0 - weight) * (plate - srgb_decode(copy.astype(np.float32) / 255.0))
    return np.where(inside, moved, face).astype(np.float32)
