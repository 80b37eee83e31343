"""The content a label is bound to: one digest per file, that survives moving the content between
containers and rewriting the file's metadata, and changes when the pictures are re-encoded.

The AIGC signature (``ReservedCode1``, :mod:`.aigc`) covers ``<scheme>=<digest>`` besides the
producer's fields, so a label copied onto another file, or onto the untouched plate, no longer
verifies as that file's (``aigc.content_mismatch``). Schemes (SHA-256, base64url, no padding):

``vp1``  video: the coded packets of the first video stream in decode order, each as its
         length and bytes, after the codec's name. H.264/HEVC packets count as their picture
         (VCL) NAL units, without start codes, length prefixes, parameter sets or SEI, so a
         stream copy MP4 ↔ MOV ↔ MKV (same packets) and one to MPEG-TS (Annex B, parameter sets
         in band) keep the digest; timestamps, audio and metadata are not part of it.
``png1`` PNG: the image chunks (IHDR, PLTE, tRNS, IDAT), type and body; text, XMP, colour and
         other ancillary chunks are not.
``jpg1`` JPEG: every segment but APPn and COM (tables, frame and scan headers) and the
         entropy-coded data; Exif, XMP and comments are not.
``exr1`` OpenEXR: the pixels as OpenEXR decodes them (each channel's name, type and values over
         the data window), so recompressing losslessly or editing the header keeps it.
``tif1`` TIFF and ``dpx1`` DPX: the same over the pixels as OpenImageIO decodes them (a 10-bit DPX
         as its 16-bit values), so tags, header fields and lossless recompression do not count.

A platform that re-encodes the file changes its digest by design: its label then belongs to the
propagator (``ContentPropagator``/``PropagateID``/``ReservedCode2``), which the finding says.
"""
from __future__ import annotations

import base64
import hashlib
import struct
from pathlib import Path
from typing import Callable, Iterable

from faceright.errors import DependencyMissingError, MediaError, MediaUnreadableError

from .metadata import _jpeg_segments, _png_chunks, container_of

SCHEMES: dict[str, str] = {
    "vp1": "the video stream's coded packets",
    "png1": "the PNG's image chunks",
    "jpg1": "the JPEG's coded image data",
    "exr1": "the EXR's decoded pixels",
    "tif1": "the TIFF's decoded pixels",
    "dpx1": "the DPX's decoded pixels",
}
#: the scheme each container's files are bound by
SCHEME_OF = {"mp4": "vp1", "mkv": "vp1", "png": "png1", "jpeg": "jpg1", "exr": "exr1", "tiff": "tif1", "dpx": "dpx1"}
DIGEST_CHARS = 43    #: base64url of 32 bytes, unpadded

_H264_VCL = frozenset(range(1, 6))      # non-IDR and IDR slices, partitions A–C
_HEVC_VCL = frozenset(range(0, 32))     # every slice segment type


def _encode(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def scheme_for(path: Path) -> str:
    return SCHEME_OF[container_of(Path(path))]


def content_digest(path: str | Path, scheme: str | None = None) -> str:
    """``<scheme>=<digest>`` of ``path``'s content (the scheme its container uses by default)."""
    path = Path(path)
    scheme = scheme or scheme_for(path)
    digesters: dict[str, Callable[[Path], bytes]] = {"vp1": _video_digest, "png1": _png_digest,
                                                     "jpg1": _jpeg_digest, "exr1": _decoded_digest,
                                                     "tif1": _decoded_digest, "dpx1": _decoded_digest}
    if scheme not in digesters:
        raise MediaError(f"{path}: unknown content digest scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    return f"{scheme}={_encode(digesters[scheme](path))}"


def bytes_digest(data: bytes, scheme: str) -> str:
    """``<scheme>=<digest>`` of an encoded PNG or JPEG held in memory (before its label is inserted)."""
    parts = {"png1": _png_parts, "jpg1": _jpeg_parts}
    if scheme not in parts:
        raise MediaError(f"content digest scheme {scheme!r} is computed from a file, not from bytes")
    return f"{scheme}={_encode(_hash(parts[scheme](data)))}"


def _hash(parts: Iterable[bytes]) -> bytes:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(struct.pack(">Q", len(part)))
        sha.update(part)
    return sha.digest()


# -- video ---------------------------------------------------------------------------------------

def _nal_units(data: bytes, length_size: int | None) -> Iterable[bytes]:
    """The NAL units of one packet: length-prefixed (``length_size`` bytes) or Annex B."""
    if length_size:
        pos = 0
        while pos + length_size <= len(data):
            size = int.from_bytes(data[pos:pos + length_size], "big")
            yield data[pos + length_size:pos + length_size + size]
            pos += length_size + size
        return
    starts = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        starts.append(pos + 3)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    for n, start in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(data)
        yield data[start:end].rstrip(b"\x00")   # a 4-byte start code's zero, trailing_zero_8bits


def _length_size(codec: str, extradata: bytes | None) -> int | None:
    """The NAL length prefix size an ``avcC``/``hvcC`` record declares; ``None`` for Annex B."""
    if not extradata or extradata[0] != 1:
        return None
    if codec == "h264" and len(extradata) >= 5:
        return (extradata[4] & 3) + 1
    if codec == "hevc" and len(extradata) >= 22:
        return (extradata[21] & 3) + 1
    return None


def _picture_units(codec: str, packet: bytes, length_size: int | None) -> Iterable[bytes]:
    if codec == "h264":
        return (u for u in _nal_units(packet, length_size) if u and (u[0] & 0x1F) in _H264_VCL)
    if codec == "hevc":
        return (u for u in _nal_units(packet, length_size) if u and ((u[0] >> 1) & 0x3F) in _HEVC_VCL)
    return (packet,)


def _video_digest(path: Path) -> bytes:
    import av

    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaUnreadableError(f"{path} cannot be read to check what its label covers: {exc}") from exc
    with container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream, so its label's content cannot be checked")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        length_size = _length_size(codec, stream.codec_context.extradata)

        def parts() -> Iterable[bytes]:
            yield codec.encode("ascii")
            try:
                for packet in container.demux(stream):
                    if packet.size:
                        yield b"".join(_picture_units(codec, bytes(packet), length_size))
            except av.error.FFmpegError as exc:
                raise MediaUnreadableError(f"{path} is damaged: its video packets cannot be read ({exc})") from exc
        return _hash(parts())


# -- images --------------------------------------------------------------------------------------

_PNG_IMAGE_CHUNKS = (b"IHDR", b"PLTE", b"tRNS", b"IDAT")


def _png_parts(data: bytes) -> list[bytes]:
    return [kind + body for kind, body, _ in _png_chunks(data) if kind in _PNG_IMAGE_CHUNKS]


def _jpeg_parts(data: bytes) -> list[bytes]:
    segments = _jpeg_segments(data)
    parts = [bytes([marker]) + payload for marker, payload, _, _ in segments
             if not (0xE0 <= marker <= 0xEF or marker == 0xFE)]
    scan = segments[-1][3] if segments else 2
    parts.append(data[scan:])     # SOS onwards: the scans, their tables, EOI
    return parts


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MediaUnreadableError(f"{path} cannot be read: {exc.strerror or exc}") from exc


def _png_digest(path: Path) -> bytes:
    return _hash(_png_parts(_read(path)))


def _jpeg_digest(path: Path) -> bytes:
    return _hash(_jpeg_parts(_read(path)))


def _decoded_digest(path: Path) -> bytes:
    try:
        import OpenImageIO as oiio
    except ImportError as exc:
        raise DependencyMissingError(f"checking what a {path.suffix} file's label covers needs OpenImageIO: "
                                     "pip install 'faceright[exr]'") from exc
    image = oiio.ImageInput.open(str(path))
    if image is None:
        raise MediaUnreadableError(f"{path} cannot be read: {oiio.geterror()}")
    try:
        spec = image.spec()
        parts = [f"{spec.x},{spec.y},{spec.width},{spec.height}".encode("ascii")]
        for channel, name in enumerate(spec.channelnames):
            kind = spec.channelformat(channel)
            pixels = image.read_image(0, 0, channel, channel + 1, kind)
            if pixels is None:
                raise MediaUnreadableError(f"{path}: channel {name} cannot be decoded: {image.geterror()}")
            parts += [f"{name}:{kind}".encode("utf-8"), pixels.tobytes()]
    finally:
        image.close()
    return _hash(parts)
