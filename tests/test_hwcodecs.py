"""NVDEC/NVENC: used where they open, and where they do not, the reason said and the CPU's codecs used.

On a machine without an NVIDIA device (this one, CI) the hardware engines do not open: the tests
check the reasons, the fallbacks and the refusals. On a GPU machine the same tests check that the
hardware engines decode the same pictures and write H.264 that an independent reader reads.
"""
from __future__ import annotations

import numpy as np
import pytest

from faceright.engine.media import VideoReader, VideoWriter
from faceright.engine.media.hwcodecs import NVENC, CodecPlan, Probe, codec_plan, nvenc_options, probe_nvenc
from faceright.engine.runtime import Runtime
from faceright.engine.settings import EngineSettings
from faceright.errors import ConfigError, MediaError

from clips import make_clip
from readback import readback, streams_of

WORKS = Probe(NVENC, True)
FAILS = Probe(NVENC, False, "h264_nvenc does not open here: Operation not permitted")


@pytest.fixture(scope="module")
def clip(tmp_path_factory, astronaut):
    return make_clip(tmp_path_factory.mktemp("hw") / "plate.mp4", astronaut, frames=6, size=(320, 240))


def test_nvenc_is_probed_and_either_encodes_or_says_why(tmp_path, astronaut):
    probe = probe_nvenc()
    if not probe.works:
        assert probe.reason.startswith("h264_nvenc does not open here:") or "has no h264_nvenc" in probe.reason
        return
    out = tmp_path / "nvenc.mp4"
    options = nvenc_options(18, "veryfast")
    with VideoWriter(out, width=320, height=240, rate=24, **options) as writer:
        for _ in range(4):
            writer.write(np.ascontiguousarray(astronaut[:240, :320]))
    (video,) = streams_of(readback(out), "video")
    assert video["codec_name"] == "h264" and int(video["nb_read_packets"]) == 4


def test_a_reader_asked_for_nvdec_gives_the_software_decoders_pictures(clip):
    software = [frame for _, frame in VideoReader(clip)]
    reader = VideoReader(clip, hwaccel="cuda")
    hardware = [frame for _, frame in reader]
    assert len(hardware) == len(software) == 6
    if reader.hwaccel_failed is not None:   # decoded in software after all: the very same pictures
        assert reader.hwaccel_failed.strip()   # the reason, said once in the log
        assert all(np.array_equal(a, b) for a, b in zip(software, hardware))
    else:                                   # NVDEC: H.264 decodes exactly; NV12 → BGR may round differently
        assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 2 for a, b in zip(software, hardware))


def test_a_required_nvdec_that_does_not_open_refuses_naming_the_file(clip):
    reader = VideoReader(clip, hwaccel="cuda", hwaccel_required=True)
    try:
        frames = list(reader)
    except MediaError as exc:
        assert str(clip) in str(exc) and "gpu_codecs = \"auto\"" in str(exc)
        assert reader.hwaccel_failed
    else:
        assert len(frames) == 6 and reader.hwaccel_failed is None


def test_the_cpu_codecs_are_kept_without_gpu_sessions_or_when_turned_off():
    for choice, on_gpu in (("off", True), ("off", False), ("auto", False)):
        plan = codec_plan(choice, sessions_on_gpu=on_gpu, video_in=True, video_out=True, writer_options={},
                          nvenc=WORKS)
        assert plan == CodecPlan() and not plan.on_gpu


def test_auto_uses_nvdec_and_nvenc_with_gpu_sessions_mapping_crf_and_preset():
    plan = codec_plan("auto", sessions_on_gpu=True, video_in=True, video_out=True,
                      writer_options={"crf": 10, "preset": "ultrafast"}, nvenc=WORKS, device_id=1)
    assert plan.reader_options == {"hwaccel": "cuda", "hwaccel_device": 1, "hwaccel_required": False}
    assert plan.writer_options["codec"] == NVENC and plan.on_gpu
    assert plan.writer_options["codec_options"] == {"rc": "vbr", "cq": "10", "b": "0", "preset": "p1", "tune": "hq"}
    # an image sequence is neither decoded nor encoded by a video codec; a codec the request chose is kept
    kept = codec_plan("auto", sessions_on_gpu=True, video_in=False, video_out=True,
                      writer_options={"codec": "libx265"}, nvenc=WORKS)
    assert kept.reader_options == {} and kept.writer_options == {}


def test_auto_falls_back_to_libx264_with_the_reason_and_on_refuses():
    plan = codec_plan("auto", sessions_on_gpu=True, video_in=False, video_out=True, writer_options={}, nvenc=FAILS)
    assert plan.writer_options == {} and plan.notes == (f"encode with libx264: {FAILS.reason}",)
    with pytest.raises(ConfigError, match="gpu_codecs = \"on\", but h264_nvenc does not open here"):
        codec_plan("on", sessions_on_gpu=False, video_in=False, video_out=True, writer_options={}, nvenc=FAILS)
    with pytest.raises(ConfigError, match="gpu_codecs must be one of auto, on, off"):
        codec_plan("yes", sessions_on_gpu=True, video_in=True, video_out=True, writer_options={}, nvenc=WORKS)


def test_a_swap_that_requires_the_gpu_codecs_refuses_where_they_do_not_open_and_writes_nothing(tmp_path, clip):
    from faceright.engine.demo import demo_files, demo_labels
    from faceright.engine.jobs.swap import SwapRequest, swap_clip_unchecked

    runtime = Runtime(EngineSettings(models_dir=tmp_path / "models", gpu_codecs="on"))
    out = tmp_path / "out.mp4"
    labels, _ = demo_labels(tmp_path)
    request = SwapRequest(plate=clip, donor=demo_files(tmp_path).donor, output=out, labels=labels)
    if runtime.nvenc().works:
        swap_clip_unchecked(request, runtime)
        assert streams_of(readback(out), "video")[0]["codec_name"] == "h264"
        return
    with pytest.raises(ConfigError, match="h264_nvenc"):
        swap_clip_unchecked(request, runtime)
    assert not out.exists() and list(tmp_path.glob("*.partial*")) == []
