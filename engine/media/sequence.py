"""Image sequences (and single stills): PNG 8/16-bit, TIFF, JPEG with OpenCV; EXR and DPX
with OpenImageIO (the optional ``exr`` extra: ``pip install 'faceright[exr]'``).

Patterns
    ``plate.%04d.png`` and ``plate.####.png`` (4 digits, zero-padded; more digits are used
    when a number needs them), ``plate.%d.png`` (no padding). Frame numbers are the numbers
    in the file names, often starting at 1001; ranges are half-open as everywhere in
    :mod:`faceright.engine.media`. A hole inside the requested range is a
    :class:`MissingFramesError` that lists the missing numbers.

Pixel values
    Readers give BGR ``uint8`` frames (the engine's ``Frame``) unless ``dtype="native"``
    asks for the file's own depth (``uint16`` for 16-bit PNG/TIFF/DPX, ``float32`` for
    EXR). Integer pixels are display-encoded (sRGB); EXR pixels are scene-linear, as
    OpenEXR intends, so they are converted with the sRGB curve to and from ``uint8``
    (8-bit → half-float EXR → 8-bit is exact). 8 ↔ 16 bit is ×257.

Metadata
    PNG: UTF-8 ``iTXt`` chunks (Pillow reads them as ``Image.text``), except the ``AIGC`` label,
    which goes where ``faceright label apply`` puts it, as XMP ``TC260:AIGC``
    (:func:`faceright.labels.metadata.png_with_label`); EXR: string header attributes.
    TIFF/JPEG frames cannot carry it here: asking for it is an error, not a silent drop.
"""
from __future__ import annotations

import logging
import os
import shutil
import re
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from collections.abc import Iterable, Iterator, Mapping

import cv2
import numpy as np

from faceright.atomic import (AtomicOutput, check_output_path, exchange_folder, remove_stale_partials,
                              remove_stale_staging, same_file, staging_folder)
from faceright.engine.media.errors import (
    FrameRangeError,
    MediaNotFoundError,
    MediaUnreadableError,
    MissingFramesError,
    OutputIsSourceError,
    UnsupportedMediaError,
)
from faceright.engine.media.info import ColorInfo, FrameRange, MediaInfo
from faceright.errors import MediaError, OutputError
from faceright.images import (  # noqa: F401  (the core's one image decoder, named here too)
    IMAGE_SUFFIXES, OIIO_SUFFIXES, OPENCV_SUFFIXES, oiio_module as _oiio, read_image, read_oiio as _read_oiio,
    string_attributes as _string_attributes,
    srgb_decode, srgb_encode, to_uint8,
)
from faceright.labels.aigc import LabelSigner
from faceright.labels.content import bytes_digest, content_digest
from faceright.labels.metadata import (AIGC_KEY, XMP_KEYWORD, dpx_user_data, patch_label, png_with_label,
                                      read_metadata, tiff_with_label, xmp_values)

from .fidelity import NativeFrame, restore

log = logging.getLogger(__name__)

_METADATA_SUFFIXES = frozenset({".png", ".exr"})
#: frames that can carry the AIGC label (PNG/TIFF as XMP, EXR as an attribute, DPX as its user data)
_LABEL_SUFFIXES = frozenset({".png", ".exr", ".tif", ".tiff", ".dpx"})
_DEPTHS = {".png": (8, 16), ".tif": (8, 16), ".tiff": (8, 16), ".jpg": (8,), ".jpeg": (8,),
           ".exr": (16, 32), ".dpx": (8, 10, 12, 16)}
_DEFAULT_DEPTH = {".exr": 16, ".dpx": 10}

_PRINTF = re.compile(r"%(0?)(\d*)d")
_HASHES = re.compile(r"#+")

Dtype = Literal["uint8", "native"]


# --------------------------------------------------------------------------- patterns

@dataclass(frozen=True)
class SequencePattern:
    """``folder/prefix`` + a frame number padded to ``padding`` digits + ``suffix``."""

    folder: Path
    prefix: str
    suffix: str
    padding: int

    @classmethod
    def parse(cls, path: str | os.PathLike) -> SequencePattern | None:
        """The pattern in ``path`` (``%04d``, ``%d`` or ``####``), or ``None`` for a plain path."""
        path = Path(path)
        name = path.name
        found = [(m, int(m.group(2) or 0)) for m in _PRINTF.finditer(name)]
        found += [(m, len(m.group(0))) for m in _HASHES.finditer(name)]
        if not found:
            return None
        if len(found) > 1:
            raise MediaError(f"{path}: more than one frame-number placeholder; use exactly one (%04d or ####)")
        match, padding = found[0]
        return cls(path.parent, name[:match.start()], name[match.end():], padding)

    @property
    def printf(self) -> str:
        """The file-name pattern in printf form, e.g. ``plate.%04d.exr``."""
        return f"{self.prefix}%0{self.padding}d{self.suffix}" if self.padding else f"{self.prefix}%d{self.suffix}"

    @property
    def display(self) -> Path:
        return self.folder / self.printf

    @property
    def extension(self) -> str:
        return os.path.splitext("frame" + self.suffix)[1].lower()   # Path(".png").suffix is ""

    def path(self, number: int) -> Path:
        if number < 0:
            raise MediaError(f"{self.display}: frame numbers must be ≥ 0, not {number}")
        return self.folder / f"{self.prefix}{number:0{self.padding}d}{self.suffix}"

    def number_of(self, name: str) -> int | None:
        """The frame number of a file name of this sequence, or ``None``."""
        if not (name.startswith(self.prefix) and name.endswith(self.suffix)):
            return None
        digits = name[len(self.prefix):len(name) - len(self.suffix)] if self.suffix else name[len(self.prefix):]
        if not digits.isdigit() or not digits.isascii():
            return None
        number = int(digits)
        return number if f"{number:0{self.padding}d}" == digits else None

    def scan(self) -> dict[int, Path]:
        """Every existing frame: number → path."""
        if not self.folder.is_dir():
            raise MediaNotFoundError(f"{self.display}: the folder {self.folder} does not exist")
        frames: dict[int, Path] = {}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                number = self.number_of(entry.name)
                if number is not None and entry.is_file():
                    frames[number] = Path(entry.path)
        return frames

    def same_as(self, other: SequencePattern) -> bool:
        return (self.prefix, self.suffix) == (other.prefix, other.suffix) and same_file(self.folder, other.folder)


def is_sequence_path(path: str | os.PathLike) -> bool:
    """True for a sequence pattern (``%04d``, ``####``) or a still image's path."""
    return SequencePattern.parse(path) is not None or Path(path).suffix.lower() in IMAGE_SUFFIXES


def _runs(numbers: list[int]) -> str:
    """``[3, 4, 5, 9]`` → ``"3-5, 9"``."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"{start}" if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts)


# --------------------------------------------------------------------------- pixel conversions

def _to_uint16(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        return image
    if image.dtype == np.uint8:
        return image.astype(np.uint16) * 257
    if np.issubdtype(image.dtype, np.floating):
        return np.rint(srgb_encode(image) * 65535.0).astype(np.uint16)
    raise ValueError(f"cannot convert {image.dtype} pixels to uint16")


def _to_linear(image: np.ndarray) -> np.ndarray:
    if np.issubdtype(image.dtype, np.floating):
        return image.astype(np.float32)
    scale = 255.0 if image.dtype == np.uint8 else 65535.0
    return srgb_decode(image.astype(np.float32) / scale)


# --------------------------------------------------------------------------- OpenImageIO (EXR, DPX)

def _oiio_spec(path: Path) -> Any:
    """The ``ImageSpec`` (header) of an image OpenImageIO reads; no pixels are read."""
    oiio = _oiio()
    image_input = oiio.ImageInput.open(str(path))
    if image_input is None:
        raise MediaUnreadableError(f"{path} cannot be read: {oiio.geterror()}")
    try:
        return image_input.spec()
    finally:
        image_input.close()


def _write_oiio(path: Path, temp: Path, image: np.ndarray, bit_depth: int, metadata: Mapping[str, str],
                compression: str | None, label: LabelSigner | None = None) -> str | None:
    """Write ``image``; with ``label``, an EXR gets its AIGC attribute bound to the written pixels
    (``exr1``), whose JSON is returned."""
    oiio = _oiio()
    exr = path.suffix.lower() == ".exr"
    if exr:
        pixels = _to_linear(image)[:, :, ::-1]   # BGR → RGB
        pixel_type = "half" if bit_depth == 16 else "float"
    else:
        pixels = _to_uint16(image)[:, :, ::-1]
        pixel_type = "uint16"
    spec = oiio.ImageSpec(image.shape[1], image.shape[0], 3, pixel_type)
    spec.channelnames = ("R", "G", "B")
    if not exr:
        spec.attribute("oiio:BitsPerSample", bit_depth)
    if compression or exr:
        spec.attribute("compression", compression or "zip")
    for key, value in metadata.items():
        spec.attribute(key, value)
    slot = _LabelSlot(path, label, spec) if label is not None else None
    _oiio_write(path, temp, spec, pixels)
    return slot.sign(temp) if slot is not None else None


def _oiio_write(path: Path, temp: Path, spec: Any, pixels: np.ndarray) -> None:
    oiio = _oiio()
    out = oiio.ImageOutput.create(str(temp))
    if out is None or not out.open(str(temp), spec):
        raise OutputError(f"cannot write {path}: {oiio.geterror() or (out.geterror() if out else '')}")
    try:
        if not out.write_image(np.ascontiguousarray(pixels)):
            raise OutputError(f"cannot write {path}: {out.geterror()}")
    finally:
        out.close()


class _LabelSlot:
    """Where a frame written by OpenImageIO gets its AIGC label, bound to the pixels written: EXR an
    attribute and DPX its user data, each written with a same-length placeholder overwritten once
    the pixels' digest is known; TIFF an XMP packet put in beside the image data afterwards."""

    _SCHEMES = {".exr": "exr1", ".dpx": "dpx1", ".tif": "tif1", ".tiff": "tif1"}

    def __init__(self, path: Path, label: LabelSigner, spec: Any):
        suffix = path.suffix.lower()
        if suffix not in self._SCHEMES:
            raise UnsupportedMediaError(f"{path}: {path.suffix} frames cannot carry the AIGC label; write PNG, EXR, "
                                        "TIFF or DPX")
        self.label, self.scheme, self.placeholder = label, self._SCHEMES[suffix], None
        if suffix == ".exr":
            self.placeholder = label.placeholder(self.scheme).to_json()
            spec.attribute(AIGC_KEY, self.placeholder)
        elif suffix == ".dpx":
            self.placeholder = label.placeholder(self.scheme).to_json()
            block = np.frombuffer(dpx_user_data(self.placeholder), np.uint8)
            spec.attribute("dpx:UserData", _oiio().TypeDesc(f"uint8[{len(block)}]"), block)

    def sign(self, temp: Path) -> str:
        value = self.label.sign(content_digest(temp, self.scheme)).to_json()
        if self.placeholder is not None:
            patch_label(temp, self.placeholder, value)
        else:
            temp.write_bytes(tiff_with_label(temp.read_bytes(), value))
        return value


#: EXR compressions that do not give back the pixels they were given
LOSSY_EXR = frozenset({"dwaa", "dwab", "b44", "b44a", "pxr24"})


def _write_native(path: Path, temp: Path, frame: NativeFrame, metadata: Mapping[str, str],
                  label: LabelSigner | None) -> str | None:
    """Write a plate-shaped frame with the plate's spec (its AIGC attribute, if any, replaced);
    with ``label``, the AIGC label bound to what was written, whose JSON is returned."""
    oiio = _oiio()
    suffix = path.suffix.lower()
    exr = suffix == ".exr"
    spec = oiio.ImageSpec(frame.spec)
    compression = str(spec.getattribute("compression") or "")
    if exr and compression.split(":")[0].lower() in LOSSY_EXR:
        # rewriting lossily would change the plate's pixels outside the face again: lossless instead
        log.info("%s: the plate's %s compression is lossy; written with zip so that the plate's pixels outside "
                 "the swap stay exact", path, compression)
        spec.attribute("compression", "zip")
    for name in [a.name for a in spec.extra_attribs if a.name.lower() == AIGC_KEY.lower()]:
        spec.erase_attribute(name)
    if suffix == ".dpx" and label is not None and spec.getattribute("dpx:UserData") is not None:
        log.info("%s: the plate's DPX user data is replaced by the AIGC label (a DPX holds one user data block)", path)
        spec.erase_attribute("dpx:UserData")
    for key, value in metadata.items():
        spec.attribute(key, value)
    slot = _LabelSlot(path, label, spec) if label is not None and suffix != ".png" else None
    _oiio_write(path, temp, spec, frame.pixels)
    if label is None:
        return None
    if slot is not None:
        return slot.sign(temp)
    data = temp.read_bytes()   # PNG: the label goes in beside the image chunks it is bound to
    value = label.sign(bytes_digest(data, "png1")).to_json()
    temp.write_bytes(png_with_label(data, value))
    return value


# --------------------------------------------------------------------------- OpenCV (PNG, TIFF, JPEG)

def _png_metadata(path: Path) -> dict[str, str]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            text = {str(k): str(v) for k, v in getattr(image, "text", {}).items()}
    except (OSError, SyntaxError, ValueError) as exc:
        log.debug("%s: no readable text chunks (%s)", path, exc)
        return {}
    labels = xmp_values(text.get(XMP_KEYWORD, ""))
    if len(labels) == 1 and AIGC_KEY not in text:   # the AIGC label, as XMP TC260:AIGC
        text[AIGC_KEY] = labels[0]
    return text


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _with_itxt(png: bytes, metadata: Mapping[str, str]) -> bytes:
    """``png`` with one UTF-8 ``iTXt`` chunk per key inserted before ``IEND``."""
    chunks = b""
    for key, value in metadata.items():
        try:
            keyword = key.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise MediaError(f"PNG metadata key {key!r} must be Latin-1 (PNG's rule for keywords)") from exc
        if not 1 <= len(keyword) <= 79 or b"\0" in keyword:
            raise MediaError(f"PNG metadata key {key!r} must be 1 to 79 characters")
        chunks += _png_chunk(b"iTXt", keyword + b"\0\0\0" + b"\0" + b"\0" + value.encode("utf-8"))
    iend = png.rfind(b"IEND") - 4
    if iend < 8:
        raise MediaError("the PNG encoder produced no IEND chunk")
    return png[:iend] + chunks + png[iend:]


def _encode_opencv(path: Path, image: np.ndarray, bit_depth: int, metadata: Mapping[str, str],
                   label: LabelSigner | None = None) -> tuple[bytes, str | None]:
    """The encoded file, and with ``label`` the PNG's AIGC label bound to its image chunks (``png1``)."""
    data = _to_uint16(image) if bit_depth == 16 else to_uint8(image)
    params: list[int] = []
    if path.suffix.lower() in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    ok, encoded = cv2.imencode(path.suffix.lower(), data, params)
    if not ok:
        raise OutputError(f"OpenCV could not encode {path}")
    payload = encoded.tobytes()
    text = {k: v for k, v in metadata.items() if k != AIGC_KEY}
    if text:
        payload = _with_itxt(payload, text)
    value = metadata.get(AIGC_KEY)
    if label is not None:
        if path.suffix.lower() != ".png":
            raise UnsupportedMediaError(f"{path}: {path.suffix} frames get their AIGC label once written")
        value = label.sign(bytes_digest(payload, "png1")).to_json()
    if value is not None:
        payload = png_with_label(payload, value)
    return payload, (value if label is not None else None)


# --------------------------------------------------------------------------- one image

def _image_metadata(path: Path) -> dict[str, str]:
    suffix = path.suffix.lower()
    if suffix == ".png":
        return _png_metadata(path)
    if suffix in (".tif", ".tiff", ".dpx"):   # the label in XMP / user data, as the label's own reader finds it
        found = _string_attributes(_oiio_spec(path))
        labels = [o.value for o in read_metadata(path, use_ffprobe=False).occurrences]
        if len(labels) == 1:
            found[AIGC_KEY] = labels[0]
        return found
    if suffix in OIIO_SUFFIXES:
        return _string_attributes(_oiio_spec(path))
    return {}


# --------------------------------------------------------------------------- probing and reading

def _frames_of(path: Path) -> tuple[SequencePattern | None, dict[int, Path]]:
    pattern = SequencePattern.parse(path)
    if pattern is None:   # a single still: frame 0
        if not path.exists():
            raise MediaNotFoundError(f"{path} does not exist; for an image sequence give a pattern such as "
                                     f"{path.with_name('name.%04d' + path.suffix).name}")
        return None, {0: path}
    if pattern.extension not in IMAGE_SUFFIXES:
        raise UnsupportedMediaError(f"{pattern.display}: {pattern.extension or 'no suffix'} is not an image "
                                    f"format faceright reads ({', '.join(sorted(IMAGE_SUFFIXES))})")
    found = pattern.scan()
    if not found:
        raise MediaNotFoundError(f"no files match {pattern.display}; check the folder, the name and the "
                                 "number of digits (%04d / #### mean 4 digits, zero-padded)")
    return pattern, found


def probe_sequence(path: str | os.PathLike, *, rate: Fraction | int | str = 24,
                   frames: FrameRange | tuple[int, int] | range | None = None,
                   timecode: str | None = None) -> MediaInfo:
    """A :class:`MediaInfo` for an image sequence pattern (or a still, as frame 0).

    ``rate`` comes from the caller (images carry none). Raises :class:`MissingFramesError`
    when a frame inside ``frames`` (all of the sequence for ``None``) has no file.
    """
    path = Path(path)
    pattern, found = _frames_of(path)
    numbers = sorted(found)
    span = FrameRange(numbers[0], numbers[-1] + 1)
    display = pattern.display if pattern else path
    wanted = FrameRange.coerce(frames) if frames is not None else span
    if not wanted.within(span):
        raise FrameRangeError(f"frames {wanted.to_cli()} are outside {display}, whose files run "
                              f"{span.to_cli()} (both ends included, as --frames takes them)")
    missing = [n for n in wanted if n not in found]
    if missing:
        raise MissingFramesError(
            f"{display} is missing frame{'s' if len(missing) > 1 else ''} {_runs(missing)} "
            f"({len(found)} of {len(span)} files present in {span.to_cli()}); render or copy them, "
            "or pick a range without holes", missing)
    first = found[wanted.first]
    sample = read_image(first, dtype="native")
    suffix = first.suffix.lower()
    depth = 8 if sample.dtype == np.uint8 else 16 if sample.dtype == np.uint16 else 32
    if suffix in OIIO_SUFFIXES:   # one header read for the metadata and an EXR's half or float pixels
        spec = _oiio_spec(first)
        metadata = _string_attributes(spec)
        if suffix == ".exr":
            depth = 16 if str(spec.format) == "half" else 32
    else:
        metadata = _image_metadata(first)
    return MediaInfo(
        path=display,
        kind="sequence" if pattern else "image",
        width=sample.shape[1],
        height=sample.shape[0],
        rate=Fraction(rate),
        frame_count=len(span),
        first_frame=span.first,
        time_base=1 / Fraction(rate),
        pix_fmt={8: "bgr24", 16: "bgr48" if suffix != ".exr" else "bgrf16", 32: "bgrf32"}[depth],
        codec=suffix.lstrip("."),
        container="image2",
        timecode=timecode,
        metadata=metadata,
        color=ColorInfo(color_trc="linear") if suffix == ".exr" else ColorInfo(color_trc="iec61966-2-1"),
        bit_depth=depth,
    )


class SequenceReader:
    """Iterate ``(frame_number, frame)`` over a half-open range of an image sequence.

    ``dtype="uint8"`` gives the engine's BGR ``Frame``; ``"native"`` the file's own depth.
    Every frame must have the first frame's size.
    """

    #: every frame yielded is read from its file into a new array, the caller's to change
    fresh_frames = True

    def __init__(self, path: str | os.PathLike, frames: FrameRange | tuple[int, int] | range | None = None,
                 *, rate: Fraction | int | str = 24, dtype: Dtype = "uint8", info: MediaInfo | None = None,
                 timecode: str | None = None):
        self.path = Path(path)
        self.info = info if info is not None else probe_sequence(self.path, rate=rate, frames=frames,
                                                                 timecode=timecode)
        self.range = self.info.check_range(frames)
        self.dtype = dtype
        self._pattern = SequencePattern.parse(self.path)

    def __len__(self) -> int:
        return len(self.range)

    def __enter__(self) -> SequenceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to release: each iteration opens and closes its own files."""

    def file(self, number: int) -> Path:
        return self._pattern.path(number) if self._pattern else self.path

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for number in self.range:
            path = self.file(number)
            if not path.exists():
                raise MissingFramesError(f"{path} (frame {number}) disappeared while the sequence was read", [number])
            image = read_image(path, dtype=self.dtype)
            if image.shape[:2] != (self.info.height, self.info.width):
                raise MediaUnreadableError(
                    f"{path} is {image.shape[1]}×{image.shape[0]} but the sequence is "
                    f"{self.info.width}×{self.info.height}; every frame of a sequence must have one size")
            yield number, image


# --------------------------------------------------------------------------- writing

class SequenceWriter:
    """Write frames as ``pattern``'s files, numbered from ``first_frame``.

    ``bit_depth``: 8 or 16 for PNG/TIFF, 16 (half) or 32 (float) for EXR, 10/12/16 for DPX.
    ``metadata`` goes into every frame (PNG iTXt, the AIGC label as XMP; EXR header); other
    formats refuse it.
    ``sources`` are files or patterns the output must never write over. ``label`` (a
    :class:`~faceright.labels.aigc.LabelSigner`) signs each frame's AIGC label for that frame's
    pixels (PNG, EXR). ``plate`` (a pattern of the same format, EXR or 16-bit PNG) makes each
    frame the plate's frame ``number + plate_offset`` as the file has it (channels, type, windows,
    compression, attributes) with only the pixels the 8-bit frame changed (:mod:`.fidelity`).
    ``alpha_channel`` (8-bit PNG): each frame also stores :meth:`write`'s ``alpha`` (how much of
    each pixel the faces replaced) as its alpha channel, 0 where none; a farm chunk does, so that
    its assemble blends a deep plate as one process would.

    **Staged** (the default): the frames are written into a hidden staging folder beside the
    output's folder (:func:`faceright.atomic.staging_folder`), checked, handed to
    ``before_commit(staged_pattern, frames)`` (the swap proves the label there), and only then put
    in place: the output's folder and the staging folder are exchanged in one step (``renameat2``),
    after every other file of the output's folder (other sequences, notes, the old frames a
    partial re-render keeps) has been hard-linked into the staging folder
    (:func:`faceright.atomic.exchange_folder`): a reader sees the whole old folder or the whole
    new one, never a mix, whenever the writer is killed, and the other files stay the same files.
    Where that cannot be done (a folder inside the output's folder, one owned by another user, a
    mount point, a system without the exchange) the new frames replace theirs one by one, each
    whole. A failed or killed write puts nothing in place; a
    killed writer's staging folder is removed by the next write of that folder.
    ``staged=False`` writes each frame in place as it comes (each file still atomic).
    """

    def __init__(self, path: str | os.PathLike, *, first_frame: int = 1001, bit_depth: int | None = None,
                 metadata: Mapping[str, str] | None = None, overwrite: bool = False,
                 sources: Iterable[str | os.PathLike] = (), compression: str | None = None,
                 staged: bool = True, before_commit: Any = None, label: LabelSigner | None = None,
                 plate: str | os.PathLike | None = None, plate_offset: int = 0, alpha_channel: bool = False):
        pattern = SequencePattern.parse(path)
        if pattern is None:
            raise OutputError(f"{path}: an image-sequence output needs a frame-number pattern, "
                              f"e.g. {Path(path).stem}.%04d{Path(path).suffix}")
        self.pattern = pattern
        suffix = pattern.extension
        if suffix not in IMAGE_SUFFIXES:
            raise UnsupportedMediaError(f"cannot write {suffix or 'files without a suffix'} images; use one of "
                                        f"{', '.join(sorted(IMAGE_SUFFIXES))}")
        self.bit_depth = bit_depth or _DEFAULT_DEPTH.get(suffix, 8)
        self._alpha_channel = alpha_channel
        if alpha_channel and (suffix != ".png" or self.bit_depth != 8 or plate is not None):
            raise ValueError(f"{pattern.display}: frames store the faces' weights as an 8-bit PNG's alpha only")
        if self.bit_depth not in _DEPTHS[suffix]:
            raise UnsupportedMediaError(f"{pattern.display}: {suffix} is written at {_DEPTHS[suffix]} bits, "
                                        f"not {self.bit_depth}")
        self.metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        if label is not None and any(k.lower() == AIGC_KEY.lower() for k in self.metadata):
            raise ValueError("an AIGC label is given once: as label=, not also in metadata")
        self.label = label
        self._first_label: str | None = None
        self._plate = SequencePattern.parse(plate) if plate is not None else None
        if plate is not None and (self._plate is None or self._plate.extension != suffix):
            raise OutputError(f"{pattern.display}: the plate {plate} to keep must be a {suffix} sequence too")
        self._plate_offset = plate_offset
        if self.metadata and suffix not in _METADATA_SUFFIXES:
            raise UnsupportedMediaError(f"{pattern.display}: {suffix} frames cannot carry metadata here; "
                                        "write PNG or EXR")
        if label is not None and suffix not in _LABEL_SUFFIXES:
            raise UnsupportedMediaError(f"{pattern.display}: {suffix} frames cannot carry the AIGC label; "
                                        "write PNG, EXR, TIFF or DPX")
        if suffix in OIIO_SUFFIXES:
            _oiio()   # fail now, not at the first frame
        if not pattern.folder.is_dir():
            raise OutputError(f"the output folder {pattern.folder} does not exist; create it first")
        # once for the whole sequence, not once per frame file (a folder of thousands of frames)
        remove_stale_partials(pattern.folder, lambda name: pattern.number_of(name) is not None)
        self.overwrite = overwrite
        self.compression = compression
        self.next_frame = first_frame
        self.written: list[int] = []
        self._source_files: list[Path] = []
        self._closed = False
        self._before_commit = before_commit
        self._stage: Path | None = None
        self._target = pattern         # where the frames are written: the staging folder's pattern when staged
        if staged:
            # the real folder (a symlinked folder stays a symlink); beside it when that is the same file
            # system (then the folders can be exchanged), else inside it (a mount point: frame by frame)
            self._folder = pattern.folder.resolve()
            self._beside = not os.path.ismount(self._folder) and \
                os.stat(self._folder.parent).st_dev == os.stat(self._folder).st_dev
            home = self._folder if self._beside else self._folder / ".faceright-staging"   # its staging: inside
            remove_stale_staging(home)
            self._stage = staging_folder(home)
            self._target = SequencePattern.parse(self._stage / Path(os.fspath(path)).name)
        for source in sources:
            source_pattern = SequencePattern.parse(source)
            if source_pattern is not None:
                if source_pattern.same_as(pattern):
                    raise OutputIsSourceError(f"the output {pattern.display} is the source sequence {source}; "
                                              "faceright never writes over its source; choose another name")
                if overwrite:   # hard links from the source's files into the output's names
                    self._source_files.extend(source_pattern.scan().values() if source_pattern.folder.is_dir() else ())
            else:
                self._source_files.append(Path(source))

    @property
    def frames(self) -> FrameRange | None:
        """The range written so far (``None`` before the first frame)."""
        return FrameRange(min(self.written), max(self.written) + 1) if self.written else None

    @property
    def takes_alpha(self) -> bool:
        """Whether :meth:`write`'s ``alpha`` is used: frames kept from a deep plate blend with it, and
        ``alpha_channel`` frames store it (a farm chunk's, for the assemble that keeps the plate)."""
        return self._plate is not None or self._alpha_channel

    def write(self, frame: np.ndarray, number: int | None = None, alpha: np.ndarray | None = None) -> Path:
        """Write one BGR frame (``uint8``, ``uint16`` or linear float) as frame ``number``
        (the next one by default); returns its path. ``alpha`` (H×W, 0–1, optional): how much of
        each pixel the swap replaced, which a frame kept from a deep plate is blended with."""
        if self._closed:
            raise MediaError(f"{self.pattern.display}: write() after close()")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"{self.pattern.display}: expected an H×W×3 BGR frame, got {frame.shape}")
        number = self.next_frame if number is None else number
        path = self.pattern.path(number)
        if self._stage is not None:   # refuse now what the commit would refuse; write into the staging folder
            check_output_path(path, sources=self._source_files, overwrite=self.overwrite)
            path = self._target.path(number)
        with AtomicOutput(path, sources=self._source_files, overwrite=self.overwrite or self._stage is not None,
                          clean_stale=False) as atomic:
            if self._alpha_channel:   # 0–1 in 1/255 steps (coverage_map's), stored exactly
                weights = np.zeros(frame.shape[:2], np.uint8) if alpha is None else \
                    np.rint(np.asarray(alpha, np.float32) * 255.0).astype(np.uint8)
                frame = np.dstack([to_uint8(frame), weights])
            if self._plate is not None:
                kept = restore(self._plate.path(number + self._plate_offset), frame, alpha)
                value = _write_native(path, atomic.temp, kept, self.metadata, self.label)
            elif self.pattern.extension in OIIO_SUFFIXES:
                value = _write_oiio(path, atomic.temp, frame, self.bit_depth, self.metadata, self.compression,
                                    self.label)
            else:
                tiff = self.label is not None and self.pattern.extension in (".tif", ".tiff")
                payload, value = _encode_opencv(path, frame, self.bit_depth, self.metadata,
                                                None if tiff else self.label)
                atomic.temp.write_bytes(payload)
                if tiff:   # the label bound to the pixels OpenImageIO decodes from the written file
                    value = _LabelSlot(path, self.label, None).sign(atomic.temp)
            atomic.commit()
        if not self.written:
            self._first_label = value
        self.written.append(number)
        self.next_frame = number + 1
        return self.pattern.path(number)

    def close(self) -> FrameRange:
        """Check the first frame's metadata reads back, run ``before_commit``, put the frames in place;
        return the range written. Anything raised leaves nothing new under the output's names."""
        if self._closed:
            return self.frames
        self._closed = True
        try:
            if not self.written:
                raise MediaError(f"{self.pattern.display}: no frames were written")
            wanted = {**self.metadata, **({AIGC_KEY: self._first_label} if self._first_label else {})}
            if wanted:
                first = self._target.path(self.written[0])
                found = _image_metadata(first)
                for key, value in wanted.items():
                    if found.get(key) != value:
                        raise MediaError(f"{self.pattern.path(self.written[0])}: metadata {key!r} did not read back "
                                         f"(got {found.get(key)!r})")
            if self._before_commit is not None:
                self._before_commit(self._target.display, self.frames)
            if self._stage is not None:
                self._commit()
        except BaseException:
            self._discard()
            raise
        return self.frames

    def _commit(self) -> None:
        stage, written = self._stage, set(self.written)
        ours = lambda name: self.pattern.number_of(name) in written   # noqa: E731  (the frames replaced)
        if self._beside and exchange_folder(stage, self._folder, ours):
            self._stage = None   # one step: the whole old folder or the whole new one, its other files kept
            return
        for number in self.written:       # frame by frame: each file whole, not the set
            try:
                os.replace(self._target.path(number), self.pattern.path(number))
            except OSError as exc:
                raise OutputError(f"cannot put {self.pattern.path(number)} in place: {exc}") from exc
        shutil.rmtree(stage, ignore_errors=True)
        self._stage = None

    def _discard(self) -> None:
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None


    def abort(self) -> None:
        """Stop writing; nothing is put in place (staged), or frames already written stay, each whole."""
        self._closed = True
        self._discard()

    def __enter__(self) -> SequenceWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
