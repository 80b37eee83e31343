"""The AIGC object in real files, read back by readers that share no code with the writer."""
from __future__ import annotations

import json
import shutil
import struct

import cv2
import pytest

from faceright.engine.media.video import remux
from faceright.labels.aigc import build_label
from faceright.labels.content import content_digest
from faceright.labels.apply import apply_labels
from faceright.labels.metadata import XMP_UUID, read_metadata, xmp_packet, xmp_values
from faceright.labels.verify import check_metadata
from label_support import PROVIDER, errors, raw_remux, signed_json

FFPROBE = shutil.which("ffprobe")

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate


def test_mp4_label_sits_in_moov_udta_meta_keys_and_every_reader_sees_the_same_value(plate, settings, tmp_path):
    out = apply_labels(plate, tmp_path / "shot.mp4", settings).path
    evidence = read_metadata(out)
    structure = evidence.by("structure")
    assert [o.location for o in structure] == ["mp4:moov/udta/meta/keys[1]"]
    assert {o.key for o in structure} == {"AIGC"}
    assert len(evidence.by("pyav")) == 1 and evidence.by("pyav")[0].value == structure[0].value
    if FFPROBE:   # Debian's ffprobe, when installed, is a third reader
        assert evidence.by("ffprobe")[0].value == structure[0].value
    assert json.loads(structure[0].value)["ContentProducer"] == PROVIDER
    assert errors(check_metadata(evidence, settings)) == set()


def test_labelling_by_remux_copies_every_frame_and_the_audio_without_reencoding(plate, settings, tmp_path):
    import av

    out = apply_labels(plate, tmp_path / "shot.mov", settings).path
    with av.open(str(plate)) as a, av.open(str(out)) as b:
        pa = [bytes(p) for p in a.demux(a.streams.video[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.video[0]) if p.size]
        assert pa == pb and len(b.streams.audio) == 1


def test_a_tag_written_without_use_metadata_tags_is_silently_dropped_and_verify_says_absent(plate, settings, tmp_path):
    dropped = raw_remux(plate, tmp_path / "dropped.mp4", {"AIGC": build_label(settings).to_json()})   # exit status fine, no warning
    evidence = read_metadata(dropped)
    assert evidence.occurrences == []
    findings = check_metadata(evidence, settings)
    assert errors(findings) == {"aigc.absent"}
    assert "use_metadata_tags" in findings[0].message


def test_two_aigc_keys_in_one_file_are_a_duplicate(plate, settings, keys, tmp_path):
    value = signed_json(settings, keys)
    two = raw_remux(plate, tmp_path / "two.mp4", {"AIGC": value, "com.tc260.AIGC": value},
                    options={"movflags": "use_metadata_tags"})
    findings = check_metadata(read_metadata(two), settings)
    assert "aigc.duplicate" in errors(findings)
    assert "com.tc260.AIGC" in next(f for f in findings if f.code == "aigc.duplicate").message


def test_an_xmp_copy_beside_the_container_key_is_a_duplicate_in_another_location(plate, settings, tmp_path):
    out = apply_labels(plate, tmp_path / "shot.mp4", settings).path
    value = read_metadata(out).by("pyav")[0].value
    xmp = xmp_packet(value).encode()
    with out.open("ab") as fh:                       # a top-level XMP uuid box, as some exporters add
        fh.write(struct.pack(">I4s", 8 + 16 + len(xmp), b"uuid") + XMP_UUID + xmp)
    evidence = read_metadata(out)
    assert sorted(o.location.split("@")[0] for o in evidence.by("structure")) == \
        sorted(["mp4:moov/udta/meta/keys[1]", "mp4:uuid"])
    assert "aigc.duplicate" in errors(check_metadata(evidence, settings))


def test_malformed_json_in_the_key_is_named(plate, settings, tmp_path):
    bad = remux(plate, tmp_path / "bad.mp4", metadata={"AIGC": '{"Label":"1","ContentProducer":'})
    assert "aigc.malformed_json" in errors(check_metadata(read_metadata(bad), settings))


def test_fields_out_of_order_are_named(plate, settings, keys, tmp_path):
    fields = json.loads(signed_json(settings, keys, content_digest(plate)))   # bound to the plate's packets
    shuffled = json.dumps({k: fields[k] for k in reversed(list(fields))}, separators=(",", ":"))
    bad = remux(plate, tmp_path / "order.mp4", metadata={"AIGC": shuffled})
    findings = check_metadata(read_metadata(bad), settings)
    assert errors(findings) == {"aigc.field_order"}      # the signature still holds: only the order is wrong


def test_a_tampered_label_fails_its_signature(plate, settings, tmp_path):
    out = apply_labels(plate, tmp_path / "shot.mp4", settings).path
    fields = json.loads(read_metadata(out).by("pyav")[0].value)
    fields["Label"] = "3"                              # "merely suspected": a downgrade someone might try
    forged = remux(out, tmp_path / "forged.mp4", metadata={"AIGC": json.dumps(fields, separators=(",", ":"))})
    findings = check_metadata(read_metadata(forged), settings)
    assert errors(findings) == {"aigc.signature_invalid"}


def test_mkv_label_is_a_simple_tag(plate, settings, tmp_path):
    out = apply_labels(plate, tmp_path / "shot.mkv", settings).path
    evidence = read_metadata(out)
    assert [o.key for o in evidence.by("structure")] == ["AIGC"]
    assert evidence.by("structure")[0].value == evidence.by("pyav")[0].value
    assert errors(check_metadata(evidence, settings)) == set()


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_images_carry_the_label_as_tc260_xmp_and_keep_their_pixels(still, settings, tmp_path, suffix):
    src = tmp_path / f"comp{suffix}"
    cv2.imwrite(str(src), cv2.resize(still, (320, 240)))
    out = apply_labels(src, tmp_path / f"labelled{suffix}", settings).path
    evidence = read_metadata(out)
    assert [o.key for o in evidence.by("structure")] == ["TC260:AIGC"]
    assert errors(check_metadata(evidence, settings)) == set()
    assert (cv2.imread(str(out)) == cv2.imread(str(src))).all()        # bytes inserted, nothing re-encoded
    if suffix == ".png":
        from PIL import Image

        with Image.open(out) as image:   # Pillow, a reader we did not write, finds the XMP packet
            assert "TC260:AIGC" in image.info["XML:com.adobe.xmp"]


def test_labelling_an_image_with_xmp_merges_instead_of_overwriting(settings, tmp_path):
    existing = xmp_packet("placeholder").replace("TC260:AIGC", "dc:creator").replace(
        "xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\"", 'xmlns:dc="http://purl.org/dc/elements/1.1/"')
    merged = xmp_packet('{"Label":"1"}', existing)
    assert 'dc:creator="placeholder"' in merged and xmp_values(merged) == ['{"Label":"1"}']
    relabelled = xmp_packet('{"Label":"2"}', merged)
    assert xmp_values(relabelled) == ['{"Label":"2"}']          # replaced, never two


def test_exr_label_is_a_header_attribute(settings, tmp_path):
    oiio = pytest.importorskip("OpenImageIO", reason="EXR labelling needs the optional exr extra (openimageio), part of faceright[test]")
    import numpy as np

    src = tmp_path / "plate.exr"
    buf = oiio.ImageBuf(oiio.ImageSpec(64, 32, 3, oiio.HALF))
    oiio.ImageBufAlgo.fill(buf, (0.2, 0.4, 0.6))
    assert buf.write(str(src))
    out = apply_labels(src, tmp_path / "labelled.exr", settings).path
    evidence = read_metadata(out)
    assert [o.location for o in evidence.by("structure")] == ["exr:header[AIGC]"]
    assert errors(check_metadata(evidence, settings)) == set()
    assert np.allclose(oiio.ImageBuf(str(out)).get_pixels(), oiio.ImageBuf(str(src)).get_pixels())
