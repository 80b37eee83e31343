"""Every PNG writer puts the AIGC label in one place: XMP ``TC260:AIGC``, read here by a chunk
parser and an XML parser of the test's own, then proven by ``label verify``."""
from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from faceright.engine.media import SequenceWriter
from faceright.labels.aigc import build_label, label_signer
from faceright.labels.metadata import write_image
from faceright.labels.verify import verify_file
from label_support import codes

pytestmark = pytest.mark.hostside

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate

TC260 = "{http://www.tc260.org.cn/ns/AIGC/1.0/}AIGC"


def text_chunks(path):
    """(chunk type, keyword, text) of every text chunk, read with struct and zlib only."""
    data, pos, found = path.read_bytes(), 8, []
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        keyword, _, rest = body.partition(b"\0")
        if kind == b"tEXt":
            found.append(("tEXt", keyword.decode("latin-1"), rest.decode("latin-1")))
        elif kind == b"zTXt":
            found.append(("zTXt", keyword.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")))
        elif kind == b"iTXt":
            compressed, text = rest[0], rest[2:].split(b"\0", 2)[2]
            found.append(("iTXt", keyword.decode("latin-1"), (zlib.decompress(text) if compressed else text).decode()))
        pos += 12 + length
    return found


def xmp_labels(path):
    """Every TC260:AIGC value in the file's XMP packets, by an XML parser (as exiftool reads XMP)."""
    values = []
    for _, keyword, packet in text_chunks(path):
        if keyword == "XML:com.adobe.xmp":
            meta = packet[packet.index("<x:xmpmeta"):packet.index("</x:xmpmeta>") + len("</x:xmpmeta>")]
            values += [e.attrib[TC260] for e in ET.fromstring(meta).iter() if TC260 in e.attrib]
    return values


def only_label_is_xmp(path, value):
    chunks = text_chunks(path)
    assert xmp_labels(path) == [value]
    assert [c for c in chunks if "aigc" in c[1].lower()] == []           # no second copy as a text chunk
    assert sum(c[1] == "XML:com.adobe.xmp" for c in chunks) == 1
    with Image.open(path) as image:                                    # Pillow sees the same: no AIGC key
        assert "AIGC" not in image.text


def test_a_frame_written_by_the_sequence_writer_carries_the_label_as_xmp_only_and_verify_proves_it(settings, tmp_path):
    signer = label_signer(settings)
    frame = np.full((36, 64, 3), 120, np.uint8)
    with SequenceWriter(tmp_path / "shot.%04d.png", label=signer) as writer:
        first = writer.write(frame)
        writer.write(frame)
    only_label_is_xmp(first, signer.signed.to_json())    # the same pixels: the same bound label
    report = verify_file(first, settings)
    assert report.proven, report.findings
    assert {"aigc.present", "aigc.signature_valid"} <= codes(report.findings)
    assert [o["location"].endswith("/xmp:TC260:AIGC") for o in report.evidence["metadata"]["occurrences"]] == [True]


def test_label_apply_and_the_sequence_writer_put_the_png_label_in_the_same_place(settings, tmp_path):
    value = build_label(settings).to_json()
    cv2.imwrite(str(tmp_path / "plain.png"), np.full((36, 64, 3), 120, np.uint8))
    write_image(tmp_path / "plain.png", tmp_path / "applied.png", value)
    with SequenceWriter(tmp_path / "swap.%04d.png", metadata={"AIGC": value}) as writer:
        swapped = writer.write(np.full((36, 64, 3), 120, np.uint8))
    only_label_is_xmp(tmp_path / "applied.png", value)
    only_label_is_xmp(swapped, value)
    assert [c[:2] for c in text_chunks(tmp_path / "applied.png")] == [c[:2] for c in text_chunks(swapped)]
