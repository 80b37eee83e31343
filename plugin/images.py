"""Reading an image file: the one decoder the engine, the license face check and label verify use.

JPEG is read 8-bit with its EXIF orientation applied (as viewers and the license face check
show the photo); PNG and TIFF keep their depth (16-bit plates) unless 8-bit is asked for;
EXR and DPX go through OpenImageIO (``faceright[exr]``), EXR's scene-linear values becoming
sRGB-encoded 8-bit for display-referred uses. A file larger than ``max_bytes`` is refused
before it is read, so a huge or hostile file cannot exhaust memory.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import DependencyMissingError, MediaNotFoundError, MediaUnreadableError, UnsupportedMediaError

log = logging.getLogger(__name__)

OPENCV_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".jpg", ".jpeg"})
OIIO_SUFFIXES = frozenset({".exr", ".dpx"})
IMAGE_SUFFIXES = OPENCV_SUFFIXES | OIIO_SUFFIXES

#: a still or a plate frame is at most this big (an 8K 32-bit float EXR with 4 channels is ~530 MB)
MAX_IMAGE_BYTES = 1024 * 1024 * 1024

Dtype = Literal["uint8", "native"]


def read_image(path: str | os.PathLike, dtype: Dtype = "uint8", *, max_bytes: int = MAX_IMAGE_BYTES) -> np.ndarray:
    """One image file as BGR (``uint8``, or the file's own depth for ``dtype="native"``)."""
    path = Path(path)
    if not path.is_file():
        raise MediaNotFoundError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix in OIIO_SUFFIXES:
        image, _ = read_oiio(path)
    elif suffix in OPENCV_SUFFIXES:
        image = _read_opencv(path, max_bytes)
    else:
        raise UnsupportedMediaError(f"{path}: {suffix or 'no suffix'} is not an image format faceright reads "
                                    f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    image = _as_bgr(image, path)
    return to_uint8(image) if dtype == "uint8" else image



def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Scene-linear → sRGB-encoded, both in [0, 1] (values are clipped)."""
    x = np.clip(linear.astype(np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded → scene-linear, both in [0, 1]."""
    x = np.clip(encoded.astype(np.float32), 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Any reader output (uint8, uint16, linear float) as display-encoded ``uint8``."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return np.rint(srgb_encode(image) * 255.0).astype(np.uint8)
    raise ValueError(f"cannot convert {image.dtype} pixels to uint8")


def _as_bgr(image: np.ndarray, path: Path) -> np.ndarray:
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        log.debug("%s: dropping its alpha channel", path)
        return np.ascontiguousarray(image[:, :, :3])
    if image.ndim == 3 and image.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(image, 3, axis=2))
    raise MediaUnreadableError(f"{path}: {image.shape} pixels are not an image faceright can use")



def _read_opencv(path: Path, max_bytes: int) -> np.ndarray:
    import cv2

    size = path.stat().st_size
    if size > max_bytes:
        raise MediaUnreadableError(f"{path} is {size:,} bytes, more than the {max_bytes:,} an image may have; "
                                   "it was not read")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise MediaUnreadableError(f"{path} cannot be read: {exc}") from exc
    # JPEG: 8-bit anyway, and its EXIF orientation applied, as viewers (and the license face
    # check) show the photo; PNG/TIFF: unchanged, so 16-bit plates keep their depth
    flags = cv2.IMREAD_COLOR if path.suffix.lower() in (".jpg", ".jpeg") else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise MediaUnreadableError(f"{path} is not a {path.suffix.lstrip('.').upper()} image OpenCV can decode "
                                   "(empty, truncated or another kind of file)")
    return image



# -- OpenImageIO (EXR, DPX) ------------------------------------------------------------

def oiio_module() -> Any:
    try:
        import OpenImageIO  # noqa: N813 - the module's own name
    except ImportError as exc:
        raise DependencyMissingError(
            "EXR and DPX need OpenImageIO, which is not installed: pip install 'faceright[exr]' "
            "(or pip install openimageio)") from exc
    return OpenImageIO


def read_oiio(path: Path) -> tuple[np.ndarray, dict[str, str]]:
    """BGR pixels (EXR: linear float; others: uint16) and the string attributes of ``path``."""
    pixels, spec = read_oiio_native(path)
    return bgr_of(pixels, list(spec.channelnames), path), string_attributes(spec)


def read_oiio_native(path: Path) -> tuple[np.ndarray, Any]:
    """Every channel of ``path`` in the file's order (H×W×C; EXR as float32, others uint16), and
    its ``ImageSpec`` (channels, formats, windows, compression, attributes)."""
    oiio = oiio_module()
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)   # a PNG's colour as stored, not multiplied by its alpha
    image_input = oiio.ImageInput.open(str(path), config)
    if image_input is None:
        raise MediaUnreadableError(f"{path} cannot be read: {oiio.geterror()}; is it a complete image file?")
    try:
        spec = image_input.spec()
        want = "float" if path.suffix.lower() == ".exr" else "uint16"
        pixels = image_input.read_image(0, 0, 0, spec.nchannels, want)
        if pixels is None:
            raise MediaUnreadableError(f"{path} is damaged: {image_input.geterror() or 'no pixels'}")
        spec = oiio.ImageSpec(spec)
        spec.attribute("oiio:UnassociatedAlpha", 1)
    finally:
        image_input.close()
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return pixels, spec


def bgr_of(pixels: np.ndarray, channel_names: list[str], path: Path) -> np.ndarray:
    """The B, G, R planes of a file's channels (its first channel three times when it has no RGB)."""
    names = [n.upper() for n in channel_names]
    if all(c in names for c in "RGB"):
        bgr = np.stack([pixels[:, :, names.index(c)] for c in "BGR"], axis=2)
    elif len(names) >= 1:
        bgr = np.repeat(pixels[:, :, :1], 3, axis=2)
    else:
        raise MediaUnreadableError(f"{path}: no channels")
    return np.ascontiguousarray(bgr)


def string_attributes(spec: Any) -> dict[str, str]:
    """A header's string attributes (where metadata lives), less OpenImageIO's and the formats' own."""
    return {a.name: a.value for a in spec.extra_attribs
            if isinstance(a.value, str) and not a.name.startswith(("oiio:", "openexr:", "dpx:"))}
