"""Container metadata written by the writer and by remux, read back by ffprobe and a fresh
PyAV; and the control that shows the read-back check can fail."""
from __future__ import annotations

import hashlib
import json

import av
import numpy as np
import pytest

from clips import make_clip, read_index
from readback import readback, streams_of, tag

from faceright.engine.media import OutputIsSourceError, VideoWriter, open_sink, open_source, probe, remux
from faceright.engine.media import video as video_module
from faceright.errors import MediaError

LABEL = json.dumps({"Label": "1", "ContentProducer": "北京某某影视有限公司", "ProduceID": "shot-010",
                    "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""},
                   ensure_ascii=False)


@pytest.fixture(scope="module")
def source(tmp_path_factory, grace_hopper):
    folder = tmp_path_factory.mktemp("meta")
    return make_clip(folder / "plate.mov", grace_hopper, frames=24, size=(128, 96), rate=24,
                     timecode="10:00:00:00", metadata={"comment": "plate from set"})


def _fresh_pyav_tags(path) -> dict[str, str]:
    with av.open(str(path)) as container:
        return {k.upper(): v for k, v in container.metadata.items()}


def _write(path, frames=4, **kwargs):
    with VideoWriter(path, width=64, height=48, rate=25, **kwargs) as writer:
        for i in range(frames):
            writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    return path


@pytest.mark.parametrize("ext", ["mp4", "mov", "mkv"])
def test_metadata_with_chinese_text_reads_back_in_both_readers(tmp_path, ext):
    out = _write(tmp_path / f"label.{ext}", metadata={"AIGC": LABEL, "faceright_shot": "sh010"})
    assert _fresh_pyav_tags(out)["AIGC"] == LABEL
    assert tag(readback(out)["format"], "AIGC") == LABEL
    assert tag(readback(out)["format"], "faceright_shot") == "sh010"
    assert json.loads(probe(out).metadata["AIGC"])["ContentProducer"] == "北京某某影视有限公司"


@pytest.mark.parametrize("ext", ["mp4", "mov"])
def test_control_without_use_metadata_tags_the_key_is_dropped_silently(tmp_path, ext):
    """Plain PyAV without the movflag: no error, and neither reader finds the key."""
    out = tmp_path / f"dropped.{ext}"
    with av.open(str(out), "w") as container:
        container.metadata["AIGC"] = LABEL
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="bgr24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert "AIGC" not in _fresh_pyav_tags(out)
    assert tag(readback(out)["format"], "AIGC") is None


def test_writer_refuses_to_publish_a_file_whose_metadata_was_dropped(tmp_path, monkeypatch):
    """If the muxer drops a key anyway, close() fails and nothing appears under the name."""
    monkeypatch.setattr(video_module, "_container_options", lambda fmt, extra: {})
    with pytest.raises(MediaError, match="'AIGC' did not survive"):
        _write(tmp_path / "x.mp4", metadata={"AIGC": LABEL})
    assert list(tmp_path.iterdir()) == []


def test_open_sink_writes_metadata_through_the_writer(source, tmp_path):
    info = probe(source)
    out = tmp_path / "shot.mov"
    with open_sink(out, like=info, frames=(0, 6), metadata={"AIGC": LABEL}) as sink:
        for _, frame in open_source(source, (0, 6)):
            sink.write(frame)
    assert tag(readback(out)["format"], "AIGC") == LABEL


def _packet_digests(path):
    digests: dict[str, list[str]] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size and packet.stream.type in ("video", "audio"):
                digests.setdefault(packet.stream.type, []).append(hashlib.sha256(bytes(packet)).hexdigest())
    return digests


@pytest.mark.parametrize("ext", ["mov", "mp4", "mkv"])
def test_remux_copies_every_packet_and_sets_the_label(source, tmp_path, ext):
    out = remux(source, tmp_path / f"labelled.{ext}", metadata={"AIGC": LABEL})
    assert _packet_digests(out) == _packet_digests(source)   # no re-encoding, nothing lost
    independent = readback(out)
    assert tag(independent["format"], "AIGC") == LABEL
    assert tag(independent["format"], "comment") == "plate from set"   # the source's own metadata is kept
    video, = streams_of(independent, "video")
    assert int(video["nb_read_packets"]) == 24
    assert tag(video, "timecode") == "10:00:00:00"
    assert streams_of(independent, "audio")[0]["codec_name"] == "aac"
    assert [n for _, n in ((i, read_index(f)) for i, f in open_source(out))] == list(range(24))


def test_remux_replaces_a_key_instead_of_adding_a_second_one(source, tmp_path):
    first = remux(source, tmp_path / "one.mov", metadata={"AIGC": '{"Label":"old"}'})
    second = remux(first, tmp_path / "two.mov", metadata={"AIGC": LABEL})
    assert tag(readback(second)["format"], "AIGC") == LABEL
    assert second.read_bytes().count(b"AIGC") == 1   # one mdta key in moov/udta/meta


def test_remux_without_keep_metadata_drops_the_source_tags(source, tmp_path):
    out = remux(source, tmp_path / "bare.mkv", metadata={"AIGC": LABEL}, keep_metadata=False)
    tags = readback(out)["format"].get("tags", {})
    assert tag({"tags": tags}, "comment") is None and tag({"tags": tags}, "AIGC") == LABEL


def test_remux_refuses_to_write_over_its_source(source, tmp_path):
    before = source.read_bytes()
    with pytest.raises(OutputIsSourceError):
        remux(source, source, metadata={"AIGC": LABEL}, overwrite=True)
    assert source.read_bytes() == before
