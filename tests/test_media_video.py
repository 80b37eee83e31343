"""Video files: exact frame counts, rates, ranges, audio, timecode and colour, read back
with a fresh PyAV container and with ffprobe (tests/readback.py)."""
from __future__ import annotations

from fractions import Fraction

import os
import shutil
import subprocess

import av
import numpy as np
import pytest

from clips import dominant_frequency, make_clip, read_index, tone_frequency
from readback import readback, streams_of, tag

from faceright.engine.media import (
    ColorInfo,
    FrameRange,
    FrameRangeError,
    VideoWriter,
    open_sink,
    open_source,
    probe,
)

FRAMES = 48
SIZE = (192, 144)
CONTAINERS = ("mov", "mp4", "mkv")


@pytest.fixture(scope="module")
def clips(tmp_path_factory, astronaut):
    """One source clip per container, 48 frames at 30000/1001, B-frames, GOP 12, audio, TC."""
    folder = tmp_path_factory.mktemp("clips")
    return {ext: make_clip(folder / f"plate.{ext}", astronaut, frames=FRAMES, size=SIZE, rate="30000/1001",
                           timecode="01:00:00:00")
            for ext in CONTAINERS}


def _indices(path, frames=None):
    return [(index, read_index(frame)) for index, frame in open_source(path, frames)]


def test_source_clips_have_b_frames_and_keyframes_every_12(clips):
    """Guard for the range tests: without B-frames and mid-file keyframes, seeking is not tested."""
    for path in clips.values():
        with av.open(str(path)) as container:
            packets = [p for p in container.demux(video=0) if p.size]
        keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
        assert keyframes == [0, 12, 24, 36]
        decode_order = [p.pts for p in packets]
        assert decode_order != sorted(decode_order), "no frame reordering: the clip has no B-frames"


@pytest.mark.parametrize("ext", CONTAINERS)
def test_probe_reports_exact_rate_count_timecode_and_audio(clips, ext):
    info = probe(clips[ext])
    assert info.kind == "video"
    assert (info.width, info.height) == SIZE
    assert info.rate == Fraction(30000, 1001)
    assert info.frame_count == FRAMES and info.frames == FrameRange(0, FRAMES)
    assert info.timecode == "01:00:00:00"
    assert info.has_audio and info.audio_codec == "aac"
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.time_base == (Fraction(1, 1000) if ext == "mkv" else Fraction(1, 30000))


@pytest.mark.parametrize("ext", CONTAINERS)
@pytest.mark.parametrize("first, end", [(0, 1), (10, 20), (11, 13), (12, 13), (13, 29), (23, 25),
                                        (36, 37), (35, 48), (47, 48), (0, 48)])
def test_frame_range_yields_exactly_those_frames_by_content(clips, ext, first, end):
    got = _indices(clips[ext], FrameRange(first, end))
    assert got == [(i, i) for i in range(first, end)]


@pytest.mark.parametrize("ext", CONTAINERS)
def test_reading_twice_gives_the_same_frames(clips, ext):
    reader = open_source(clips[ext], (20, 26))
    first = [frame for _, frame in reader]
    second = [frame for _, frame in reader]
    assert len(first) == 6 and all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_frames_are_bgr_uint8_in_bgr_order(tmp_path, astronaut):
    """A pure blue frame (BGR 255, 0, 0) must come back blue, not red."""
    blue = np.zeros((64, 64, 3), np.uint8)
    blue[:, :, 0] = 255
    with VideoWriter(tmp_path / "blue.mkv", width=64, height=64, rate=24) as writer:
        writer.write(blue)
    (_, frame), = list(open_source(tmp_path / "blue.mkv"))
    assert frame.dtype == np.uint8 and frame.shape == (64, 64, 3)
    b, g, r = frame.reshape(-1, 3).mean(axis=0)
    assert b > 230 and g < 25 and r < 25


def test_ranges_outside_the_clip_are_refused_with_the_clip_range_named(clips):
    with pytest.raises(FrameRangeError, match=r"holds frames 0-47 "):
        open_source(clips["mov"], (40, 49))
    with pytest.raises(FrameRangeError, match="empty"):
        open_source(clips["mov"], (10, 10))
    with pytest.raises(FrameRangeError):
        open_source(clips["mov"], (-1, 5))


@pytest.mark.parametrize("rate", ["24", "25", "30000/1001"])
@pytest.mark.parametrize("ext", CONTAINERS)
def test_round_trip_keeps_frame_count_rate_and_content(tmp_path, astronaut, rate, ext):
    source = make_clip(tmp_path / f"src.{ext}", astronaut, frames=FRAMES, size=(128, 96), rate=rate, audio=False)
    info = probe(source)
    out = tmp_path / f"out.{ext}"
    with open_sink(out, like=info) as sink:
        for _, frame in open_source(source):
            sink.write(frame)
    back = probe(out)
    assert back.rate == Fraction(rate) and back.frame_count == FRAMES
    if ext != "mkv":   # Matroska always counts in milliseconds
        assert back.time_base == info.time_base
    assert [i for i, _ in _indices(out)] == list(range(FRAMES))
    assert [n for _, n in _indices(out)] == list(range(FRAMES))
    independent = readback(out)
    video, = streams_of(independent, "video")
    assert int(video["nb_read_packets"]) == FRAMES
    assert Fraction(video["r_frame_rate"]) == Fraction(rate)


@pytest.mark.parametrize("ext", CONTAINERS)
def test_range_output_starts_at_the_range_timecode_and_carries_its_audio(clips, tmp_path, ext):
    info = probe(clips[ext])
    span = FrameRange(13, 37)
    out = tmp_path / f"cut.{ext}"
    with open_sink(out, like=info, frames=span) as sink:
        for _, frame in open_source(clips[ext], span):
            sink.write(frame)

    back = probe(out)
    assert back.frame_count == len(span)
    assert [n for _, n in _indices(out)] == list(span)
    assert back.timecode == "01:00:00:13"

    independent = readback(out)
    video, = streams_of(independent, "video")
    audio, = streams_of(independent, "audio")
    assert int(video["nb_read_packets"]) == len(span)
    assert tag(video, "timecode") == "01:00:00:13"
    assert audio["codec_name"] == "aac"

    # the audio is the source's span: its length and the pitch it starts and ends with
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        samples = np.concatenate([f.to_ndarray()[0] for f in container.decode(stream)])
    expected = float(len(span) / info.rate)
    assert abs(len(samples) / rate - expected) < 0.05, (len(samples) / rate, expected)
    start = float(span.first / info.rate)
    window = rate // 10
    head = dominant_frequency(samples[1024:1024 + window], rate)
    tail = dominant_frequency(samples[-window:], rate)
    assert abs(head - tone_frequency(start + (1024 + window / 2) / rate)) < 15
    assert abs(tail - tone_frequency(start + expected - window / 2 / rate)) < 15


def test_audio_is_copied_not_reencoded(clips, tmp_path):
    """Every audio packet of the output is byte-identical to a packet of the source."""
    info = probe(clips["mov"])
    out = tmp_path / "copy.mov"
    with open_sink(out, like=info, frames=(12, 36)) as sink:
        for _, frame in open_source(clips["mov"], (12, 36)):
            sink.write(frame)

    def audio_packets(path):
        with av.open(str(path)) as container:
            return [bytes(p) for p in container.demux(audio=0) if p.size]

    source, copied = audio_packets(clips["mov"]), audio_packets(out)
    assert copied and all(p in source for p in copied)
    first = source.index(copied[0])
    assert source[first:first + len(copied)] == copied


def test_audio_can_be_left_out(clips, tmp_path):
    out = tmp_path / "silent.mp4"
    with open_sink(out, like=probe(clips["mp4"]), frames=(0, 5), audio=False) as sink:
        for _, frame in open_source(clips["mp4"], (0, 5)):
            sink.write(frame)
    assert not streams_of(readback(out), "audio")
    assert probe(out).has_audio is False


@pytest.mark.parametrize("ext", ("mov", "mkv"))
def test_drop_frame_timecode_offsets_across_the_dropped_labels(tmp_path, astronaut, ext):
    source = make_clip(tmp_path / f"df.{ext}", astronaut, frames=12, size=(128, 96), rate="30000/1001",
                       timecode="00:00:59;28", audio=False)
    info = probe(source)
    assert info.timecode == "00:00:59;28"
    out = tmp_path / f"df_out.{ext}"
    with open_sink(out, like=info, frames=(4, 8)) as sink:
        for _, frame in open_source(source, (4, 8)):
            sink.write(frame)
    # ;28 ;29 | 01:00;02 (;00 and ;01 are skipped) ;03 ;04
    assert probe(out).timecode == "00:01:00;04"
    assert tag(streams_of(readback(out), "video")[0], "timecode") == "00:01:00;04"


@pytest.mark.parametrize("ext", CONTAINERS)
def test_colour_tags_of_the_source_are_kept(tmp_path, astronaut, ext):
    bt709 = {"colorspace": 1, "color_primaries": 1, "color_trc": 1, "color_range": 1}
    source = make_clip(tmp_path / f"hd.{ext}", astronaut, frames=4, size=(128, 96), color=bt709, audio=False)
    info = probe(source)
    assert info.color == ColorInfo("tv", "bt709", "bt709", "bt709")
    out = tmp_path / f"hd_out.{ext}"
    with open_sink(out, like=info) as sink:
        for _, frame in open_source(source):
            sink.write(frame)
    assert probe(out).color == info.color
    video, = streams_of(readback(out), "video")
    assert (video.get("color_space"), video.get("color_primaries"), video.get("color_transfer"),
            video.get("color_range")) == ("bt709", "bt709", "bt709", "tv")


PATCHES = [(40, 110, 230), (200, 180, 30), (128, 128, 128), (20, 200, 60), (235, 235, 235), (16, 16, 16)]


def _patch_frame() -> np.ndarray:
    frame = np.zeros((96, 192, 3), np.uint8)
    for i, colour in enumerate(PATCHES):
        frame[:, i * 32:(i + 1) * 32] = colour
    return frame


def _patch_error(frame: np.ndarray) -> int:
    centres = np.array([frame[48, i * 32 + 16] for i in range(len(PATCHES))], dtype=int)
    return int(np.abs(centres - np.array(PATCHES)).max())


@pytest.mark.parametrize("color", [ColorInfo(), ColorInfo("tv", "bt709", "bt709", "bt709"),
                                   ColorInfo("pc", "bt709", "bt709", "bt709")], ids=["untagged", "bt709", "bt709-full"])
def test_flat_colours_round_trip_within_two_levels_through_the_tagged_matrix(tmp_path, color):
    out = tmp_path / "patches.mp4"
    with VideoWriter(out, width=192, height=96, rate=24, color=color) as writer:
        for _ in range(3):
            writer.write(_patch_frame())
    assert probe(out).color == color
    frames = [frame for _, frame in open_source(out)]
    assert max(_patch_error(f) for f in frames) <= 2
    # control: decoding with the other matrix is far off, so the check above can fail
    with av.open(str(out)) as container:
        wrong = next(container.decode(video=0)).to_ndarray(
            format="bgr24", src_colorspace="itu601" if color.color_space == "bt709" else "itu709")
    assert _patch_error(wrong) > 10


def test_writer_counts_what_it_writes_and_refuses_wrong_frames(tmp_path):
    writer = VideoWriter(tmp_path / "x.mp4", width=64, height=48, rate=25)
    with pytest.raises(ValueError, match="48×64×3 uint8"):
        writer.write(np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError):
        writer.write(np.zeros((48, 64, 3), np.float32))
    for i in range(7):
        writer.write(np.full((48, 64, 3), i * 30, np.uint8))
    assert writer.close() == tmp_path / "x.mp4"
    assert writer.frames_written == 7
    assert int(streams_of(readback(tmp_path / "x.mp4"), "video")[0]["nb_read_packets"]) == 7


def test_mpegts_seeks_land_on_the_exact_frame(tmp_path, astronaut):
    """MPEG-TS seeks by byte position and often lands late; the reader must step back."""
    source = make_clip(tmp_path / "plate.ts", astronaut, frames=FRAMES, size=(128, 96), rate=25, audio=False,
                       timecode=None)
    assert probe(source).frame_count == FRAMES
    for first, end in [(0, 3), (12, 14), (25, 30), (40, 48)]:
        assert _indices(source, (first, end)) == [(i, i) for i in range(first, end)]


def test_matroska_to_mp4_at_ntsc_rate_gets_a_clock_that_holds_the_rate(clips, tmp_path):
    """MKV counts milliseconds; copying that clock into MP4 would jitter 30000/1001 frames."""
    out = tmp_path / "from_mkv.mp4"
    with open_sink(out, like=probe(clips["mkv"]), frames=(0, 12), audio=False) as sink:
        for _, frame in open_source(clips["mkv"], (0, 12)):
            sink.write(frame)
    back = probe(out)
    assert back.rate == Fraction(30000, 1001) and back.frame_count == 12
    assert (1 / (back.rate * back.time_base)).denominator == 1
    assert Fraction(streams_of(readback(out), "video")[0]["r_frame_rate"]) == Fraction(30000, 1001)


@pytest.mark.skipif(shutil.which("ffmpeg") is None,
                    reason="needs the ffmpeg CLI to cut a clip with an MP4 edit list (apt-get install ffmpeg)")
def test_mp4_edit_list_counts_and_numbers_only_the_presented_frames(tmp_path, astronaut):
    source = make_clip(tmp_path / "long.mp4", astronaut, frames=48, size=(128, 96), rate=24)
    cut = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-ss", "0.55", "-i", str(source), "-c", "copy", str(cut)], check=True)
    with av.open(str(cut)) as container:
        declared = container.streams.video[0].frames
        presented = [read_index(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]
    assert declared > len(presented), "ffmpeg wrote no edit list: the test would prove nothing"
    info = probe(cut)
    assert info.frame_count == len(presented)
    assert [n for _, n in _indices(cut)] == presented
    assert [n for _, n in _indices(cut, (5, 9))] == presented[5:9]


@pytest.mark.parametrize("ext", ["ts", "mkv"])
def test_whole_clip_audio_stays_in_sync_when_the_source_clock_does_not_start_at_zero(tmp_path, astronaut, ext):
    """Frame 0 at 10 s on the source clock: AudioSpan(path) must cut from the video's start."""
    from faceright.engine.media import AudioSpan

    source = make_clip(tmp_path / f"plate.{ext}", astronaut, frames=24, size=(128, 96), rate=24, timecode=None,
                       start=10.0)
    info = probe(source)
    assert info.start_time == 10
    assert [n for _, n in _indices(source, (5, 8))] == [5, 6, 7]
    out = tmp_path / "out.mov"
    with VideoWriter(out, width=128, height=96, rate=24, audio=AudioSpan(source)) as writer:
        for _, frame in open_source(source):
            writer.write(frame)
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        first = next(container.demux(stream))
        assert abs(float(first.pts * first.time_base)) < 0.05
        samples = np.concatenate([f.to_ndarray()[0] for f in container.decode(stream)])
    assert abs(len(samples) / rate - 1.0) < 0.06
    assert abs(dominant_frequency(samples[1024:1024 + rate // 10], rate) - tone_frequency(0.07)) < 15


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="resident memory is read from Linux /proc")
def test_reading_a_long_clip_keeps_memory_flat(tmp_path, astronaut):
    """480 frames of 320×240 are 110 MB as arrays; the reader must hold one at a time."""
    clip = make_clip(tmp_path / "long.mkv", astronaut, frames=480, size=(320, 240), audio=False, timecode=None)
    before = _rss_bytes()
    peak, count = before, 0
    for _, frame in open_source(clip):
        count += 1
        if count % 40 == 0:
            peak = max(peak, _rss_bytes())
    assert count == 480
    growth = peak - before
    assert growth < 40 * 2 ** 20, f"resident memory grew by {growth / 2 ** 20:.0f} MB"


def test_a_frame_is_converted_from_its_own_memory_as_a_copy_of_it_would_be(astronaut):
    from faceright.engine.media.video_fidelity import wrap_bgr

    frame = np.ascontiguousarray(astronaut[:, :, ::-1])
    strided = astronaut[:, :, ::-1]                       # not contiguous: made so first
    for source in (frame, strided):
        wrapped = wrap_bgr(source)
        for pix_fmt in ("yuv420p", "yuv422p10le"):
            ours = wrapped.reformat(format=pix_fmt).to_ndarray()
            copied = av.VideoFrame.from_ndarray(np.ascontiguousarray(source), format="bgr24").reformat(
                format=pix_fmt).to_ndarray()
            assert np.array_equal(ours, copied)
    converted = wrap_bgr(frame).reformat(format="yuv420p")
    before = converted.to_ndarray().copy()
    frame[:] = 0                                          # the array reused after the conversion
    assert np.array_equal(converted.to_ndarray(), before)
