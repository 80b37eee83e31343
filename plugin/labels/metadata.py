"""Where the AIGC object lives in each container, written and read back.

Writing: video (MP4/MOV/MKV) through container metadata — see :mod:`.rewrite` — and images
by inserting bytes, never by re-encoding pixels: PNG gets an ``iTXt`` XMP chunk (every PNG
writer through :func:`png_with_label`), JPEG an APP1 XMP segment (XMP property ``TC260:AIGC``,
namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/``, merged into XMP already there), EXR a
string header attribute ``AIGC`` (through OpenImageIO), TIFF an XMP packet in IFD 0 (tag 700,
inserted beside the image data), DPX its user-defined data (identified ``TC260:AIGC``).

Reading: every place an AIGC object can hide is listed, by three readers that share no code
with the writer: a structural parser of the file's bytes here (MP4 boxes ``keys``/``ilst`` and
XMP ``uuid`` boxes, Matroska ``SimpleTag``, PNG chunks, JPEG segments, EXR header, TIFF IFDs,
DPX user data), PyAV opened
afresh (libavformat's view, what platforms' ffmpeg-based tools see) and ``ffprobe`` when it is
installed. Two occurrences anywhere are two labels (GB 45438 §6.1 c: exactly one per file).
"""
from __future__ import annotations

import contextlib
import html
import json
import logging
import mmap
import os
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

from faceright.errors import DependencyMissingError, MediaError, MediaUnreadableError

log = logging.getLogger(__name__)

Container = Literal["mp4", "mkv", "png", "jpeg", "exr", "tiff", "dpx"]
SUFFIXES: dict[str, Container] = {
    ".mp4": "mp4", ".mov": "mp4", ".m4v": "mp4", ".mkv": "mkv", ".webm": "mkv",
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".exr": "exr", ".tif": "tiff", ".tiff": "tiff", ".dpx": "dpx",
}
VIDEO_CONTAINERS: tuple[Container, ...] = ("mp4", "mkv")
#: the metadata key (container tag / EXR attribute) that holds the object; XMP has TC260:AIGC
AIGC_KEY = "AIGC"
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
XMP_KEYWORD = "XML:com.adobe.xmp"          #: the PNG iTXt keyword of an XMP packet
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
_JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_PROPERTY = re.compile(r'TC260:AIGC\s*=\s*"([^"]*)"|TC260:AIGC\s*=\s*\'([^\']*)\'|<TC260:AIGC>(.*?)</TC260:AIGC>', re.S)
_AIGC_NAME = re.compile(r"aigc", re.I)


def container_of(path: Path) -> Container:
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError as exc:
        raise MediaError(
            f"{path}: no AIGC label location is known for {path.suffix or 'files without a suffix'}; "
            f"supported: {', '.join(sorted(SUFFIXES))}"
        ) from exc


#: what each container is called in messages
CONTAINER_NAMES: dict[Container, str] = {"mp4": "an MP4/MOV", "mkv": "a Matroska (MKV/WebM)", "png": "a PNG",
                                         "jpeg": "a JPEG", "exr": "an OpenEXR", "tiff": "a TIFF", "dpx": "a DPX"}
_MP4_BOX_TYPE = re.compile(rb"^[A-Za-z0-9 \xa9_-]{4}$")


def check_container(path: Path, container: Container | None = None) -> Container:
    """Refuse a file that is not the container its suffix says, before any reader runs: an empty
    file, text or another format named ``.mkv``. Only the first bytes are read; a file that starts
    right but is damaged further on is the readers' to report."""
    container = container or container_of(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise MediaUnreadableError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    what = CONTAINER_NAMES[container]
    if size == 0:
        raise MediaUnreadableError(f"{path} is empty (0 bytes), not {what} file; render or copy it again")
    if not _starts_as(container, head, size):
        raise MediaUnreadableError(
            f"{path} is not {what} file (it starts with {head[:8]!r}); check that it is the file you meant: "
            f"its {path.suffix} name does not make it one")
    return container


def _starts_as(container: Container, head: bytes, size: int) -> bool:
    if container == "mp4":
        if len(head) < 8 or not _MP4_BOX_TYPE.match(head[4:8]):
            return False
        box = struct.unpack(">I", head[:4])[0]
        return box in (0, 1) or 8 <= box <= size
    if container == "tiff":
        return head[:4] in _TIFF_MAGIC
    if container == "dpx":
        return head[:4] in (b"SDPX", b"XPDS")
    magic = {"mkv": b"\x1a\x45\xdf\xa3", "png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff",
             "exr": b"\x76\x2f\x31\x01"}[container]
    return head.startswith(magic)


@dataclass(frozen=True)
class Occurrence:
    """One AIGC object found in a file: which reader saw it, where, under which key."""

    reader: Literal["structure", "pyav", "ffprobe"]
    location: str
    key: str
    value: str


@dataclass
class MetadataEvidence:
    path: Path
    container: Container
    occurrences: list[Occurrence] = field(default_factory=list)
    readers: list[str] = field(default_factory=list)      #: readers that ran
    problems: list[str] = field(default_factory=list)     #: readers that failed, and why

    def by(self, reader: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.reader == reader]

    def to_json(self) -> dict:
        return {
            "container": self.container,
            "readers": self.readers,
            "occurrences": [{"reader": o.reader, "location": o.location, "key": o.key, "value": o.value}
                            for o in self.occurrences],
            "problems": self.problems,
        }


# -- XMP ---------------------------------------------------------------------------------------

def xmp_packet(value: str, existing: str | None = None) -> str:
    """An XMP packet carrying ``TC260:AIGC`` = ``value``, merged into ``existing`` XMP if given."""
    attribute = html.escape(value, quote=True)
    description = (f'<rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}" TC260:AIGC="{attribute}"/>')
    if existing:
        cleaned = _XMP_PROPERTY.sub("", existing)
        match = re.search(r"<rdf:RDF\b[^>]*>", cleaned)
        if match:
            return cleaned[:match.end()] + description + cleaned[match.end():]
        log.warning("existing XMP has no rdf:RDF element; replacing it with a new packet")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f"{description}</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>")


def xmp_values(xmp: str) -> list[str]:
    """Every ``TC260:AIGC`` value in an XMP packet (attribute or element form)."""
    return [html.unescape(next(g for g in m.groups() if g is not None)) for m in _XMP_PROPERTY.finditer(xmp)]


# -- PNG -----------------------------------------------------------------------------------------

def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise MediaError("not a PNG file (bad signature)")
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append((kind, data[pos + 8:pos + 8 + length], pos))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _png_text(kind: bytes, body: bytes) -> tuple[str, str] | None:
    keyword, _, rest = body.partition(b"\x00")
    if kind == b"tEXt":
        return keyword.decode("latin-1"), rest.decode("latin-1")
    if kind == b"iTXt":
        compressed, rest = rest[0], rest[2:]
        _lang, _, rest = rest.partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        if compressed:
            text = zlib.decompress(text)
        return keyword.decode("latin-1"), text.decode("utf-8", "replace")
    if kind == b"zTXt":
        return keyword.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")
    return None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_with_label(png: bytes, value: str) -> bytes:
    """``png`` carrying ``value`` as its only AIGC object: XMP ``TC260:AIGC`` in an ``iTXt`` chunk
    before the image data, merged into the XMP already there; other AIGC text chunks are dropped.

    Every faceright PNG writer (``label apply``, the swap's sequence writer) labels through this.
    """
    existing = None
    kept = []
    for kind, body, pos in _png_chunks(png):
        text = _png_text(kind, body)
        if text and text[0] == XMP_KEYWORD:
            existing = text[1]
            continue
        if text and _AIGC_NAME.search(text[0]):
            continue
        kept.append((kind, body))
    xmp = xmp_packet(value, existing).encode("utf-8")
    itxt = _chunk(b"iTXt", XMP_KEYWORD.encode("latin-1") + b"\x00\x00\x00\x00\x00" + xmp)
    out = bytearray(png[:8])
    for kind, body in kept:
        if kind == b"IDAT" and itxt:
            out += itxt
            itxt = b""
        out += _chunk(kind, body)
    return bytes(out)


def write_png(src: Path, dst: Path, value: str) -> None:
    dst.write_bytes(png_with_label(src.read_bytes(), value))


def _read_png(path: Path) -> list[Occurrence]:
    found = []
    for kind, body, pos in _png_chunks(path.read_bytes()):
        text = _png_text(kind, body)
        if text is None:
            continue
        name, value = text
        if name == XMP_KEYWORD:
            found += [Occurrence("structure", f"png:{kind.decode()}@{pos}/xmp:TC260:AIGC", "TC260:AIGC", v)
                      for v in xmp_values(value)]
        elif _AIGC_NAME.search(name):
            found.append(Occurrence("structure", f"png:{kind.decode()}@{pos}", name, value))
    return found


# -- JPEG ----------------------------------------------------------------------------------------

def _jpeg_segments(data: bytes) -> list[tuple[int, bytes, int, int]]:
    """(marker, payload, start, end) of the segments before the scan data."""
    if data[:2] != b"\xff\xd8":
        raise MediaError("not a JPEG file (no SOI marker)")
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:        # start of scan: entropy-coded data follows
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segments.append((marker, data[pos + 4:pos + 2 + length], pos, pos + 2 + length))
        pos += 2 + length
    return segments


def write_jpeg(src: Path, dst: Path, value: str) -> None:
    data = src.read_bytes()
    segments = _jpeg_segments(data)
    existing = None
    drop: list[tuple[int, int]] = []
    insert_at = 2
    for marker, payload, start, end in segments:
        if marker == 0xE1 and payload.startswith(_JPEG_XMP_HEADER):
            existing = payload[len(_JPEG_XMP_HEADER):].decode("utf-8", "replace")
            drop.append((start, end))
        elif marker in (0xE0, 0xE1) and not drop:
            insert_at = end           # after JFIF/Exif, as readers expect
    xmp = xmp_packet(value, existing).encode("utf-8")
    payload = _JPEG_XMP_HEADER + xmp
    if len(payload) + 2 > 0xFFFF:
        raise MediaError(f"{src}: the XMP packet is {len(payload)} bytes, more than one JPEG segment holds")
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    out, pos = bytearray(), 0
    for start, end in sorted(drop + [(insert_at, insert_at)]):
        out += data[pos:start]
        if start == end == insert_at:
            out += segment
        pos = end
    out += data[pos:]
    dst.write_bytes(bytes(out))


def _read_jpeg(path: Path) -> list[Occurrence]:
    found = []
    for marker, payload, start, _ in _jpeg_segments(path.read_bytes()):
        if marker == 0xE1 and payload.startswith(_JPEG_XMP_HEADER):
            xmp = payload[len(_JPEG_XMP_HEADER):].decode("utf-8", "replace")
            found += [Occurrence("structure", f"jpeg:APP1@{start}/xmp:TC260:AIGC", "TC260:AIGC", v) for v in xmp_values(xmp)]
    return found


# -- EXR -----------------------------------------------------------------------------------------

def _rewrite_oiio(src: Path, dst: Path, what: str, fileformat: str, label: Callable[[Any, Any], None]) -> None:
    """``src`` rewritten by OpenImageIO as ``dst`` (pixels and header as they are), its spec changed by ``label``."""
    try:
        import OpenImageIO as oiio
    except ImportError as exc:
        raise DependencyMissingError(f"labelling {what} needs OpenImageIO: pip install OpenImageIO") from exc
    buf = oiio.ImageBuf(str(src))
    if buf.has_error:
        raise MediaError(f"{src}: {buf.geterror()}")
    label(oiio, buf.specmod())
    if not buf.write(str(dst), fileformat=fileformat):
        raise MediaError(f"cannot write {dst}: {buf.geterror()}")


def write_exr(src: Path, dst: Path, value: str) -> None:
    _rewrite_oiio(src, dst, "EXR", "openexr", lambda oiio, spec: spec.attribute(AIGC_KEY, value))


def _read_exr(path: Path) -> list[Occurrence]:
    data = path.read_bytes()
    if data[:4] != b"\x76\x2f\x31\x01":
        raise MediaError("not an OpenEXR file (bad magic)")
    found, pos = [], 8
    while pos < len(data):
        end = data.index(b"\x00", pos)
        name = data[pos:end].decode("latin-1")
        if not name:
            break
        type_end = data.index(b"\x00", end + 1)
        kind = data[end + 1:type_end].decode("latin-1")
        size = struct.unpack("<i", data[type_end + 1:type_end + 5])[0]
        value = data[type_end + 5:type_end + 5 + size]
        if _AIGC_NAME.search(name) and kind == "string":
            found.append(Occurrence("structure", f"exr:header[{name}]", name, value.decode("utf-8", "replace")))
        elif kind == "string" and b"TC260:AIGC" in value:
            found += [Occurrence("structure", f"exr:header[{name}]/xmp:TC260:AIGC", "TC260:AIGC", v)
                      for v in xmp_values(value.decode("utf-8", "replace"))]
        pos = type_end + 5 + size
    return found


# -- TIFF ----------------------------------------------------------------------------------------
# The label is an XMP packet (TC260:AIGC) in IFD 0's XMP tag (700), as TIFF keeps XMP. It is put
# in by appending the packet and a copy of IFD 0 with the tag to the file and pointing the header
# at that copy: the image data and every other tag's bytes stay where they are.

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_TIFF_XMP, _TIFF_DESCRIPTION = 700, 270
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def _tiff_ifds(data: bytes) -> tuple[str, list[tuple[int, list[tuple[int, int, int, bytes]], int]]]:
    """The byte order and every IFD: (offset, [(tag, type, count, value bytes)], next offset)."""
    if data[:4] not in _TIFF_MAGIC:
        raise MediaError("not a TIFF file (bad byte-order mark)")
    if data[2:4] in (b"+\x00", b"\x00+"):
        raise MediaError("a BigTIFF file: its AIGC label cannot be read or written here; write a classic TIFF")
    order = "<" if data[:2] == b"II" else ">"
    ifds, offset, seen = [], struct.unpack(order + "I", data[4:8])[0], set()
    while offset and offset not in seen and offset + 2 <= len(data):
        seen.add(offset)
        count = struct.unpack(order + "H", data[offset:offset + 2])[0]
        entries = []
        for at in range(offset + 2, offset + 2 + 12 * count, 12):
            tag, kind, number = struct.unpack(order + "HHI", data[at:at + 8])
            size = _TIFF_TYPE_SIZES.get(kind, 1) * number
            where = at + 8 if size <= 4 else struct.unpack(order + "I", data[at + 8:at + 12])[0]
            entries.append((tag, kind, number, data[where:where + size]))
        end = offset + 2 + 12 * count
        following = struct.unpack(order + "I", data[end:end + 4])[0] if end + 4 <= len(data) else 0
        ifds.append((offset, entries, following))
        offset = following
    if not ifds:
        raise MediaError("a TIFF file without an image directory")
    return order, ifds


def tiff_with_label(tiff: bytes, value: str) -> bytes:
    """``tiff`` carrying ``value`` as its only AIGC object: XMP ``TC260:AIGC`` in IFD 0, merged
    into the XMP already there (an ImageDescription holding an AIGC object is dropped)."""
    order, ifds = _tiff_ifds(tiff)
    first_at, entries, following = ifds[0]
    existing = next((v.decode("utf-8", "replace") for t, _, _, v in entries if t == _TIFF_XMP), None)
    packet = xmp_packet(value, existing).encode("utf-8")
    out = bytearray(tiff)
    out += b"\x00" * (len(out) % 2)
    packet_at = len(out)
    out += packet + b"\x00" * (len(packet) % 2)
    ifd_at = len(out)
    kept = [(tag, kind, number, raw, index) for index, (tag, kind, number, raw) in enumerate(entries)
            if tag != _TIFF_XMP and not (tag == _TIFF_DESCRIPTION and _AIGC_NAME.search(raw.decode("latin-1")))]
    rows = []
    for tag, kind, number, raw, index in kept:   # each other entry's 12 bytes as they were
        at = first_at + 2 + 12 * index
        rows.append((tag, tiff[at:at + 12]))
    rows.append((_TIFF_XMP, struct.pack(order + "HHII", _TIFF_XMP, 1, len(packet), packet_at)))
    rows.sort(key=lambda row: row[0])
    out += struct.pack(order + "H", len(rows)) + b"".join(row for _, row in rows) + struct.pack(order + "I", following)
    out[4:8] = struct.pack(order + "I", ifd_at)
    return bytes(out)


def write_tiff(src: Path, dst: Path, value: str) -> None:
    dst.write_bytes(tiff_with_label(src.read_bytes(), value))


def _read_tiff(path: Path) -> list[Occurrence]:
    found = []
    for number, (offset, entries, _) in enumerate(_tiff_ifds(path.read_bytes())[1]):
        for tag, kind, _, raw in entries:
            text = raw.rstrip(b"\x00").decode("utf-8", "replace")
            if tag == _TIFF_XMP or (tag == _TIFF_DESCRIPTION and "TC260:AIGC" in text):
                found += [Occurrence("structure", f"tiff:IFD{number}@{offset}/{tag}/xmp:TC260:AIGC", "TC260:AIGC", v)
                          for v in xmp_values(text)]
            elif kind == 2 and _AIGC_NAME.search(text[:64]) and text.lstrip().startswith("{"):
                found.append(Occurrence("structure", f"tiff:IFD{number}@{offset}/{tag}", f"tag {tag}", text))
    return found


# -- DPX -----------------------------------------------------------------------------------------
# The label is the DPX's user-defined data: its 32-byte identification "TC260:AIGC", then the AIGC
# object (SMPTE 268M: the user data follows the industry header; its size is in the file header).

DPX_USER_ID = b"TC260:AIGC"


def dpx_user_data(value: str) -> bytes:
    """The user-defined data block that carries ``value`` in a DPX file."""
    return DPX_USER_ID.ljust(32, b"\x00") + value.encode("utf-8")


def write_dpx(src: Path, dst: Path, value: str) -> None:
    import numpy as np

    block = np.frombuffer(dpx_user_data(value), np.uint8)
    _rewrite_oiio(src, dst, "DPX", "dpx",
                  lambda oiio, spec: spec.attribute("dpx:UserData", oiio.TypeDesc(f"uint8[{len(block)}]"), block))


def _read_dpx(path: Path) -> list[Occurrence]:
    with path.open("rb") as fh:
        header = fh.read(2048)
        if header[:4] not in (b"SDPX", b"XPDS"):
            raise MediaError("not a DPX file (bad magic)")
        order = ">" if header[:4] == b"SDPX" else "<"
        generic, industry, user = struct.unpack(order + "III", header[24:36])
        if user in (0, 0xFFFFFFFF) or user <= 32:
            return []
        fh.seek(generic + industry)
        block = fh.read(min(user, 1 << 20))
    ident = block[:32].rstrip(b"\x00").decode("latin-1")
    if not _AIGC_NAME.search(ident):
        return []
    value = block[32:].rstrip(b"\x00").decode("utf-8", "replace")
    return [Occurrence("structure", f"dpx:UserData@{generic + industry}[{ident}]", ident, value)]


# -- MP4 / MOV -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[mmap.mmap]:
    """The file's bytes without reading a multi-gigabyte master into memory."""
    with path.open("rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            raise MediaError(f"{path} is empty")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        yield kind.decode("latin-1"), pos + header, pos + size, pos
        pos += size


def _meta_items(data: bytes, start: int, end: int, where: str) -> list[Occurrence]:
    # ISO 'meta' is a full box (4 bytes version/flags); QuickTime's is not: tell by what follows
    if data[start + 4:start + 8] not in (b"hdlr", b"keys", b"ilst"):
        start += 4
    keys: list[str] = []
    items: dict[int, str] = {}
    for kind, s, e, _ in _boxes(data, start, end):
        if kind == "keys":
            count = struct.unpack(">I", data[s + 4:s + 8])[0]
            pos = s + 8
            for _ in range(count):
                size = struct.unpack(">I", data[pos:pos + 4])[0]
                keys.append(data[pos + 8:pos + size].decode("utf-8", "replace"))
                pos += size
        elif kind == "ilst":
            for item, is_, ie, _ in _boxes(data, s, e):
                index = struct.unpack(">I", item.encode("latin-1"))[0]
                for sub, ds, de, _ in _boxes(data, is_, ie):
                    if sub == "data":
                        items[index] = data[ds + 8:de].decode("utf-8", "replace")
    found = []
    for number, name in enumerate(keys, start=1):
        if _AIGC_NAME.search(name):
            found.append(Occurrence("structure", f"mp4:{where}/meta/keys[{number}]", name, items.get(number, "")))
    return found


def _read_mp4(path: Path) -> list[Occurrence]:
    with _mapped(path) as data:
        return _walk_mp4(data)


def _walk_mp4(data: mmap.mmap) -> list[Occurrence]:
    found: list[Occurrence] = []

    def walk(start: int, end: int, where: str) -> None:
        for kind, s, e, pos in _boxes(data, start, end):
            here = f"{where}/{kind}" if where else kind
            if kind in ("moov", "trak", "udta"):
                walk(s, e, here)
            elif kind == "meta":
                found.extend(_meta_items(data, s, e, where or "."))
            elif kind == "uuid" and data[s:s + 16] == XMP_UUID:
                xmp = data[s + 16:e].decode("utf-8", "replace")
                found.extend(Occurrence("structure", f"mp4:{here}@{pos}/xmp:TC260:AIGC", "TC260:AIGC", v)
                             for v in xmp_values(xmp))
            elif kind == "XMP_":
                found.extend(Occurrence("structure", f"mp4:{here}/xmp:TC260:AIGC", "TC260:AIGC", v)
                             for v in xmp_values(data[s:e].decode("utf-8", "replace")))

    walk(0, len(data), "")
    return found


# -- Matroska --------------------------------------------------------------------------------------

def _ebml_size(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    value = first & (0xFF >> length)
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
    return value, pos + length


def _read_mkv(path: Path) -> list[Occurrence]:
    """Every SimpleTag whose TagName (0x45A3) mentions AIGC, with its TagString (0x4487)."""
    with _mapped(path) as data:
        return _scan_mkv(data)


def _scan_mkv(data: mmap.mmap) -> list[Occurrence]:
    found = []
    for match in re.finditer(rb"\x45\xa3", data):
        try:
            size, start = _ebml_size(data, match.end())
        except IndexError:
            continue
        name = data[start:start + size]
        if not 0 < size < 64 or not re.search(rb"aigc", name, re.I):
            continue
        pos = start + size
        value = ""
        if data[pos:pos + 2] == b"\x44\x7a":          # TagLanguage may come first
            lsize, lstart = _ebml_size(data, pos + 2)
            pos = lstart + lsize
        if data[pos:pos + 2] == b"\x44\x87":
            vsize, vstart = _ebml_size(data, pos + 2)
            value = data[vstart:vstart + vsize].decode("utf-8", "replace")
        found.append(Occurrence("structure", f"mkv:Tags/SimpleTag@{match.start()}", name.decode("utf-8", "replace"), value))
    return found


_STRUCTURE_READERS = {"mp4": _read_mp4, "mkv": _read_mkv, "png": _read_png, "jpeg": _read_jpeg, "exr": _read_exr,
                      "tiff": _read_tiff, "dpx": _read_dpx}


# -- libav readers ---------------------------------------------------------------------------------

def _read_pyav(path: Path) -> list[Occurrence]:
    import av

    found = []
    with av.open(str(path)) as container:
        for key, value in container.metadata.items():
            if _AIGC_NAME.search(key):
                found.append(Occurrence("pyav", "format", key, value))
        for stream in container.streams:
            for key, value in stream.metadata.items():
                if _AIGC_NAME.search(key):
                    found.append(Occurrence("pyav", f"stream:{stream.index}", key, value))
    return found


def _start_ffprobe(path: Path, ffprobe: str) -> subprocess.Popen:
    """ffprobe started on ``path``: it runs (most of it is its own start-up) while the other readers read."""
    return subprocess.Popen(
        [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _read_ffprobe(path: Path, probe: subprocess.Popen) -> list[Occurrence]:
    try:
        stdout, stderr = probe.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate()
        raise
    if probe.returncode != 0:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        raise MediaError(f"ffprobe failed on {path}: {lines[-1] if lines else f'exit code {probe.returncode}'}")
    report = json.loads(stdout)
    found = [Occurrence("ffprobe", "format.tags", k, v)
             for k, v in report.get("format", {}).get("tags", {}).items() if _AIGC_NAME.search(k)]
    for stream in report.get("streams", []):
        found += [Occurrence("ffprobe", f"streams[{stream.get('index')}].tags", k, v)
                  for k, v in stream.get("tags", {}).items() if _AIGC_NAME.search(k)]
    return found


def read_metadata(path: Path, *, use_ffprobe: bool = True) -> MetadataEvidence:
    """Every AIGC occurrence in ``path``, as each independent reader sees it."""
    container = container_of(path)
    evidence = MetadataEvidence(path, container)
    readers = [("structure", lambda: _STRUCTURE_READERS[container](path))]
    probe: subprocess.Popen | None = None
    if container in VIDEO_CONTAINERS:
        readers.append(("pyav", lambda: _read_pyav(path)))
        ffprobe = shutil.which("ffprobe") if use_ffprobe else None
        if ffprobe:
            try:   # started now, read in its turn: it runs while the readers before it read
                probe = _start_ffprobe(path, ffprobe)
            except OSError as exc:
                evidence.problems.append(f"ffprobe: {exc}")
            else:
                readers.append(("ffprobe", lambda: _read_ffprobe(path, probe)))
    try:
        for name, read in readers:
            try:
                evidence.occurrences.extend(read())
                evidence.readers.append(name)
            except (MediaError, OSError, ValueError, IndexError, struct.error, subprocess.TimeoutExpired) as exc:
                evidence.problems.append(f"{name}: {exc}")
            except Exception as exc:  # av.error.* derive from OSError/ValueError mostly; keep the reason
                evidence.problems.append(f"{name}: {type(exc).__name__}: {exc}")
    finally:
        if probe is not None and probe.poll() is None:
            probe.kill()     # interrupted before its turn came
            probe.wait()
    return evidence


def write_image(src: Path, dst: Path, value: str) -> None:
    """Write an image copy of ``src`` to ``dst`` carrying ``value`` as its only AIGC object."""
    container = container_of(src)
    writers = {"png": write_png, "jpeg": write_jpeg, "exr": write_exr, "tiff": write_tiff, "dpx": write_dpx}
    if container not in writers:
        raise MediaError(f"{src} is not an image container ({container})")
    writers[container](src, dst, value)


def patch_label(path: Path, placeholder: str, value: str) -> int:
    """Overwrite ``placeholder`` with ``value`` (the same length in bytes) where it is in ``path``'s
    bytes, in place; return its offset. How a container written before its content's digest was
    known gets its signed label: nothing else in the file moves (see :mod:`.aigc`)."""
    old, new = placeholder.encode("utf-8"), value.encode("utf-8")
    if len(old) != len(new):
        raise ValueError(f"the label ({len(new)} bytes) must replace a placeholder of the same length ({len(old)})")
    chunk = 1 << 20
    with path.open("r+b") as fh:
        offset, tail = 0, b""
        while True:
            block = fh.read(chunk)
            if not block:
                raise MediaError(f"{path}: the label's placeholder is not in the written file (the muxer changed it), "
                                 "so the file cannot be signed; write .mov, .mp4 or .mkv")
            data = tail + block
            found = data.find(old)
            if found >= 0:
                at = offset - len(tail) + found
                fh.seek(at)
                fh.write(new)
                fh.flush()
                os.fsync(fh.fileno())
                return at
            tail = data[-(len(old) - 1):]
            offset += len(block)
