"""A 10-bit (or deeper) video plate's own samples outside the swap.

The engine swaps on 8-bit BGR copies of a plate's frames (:meth:`VideoReader.to_bgr`). Encoding
that copy into a 10-bit ProRes or DNxHR output would keep the plate's format but not its
precision: 256 levels over the whole frame. For a plate deeper than 8 bits written to an encoder
that is deeper than 8 bits too, the writer therefore encodes frames built from the plate itself
(:class:`PlateRestorer` decodes it a second time, in step with the frames written):

* where the swapped copy equals the plate's copy, every sample (luma, chroma, alpha) is the
  plate's as decoded, exactly (converted once into the output's pixel format when the two
  differ, at their depth);
* inside the region the swap changed, the swapped pixels are converted as the writer converts
  8-bit frames, and what the 8-bit copy lost of the plate there (its finer steps, a clipped
  super-white) is added back as far as the face did not cover it: ``swapped + (1 − alpha) ×
  (plate − copy)`` in the plate's own samples, with the faces' blend weights ``alpha`` when the
  pipeline gives them (without them: the plate's finer steps only, up to one 8-bit step); a
  chroma sample comes from there when any pixel it covers changed.

Only the changed region's bounding box (padded, aligned to the chroma grid) is converted, so the
cost follows the face's size, not the frame's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from faceright.errors import MediaError

from .info import FrameRange, MediaInfo

__all__ = ["VideoPlate", "PlateRestorer", "applies", "changed_pixels", "depth_of", "wrap_bgr"]

#: pixels added around the changed region before its 16-bit conversion (swscale's chroma filters
#: look a few samples to each side)
_PAD = 16
#: the bounding box's corners are multiples of this (every chroma grid faceright writes divides it)
_ALIGN = 4


def wrap_bgr(bgr: np.ndarray) -> Any:
    """An ``av.VideoFrame`` over a BGR ``uint8`` array's own memory, for one conversion into the
    writer's format (the writer's and :class:`PlateRestorer`'s): no copy of the frame first
    (``from_ndarray`` copies it, ~4 ms a 1080p frame, mostly page faults). The array must outlive
    the conversion; PyAV without ``from_numpy_buffer`` copies."""
    bgr = np.ascontiguousarray(bgr)
    wrap = getattr(av.VideoFrame, "from_numpy_buffer", None)
    return wrap(bgr, format="bgr24") if wrap is not None else av.VideoFrame.from_ndarray(bgr, format="bgr24")


def depth_of(pix_fmt: str) -> int:
    """Bits per sample of a pixel format name (``yuv422p10le`` → 10, ``yuv420p`` → 8)."""
    for bits in (16, 14, 12, 10, 9):
        if f"p{bits}" in pix_fmt or pix_fmt.endswith(f"{bits}le") or pix_fmt.endswith(f"{bits}be"):
            return bits
    return 8


def applies(plate: MediaInfo, pix_fmt: str) -> bool:
    """Whether a video ``plate`` written as ``pix_fmt`` should keep its own samples (both > 8 bits)."""
    return plate.kind == "video" and plate.bit_depth > 8 and depth_of(pix_fmt) > 8


@dataclass(frozen=True)
class VideoPlate:
    """The plate frames an output's frames are swapped from, in order."""

    info: MediaInfo
    frames: FrameRange
    accurate_color: bool = True   #: as the reader that gave the swap its frames converted them


class PlateRestorer:
    """Builds each output frame from the plate's next frame and the swapped 8-bit copy of it."""

    def __init__(self, plate: VideoPlate, pix_fmt: str, *, colorspace: Any, color_range: Any,
                 interpolation: Any, threads: int = 0):
        from .video import VideoReader

        self.pix_fmt = pix_fmt
        self._colorspace = colorspace
        self._range = color_range
        self._interpolation = interpolation
        self._reader = VideoReader(plate.info.path, plate.frames, info=plate.info, threads=threads,
                                   accurate_color=plate.accurate_color)
        self._frames = self._reader.decoded()
        self.changed = 0      #: pixels taken from the swap so far
        probe = av.VideoFrame(16, 16, pix_fmt)
        self._depth = max(c.bits for c in probe.format.components)
        self._alpha = len(probe.format.components) == 4
        self._finest = 1 << (self._depth - 8)      #: the plate's steps in one 8-bit level

    def frame(self, swapped: np.ndarray, alpha: np.ndarray | None = None) -> Any:
        """The ``av.VideoFrame`` (in the writer's pixel format) to encode for the next plate frame.
        ``alpha`` (H×W, 0–1): how much of each pixel the pasted faces replaced, when known."""
        try:
            index, native = next(self._frames)
        except StopIteration:
            raise MediaError(f"{self._reader.path}: more frames were written than the plate's "
                             f"{self._reader.range.to_cli()} holds") from None
        copy = self._reader.to_bgr(native)
        if copy.shape != swapped.shape:
            raise ValueError(f"{self._reader.path} frame {index}: the swapped frame is {swapped.shape}, "
                             f"the plate's {copy.shape}")
        base = native if native.format.name == self.pix_fmt else native.reformat(
            format=self.pix_fmt, dst_colorspace=self._colorspace, dst_color_range=self._range,
            interpolation=self._interpolation)
        out = _copy_frame(base)
        moved = changed_pixels(swapped, copy)
        if moved.any():
            self.changed += int(np.count_nonzero(moved))
            self._paste(out, moved, swapped, copy, alpha)
        return out

    def _paste(self, out: Any, moved: np.ndarray, swapped: np.ndarray, copy: np.ndarray,
               alpha: np.ndarray | None) -> None:
        height, width = moved.shape
        rows, cols = np.flatnonzero(moved.any(axis=1)), np.flatnonzero(moved.any(axis=0))
        y0, x0 = (max(0, int(v) - _PAD) // _ALIGN * _ALIGN for v in (rows[0], cols[0]))
        y1, x1 = (min(limit, -(-(int(v) + 1 + _PAD) // _ALIGN) * _ALIGN)
                  for v, limit in ((rows[-1], height), (cols[-1], width)))
        swapped_yuv = _planes(self._encode(swapped[y0:y1, x0:x1]))
        copy_yuv = _planes(self._encode(copy[y0:y1, x0:x1]))
        region = moved[y0:y1, x0:x1]
        weight = None
        if alpha is not None:
            weight = np.array(alpha[y0:y1, x0:x1], dtype=np.float32)
            weight[region & (weight <= 0.0)] = 1.0    # changed, but not by a face (a burned-in label): the swap's
        top = (1 << self._depth) - 1
        for number, target in enumerate(_planes(out)):
            if self._alpha and number == 3:
                continue                      # alpha stays the plate's
            fy, fx = max(1, round(height / target.shape[0])), max(1, round(width / target.shape[1]))
            now, was = swapped_yuv[number].astype(np.int32), copy_yuv[number].astype(np.int32)
            window = target[y0 // fy:y0 // fy + now.shape[0], x0 // fx:x0 // fx + now.shape[1]]
            # what the 8-bit copy lost of the plate here (its finer steps, a clipped highlight), kept as
            # far as the face did not cover it: swapped + (1 - alpha)(plate - copy) is the blend in the
            # plate's own samples; without the weights, more than quantisation is the swap's to replace
            finer = window.astype(np.int32) - was
            if weight is None:
                finer[np.abs(finer) > self._finest] = 0
            else:
                keep = 1.0 - _block_mean(weight, fy, fx)[:now.shape[0], :now.shape[1]]
                finer = np.rint(finer * keep).astype(np.int32)
            mask = _block_any(region, fy, fx)[:now.shape[0], :now.shape[1]]
            window[mask] = np.clip(now + finer, 0, top)[mask]

    def _encode(self, bgr: np.ndarray) -> Any:
        """An 8-bit BGR crop converted as the writer converts the swap's frames."""
        return wrap_bgr(bgr).reformat(
            format=self.pix_fmt, dst_colorspace=self._colorspace, dst_color_range=self._range,
            interpolation=self._interpolation)

    def close(self) -> None:
        self._frames.close()


def changed_pixels(swapped: np.ndarray, copy: np.ndarray) -> np.ndarray:
    """H×W: where any channel of ``swapped`` differs from ``copy`` (rows compared first: a face
    changes a band of the frame, and ``.any(axis=2)`` over a whole 1080p frame costs ~30 ms)."""
    height = swapped.shape[0]
    rows = np.flatnonzero((swapped.reshape(height, -1) != copy.reshape(height, -1)).any(axis=1))
    mask = np.zeros(swapped.shape[:2], dtype=bool)
    if rows.size:
        first, end = int(rows[0]), int(rows[-1]) + 1
        differs = swapped[first:end] != copy[first:end]
        mask[first:end] = differs[:, :, 0] | differs[:, :, 1] | differs[:, :, 2]
    return mask


def _dtype(frame: Any) -> type:
    return np.uint16 if max(c.bits for c in frame.format.components) > 8 else np.uint8


def _planes(frame: Any) -> list[np.ndarray]:
    """Writable ``height × width`` views of a planar frame's planes."""
    dtype = _dtype(frame)
    size = np.dtype(dtype).itemsize
    return [np.frombuffer(memoryview(plane), dtype=dtype).reshape(plane.height, plane.line_size // size)
            [:, :plane.width] for plane in frame.planes]


def _copy_frame(frame: Any) -> Any:
    out = av.VideoFrame(frame.width, frame.height, frame.format.name)
    for target, source in zip(_planes(out), _planes(frame)):
        target[...] = source
    out.colorspace, out.color_range = frame.colorspace, frame.color_range
    return out


def _block_mean(weights: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """``weights`` averaged over a chroma grid's blocks (edge blocks over the pixels they have)."""
    if fy == fx == 1:
        return weights
    h, w = weights.shape
    padded = np.zeros((-(-h // fy) * fy, -(-w // fx) * fx), dtype=np.float32)
    counts = np.zeros_like(padded)
    padded[:h, :w], counts[:h, :w] = weights, 1.0
    shape = (padded.shape[0] // fy, fy, padded.shape[1] // fx, fx)
    return padded.reshape(shape).sum(axis=(1, 3)) / counts.reshape(shape).sum(axis=(1, 3))


def _block_any(mask: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """``mask`` reduced to a chroma grid: a sample is set when any pixel it covers is."""
    if fy == fx == 1:
        return mask
    h, w = mask.shape
    padded = np.zeros((-(-h // fy) * fy, -(-w // fx) * fx), dtype=bool)
    padded[:h, :w] = mask
    return padded.reshape(padded.shape[0] // fy, fy, padded.shape[1] // fx, fx).any(axis=(1, 3))
