"""The label is bound to the file it labels: ReservedCode1 signs a digest of the content
(faceright.labels.content), so the studio's tag copied onto another file, or onto the untouched
plate, is named as a replayed label; stream copies between containers by an outside tool (ffmpeg)
keep it; a re-encode is the propagator's case and the finding says so.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import cv2
import numpy as np
import pytest

from faceright.labels.aigc import build_label, label_signer, parse_label
from faceright.labels.apply import apply_labels
from faceright.labels.content import content_digest
from faceright.labels.metadata import read_metadata, write_image
from faceright.labels.verify import verify_file
from label_support import codes, errors, raw_remux, write_clip

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate

ffmpeg = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(ffmpeg is None, reason="ffmpeg (Debian's) is the outside remuxer here")


def _label_of(path):
    return read_metadata(path, use_ffprobe=False).by("pyav")[0].value


def _copy_tag(src_with_tag, onto, dst):
    """What someone replaying a label does: the AIGC tag of one file written onto another's streams."""
    return raw_remux(onto, dst, {"AIGC": _label_of(src_with_tag)}, options={"movflags": "use_metadata_tags"})


def _ffmpeg(*args):
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True)


def test_a_label_copied_onto_the_untouched_plate_is_a_replayed_label(plate, still, settings, tmp_path):
    swapped = write_clip(tmp_path / "swapped.mp4", still, lambda f, i: cv2.flip(f, 1), frames=24,
                         label=label_signer(settings))             # an output: other pictures than the plate's
    report = verify_file(swapped, settings)
    assert report.proven and "aigc.content_bound" in codes(report.findings)
    replayed = _copy_tag(swapped, plate, tmp_path / "plate-with-tag.mp4")
    findings = verify_file(replayed, settings).findings
    assert "aigc.signature_valid" in codes(findings)          # the studio's signature, untouched ...
    assert errors(findings) == {"aigc.content_mismatch"}      # ... for other content
    mismatch = next(f for f in findings if f.code == "aigc.content_mismatch")
    assert "copied from another file" in mismatch.message and "re-encoded" in mismatch.message
    assert mismatch.detail["label_content"] != mismatch.detail["file_content"]
    assert mismatch.detail["file_content"] == content_digest(plate)


def test_a_label_copied_from_one_output_onto_another_is_named(still, settings, tmp_path):
    first = write_clip(tmp_path / "a.mp4", still, lambda f, i: f, frames=24, label=label_signer(settings))
    second = write_clip(tmp_path / "b.mp4", still, lambda f, i: cv2.flip(f, 1), frames=24,
                        label=label_signer(settings))
    assert verify_file(first, settings).proven and verify_file(second, settings).proven
    swapped = _copy_tag(first, second, tmp_path / "b-with-a's-tag.mp4")
    assert errors(verify_file(swapped, settings).findings) == {"aigc.content_mismatch"}


def test_editing_the_bound_digest_to_fit_another_file_breaks_the_signature(plate, still, settings, tmp_path):
    swapped = write_clip(tmp_path / "swapped.mp4", still, lambda f, i: f, frames=12, label=label_signer(settings))
    label, _ = parse_label(_label_of(swapped))
    signature = label.ReservedCode1.rsplit(":", 1)[1]
    forged = replace(label, ReservedCode1=f"ED25519:{content_digest(plate)}:{signature}")
    out = raw_remux(plate, tmp_path / "forged.mp4", {"AIGC": forged.to_json()}, options={"movflags": "use_metadata_tags"})
    assert errors(verify_file(out, settings).findings) == {"aigc.signature_invalid"}


@needs_ffmpeg
def test_the_bound_label_survives_stream_copies_between_containers_by_another_tool(plate, settings, tmp_path):
    labelled = apply_labels(plate, tmp_path / "shot.mp4", settings).path
    bound = json.loads(_label_of(labelled))
    chain = [labelled]
    for suffix in (".mkv", ".mov", ".mp4"):
        out = tmp_path / f"copy{len(chain)}{suffix}"
        _ffmpeg("-i", chain[-1], "-map", "0:v", "-map", "0:a", "-c", "copy", "-movflags", "use_metadata_tags", out)
        chain.append(out)
    for copy in chain[1:]:
        report = verify_file(copy, settings)
        assert report.proven, (copy.name, report.findings)
        assert json.loads(_label_of(copy)) == bound and "aigc.content_bound" in codes(report.findings)
    # an Annex B copy (MPEG-TS carries no AIGC tag, but its pictures are the same): the same digest
    _ffmpeg("-i", labelled, "-map", "0:v", "-c", "copy", tmp_path / "copy.ts")
    assert content_digest(tmp_path / "copy.ts", "vp1") == content_digest(labelled)


@needs_ffmpeg
def test_a_re_encode_that_keeps_the_tag_is_the_propagators_case(plate, settings, tmp_path):
    labelled = apply_labels(plate, tmp_path / "shot.mp4", settings).path
    platform = tmp_path / "platform.mp4"
    _ffmpeg("-i", labelled, "-map", "0:v", "-map", "0:a", "-c:v", "libx264", "-crf", "30", "-c:a", "copy",
            "-movflags", "use_metadata_tags", platform)
    findings = verify_file(platform, settings).findings
    assert errors(findings) == {"aigc.content_mismatch"}
    assert "propagator" in next(f for f in findings if f.code == "aigc.content_mismatch").message


def test_an_unbound_label_blocks_unless_policy_lowers_it(plate, settings, tmp_path):
    unbound = build_label(settings)                     # the producer's fields only: any file could carry it
    assert unbound.content is None
    out = raw_remux(plate, tmp_path / "unbound.mp4", {"AIGC": unbound.to_json()}, options={"movflags": "use_metadata_tags"})
    assert errors(verify_file(out, settings).findings) == {"aigc.content_unbound"}
    lowered = verify_file(out, replace(settings, warn_only=("aigc.content_unbound",)))
    assert lowered.proven
    assert next(f for f in lowered.findings if f.code == "aigc.content_unbound").severity == "warning"


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_every_container_written_carries_one_bound_label_and_no_placeholder(still, settings, tmp_path, suffix):
    signer = label_signer(settings)
    clip = write_clip(tmp_path / f"clip{suffix}", still, lambda f, i: f, frames=12, label=signer)
    report = verify_file(clip, settings)
    assert report.proven, report.findings
    assert _label_of(clip) == signer.signed.to_json()
    assert signer.placeholder("vp1").ReservedCode1.encode() not in clip.read_bytes()
    assert len(report.evidence["metadata"]["occurrences"]) == len(report.evidence["metadata"]["readers"])


def test_each_png_frame_is_bound_to_its_own_pixels(settings, tmp_path):
    from faceright.engine.media.sequence import SequenceWriter

    with SequenceWriter(tmp_path / "shot.%04d.png", label=label_signer(settings)) as writer:
        first = writer.write(np.full((36, 64, 3), 120, np.uint8))
        second = writer.write(np.full((36, 64, 3), 30, np.uint8))
    assert verify_file(first, settings).proven and verify_file(second, settings).proven
    first_label, second_label = (read_metadata(p).occurrences[0].value for p in (first, second))
    assert first_label != second_label
    # frame 1's label put on frame 2's pixels (a byte-level insertion, as any XMP tool does)
    cv2.imwrite(str(tmp_path / "plain.png"), cv2.imread(str(second)))
    write_image(tmp_path / "plain.png", tmp_path / "replayed.png", first_label)
    assert errors(verify_file(tmp_path / "replayed.png", settings).findings) == {"aigc.content_mismatch"}


def test_an_exr_frame_is_bound_to_its_pixels_and_a_changed_pixel_is_named(settings, tmp_path):
    oiio = pytest.importorskip("OpenImageIO", reason="EXR labels need the exr extra (openimageio), part of faceright[test]")
    from faceright.engine.media.sequence import SequenceWriter

    frame = np.zeros((40, 56, 3), np.uint8)
    frame[10:30, 12:40] = (40, 120, 220)
    with SequenceWriter(tmp_path / "comp.%04d.exr", label=label_signer(settings)) as writer:
        path = writer.write(frame)
    report = verify_file(path, settings)
    assert report.proven and "aigc.content_bound" in codes(report.findings), report.findings
    # another tool changes one pixel and keeps the header (OpenImageIO copies the AIGC attribute)
    buf = oiio.ImageBuf(str(path))
    buf.setpixel(5, 5, (1.0, 0.0, 0.0))
    assert buf.write(str(tmp_path / "touched.exr"))
    assert _exr_attribute(tmp_path / "touched.exr") == _exr_attribute(path)
    assert errors(verify_file(tmp_path / "touched.exr", settings).findings) == {"aigc.content_mismatch"}


def _exr_attribute(path):
    return read_metadata(path).by("structure")[0].value


def test_a_labelled_jpeg_is_bound_to_its_coded_image(still, settings, tmp_path):
    cv2.imwrite(str(tmp_path / "still.jpg"), cv2.resize(still, (160, 160)))
    labelled = apply_labels(tmp_path / "still.jpg", tmp_path / "shot.jpg", settings)
    assert labelled.report.proven and "aigc.content_bound" in codes(labelled.report.findings)
    cv2.imwrite(str(tmp_path / "other.jpg"), cv2.resize(still, (160, 160))[:, ::-1])
    write_image(tmp_path / "other.jpg", tmp_path / "replayed.jpg", _xmp_label(labelled.path))
    assert errors(verify_file(tmp_path / "replayed.jpg", settings).findings) == {"aigc.content_mismatch"}


def _xmp_label(path):
    return read_metadata(path).occurrences[0].value
