"""Audio in written video files: every track, its tags and its exact samples (issue 8).

Plates are made with the ffmpeg command line (Debian's FFmpeg, not the one inside PyAV) and
every check reads the files with that same independent tool: ffprobe for tracks and tags,
ffmpeg decoding to raw PCM for samples. The writer under test is faceright's
:func:`open_sink` / :func:`remux` (PyAV).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from readback import readback, streams_of, tag

from faceright.engine.media import (
    AudioNotCopyableError,
    AudioSpan,
    FrameRange,
    UnsupportedMediaError,
    VideoWriter,
    open_sink,
    open_source,
    probe,
    remux,
)
from faceright.errors import MediaError

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None or shutil.which("ffprobe") is None,
                                reason="needs the ffmpeg and ffprobe commands (apt-get install ffmpeg)")

RATE = 24
FRAMES = 48           # 2 s
SAMPLE_RATE = 48000
#: frames 12..35: 0.5 s .. 1.5 s, samples 24000 .. 72000
SPAN = FrameRange(12, 36)
SPAN_SAMPLES = slice(24000, 72000)
TRACKS = (("eng", "Dialogue", 440), ("chi", "Mandarin", 660))


def _ffmpeg(*args: str) -> bytes:
    done = subprocess.run([FFMPEG, "-v", "error", "-nostdin", "-y", *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"ffmpeg {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _make_plate(path: Path, codec: str, *extra: str) -> Path:
    """48 frames of testsrc2 and two 2-second tones, eng and chi, each titled.

    The tones come from ``aevalsrc`` (double precision), so 24-bit PCM uses all 24 bits:
    a 16-bit path cannot reproduce them."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate={RATE}:duration=2"]
    maps = ["-map", "0:v"]
    tags = []
    for n, (language, title, pitch) in enumerate(TRACKS):
        inputs += ["-f", "lavfi", "-i", f"aevalsrc=0.5*sin(2*PI*{pitch}*t)+0.01*sin(2*PI*7*t):s={SAMPLE_RATE}:d=2"]
        maps += ["-map", f"{n + 1}:a"]
        tags += [f"-metadata:s:a:{n}", f"language={language}", f"-metadata:s:a:{n}", f"title={title}",
                 f"-metadata:s:a:{n}", f"handler_name={title} mix"]
    _ffmpeg(*inputs, *maps, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", codec, *extra, *tags, str(path))
    return path


def _samples(path: Path, track: int, fmt: str) -> np.ndarray:
    """Track ``track``'s decoded samples, by the ffmpeg command line (edit lists applied)."""
    dtype = {"s32le": "<i4", "f32le": "<f4"}[fmt]
    raw = _ffmpeg("-i", str(path), "-map", f"0:a:{track}", "-f", fmt, "-c:a", f"pcm_{fmt}", "-")
    return np.frombuffer(raw, dtype)


def _audio_packets(path: Path, track: int) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=track) if p.size]


def _copy(plate: Path, out: Path, frames: FrameRange | tuple[int, int]) -> Path:
    with open_sink(out, like=probe(plate), frames=frames) as sink:
        for _, frame in open_source(plate, frames):
            sink.write(frame)
    return out


def _labels(path: Path) -> list[tuple[str, str | None, str | None, str | None]]:
    """Each audio track's codec, language, handler name and title.

    All but the title as ffprobe reads them. MOV/MP4 keep the title as the track's udta
    ``name``, which Debian's ffprobe (FFmpeg 5.1) does not read, so the title comes from a
    fresh PyAV container (``name`` there, ``title`` in Matroska, where ffprobe must agree)."""
    audio = streams_of(readback(path), "audio")
    with av.open(str(path)) as container:
        titles = [{k.lower(): v for k, v in s.metadata.items()} for s in container.streams.audio]
    assert len(titles) == len(audio)
    for entry, found in zip(audio, titles):
        if tag(entry, "title") is not None:
            assert tag(entry, "title") == found.get("title")
    return [(entry["codec_name"], tag(entry, "language"), tag(entry, "handler_name"),
             found.get("title") or found.get("name")) for entry, found in zip(audio, titles)]


@pytest.fixture(scope="module")
def plates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio-plates")
    return {
        "pcm24.mov": _make_plate(folder / "pcm24.mov", "pcm_s24le"),
        # Matroska stamps packets in whole milliseconds: 1024 samples are 21.333 ms
        "pcm24.mkv": _make_plate(folder / "pcm24.mkv", "pcm_s24le"),
        "aac.mov": _make_plate(folder / "aac.mov", "aac"),
        "aac.mp4": _make_plate(folder / "aac.mp4", "aac"),
        # no perceptual noise substitution: its noise comes from a generator whose state
        # runs from the first frame, so a cut decoded on its own differs by ~1e-5 there
        "aac-nopns.mov": _make_plate(folder / "aac-nopns.mov", "aac", "-aac_pns", "0"),
    }


def test_plates_have_two_tagged_tracks_and_24_bit_samples(plates):
    """Guard: the plates hold what the tests below rely on."""
    assert _labels(plates["pcm24.mov"]) == [("pcm_s24le", "eng", "Dialogue mix", "Dialogue"),
                                            ("pcm_s24le", "chi", "Mandarin mix", "Mandarin")]
    samples = _samples(plates["pcm24.mov"], 0, "s32le")
    assert len(samples) == 2 * SAMPLE_RATE
    assert np.count_nonzero((samples >> 8) & 0xFF) > len(samples) // 2, "the low 8 of 24 bits are unused"
    with av.open(str(plates["aac.mov"])) as container:
        first = next(p for p in container.demux(audio=0) if p.size)
        assert first.pts == -1024, "the AAC plate has no priming packet before 0"


@pytest.mark.parametrize(("plate", "ext"), [("pcm24.mov", "mov"), ("pcm24.mov", "mkv"), ("aac.mp4", "mp4"),
                                            ("aac.mov", "mkv")])
def test_every_audio_track_is_kept_with_its_language_handler_and_title(plates, tmp_path, plate, ext):
    out = _copy(plates[plate], tmp_path / f"out.{ext}", SPAN)
    codec = "pcm_s24le" if plate.startswith("pcm") else "aac"
    expected = [(codec, language, f"{title} mix", title) for language, title, _ in TRACKS]
    assert _labels(plates[plate]) == expected
    assert _labels(out) == expected


@pytest.mark.parametrize("ext", ["mov", "mkv"])
@pytest.mark.parametrize("frames", [SPAN, FrameRange(0, FRAMES)], ids=["range", "whole"])
@pytest.mark.parametrize("source", ["pcm24.mov", "pcm24.mkv"])
def test_24_bit_pcm_is_copied_bit_exact_over_the_video_span(plates, tmp_path, source, ext, frames):
    """Every sample of both tracks over the frames' time span, and not one more or less."""
    plate = plates[source]
    out = _copy(plate, tmp_path / f"out.{ext}", frames)
    first, end = frames.first * SAMPLE_RATE // RATE, frames.end * SAMPLE_RATE // RATE
    for track in range(len(TRACKS)):
        expected = _samples(plate, track, "s32le")[first:end]
        written = _samples(out, track, "s32le")
        assert written.shape == expected.shape
        assert np.array_equal(written, expected), f"track {track}: samples differ"
    assert [s["codec_name"] for s in streams_of(readback(out), "audio")] == ["pcm_s24le", "pcm_s24le"]


def test_an_open_audio_span_ends_with_the_last_frame_written(plates, tmp_path):
    """AudioSpan(path) has no end: the audio stops at the video written, to the sample."""
    plate = plates["pcm24.mov"]
    out = tmp_path / "short.mov"
    with VideoWriter(out, width=160, height=120, rate=RATE, audio=AudioSpan(plate)) as writer:
        for _, frame in open_source(plate, (0, 30)):
            writer.write(frame)
    for track in range(len(TRACKS)):
        assert np.array_equal(_samples(out, track, "s32le"), _samples(plate, track, "s32le")[:30 * 2000])


@pytest.mark.parametrize("ext", ["mp4", "m4v"])
def test_24_bit_pcm_into_mp4_is_refused_before_anything_is_written(plates, tmp_path, ext):
    plate = plates["pcm24.mov"]
    out = tmp_path / f"out.{ext}"
    with pytest.raises(AudioNotCopyableError) as refused:
        open_sink(out, like=probe(plate), frames=SPAN)
    message = str(refused.value)
    for words in ("audio track 1 of 2", "pcm_s24le", f".{ext}", ".mov", ".mkv", str(plate)):
        assert words in message, f"{words!r} missing from: {message}"
    assert isinstance(refused.value, UnsupportedMediaError) and isinstance(refused.value, MediaError)
    assert (refused.value.track, refused.value.codec) == (0, "pcm_s24le")
    assert refused.value.instead == (".mov", ".mkv")
    assert list(tmp_path.iterdir()) == [], "a partial output was left behind"


def test_remux_refuses_24_bit_pcm_into_mp4_and_keeps_every_track_in_mkv(plates, tmp_path):
    plate = plates["pcm24.mov"]
    with pytest.raises(AudioNotCopyableError):
        remux(plate, tmp_path / "copy.mp4")
    assert list(tmp_path.iterdir()) == []
    out = remux(plate, tmp_path / "copy.mkv")
    assert _labels(out) == _labels(plate)
    for track in range(len(TRACKS)):
        assert np.array_equal(_samples(out, track, "s32le"), _samples(plate, track, "s32le"))


@pytest.mark.parametrize("ext", ["mov", "mp4"])
def test_aac_is_copied_with_its_priming_so_the_whole_clip_decodes_identically(plates, tmp_path, ext):
    """Whole clip: the same packets, the priming one included, and the same decoded samples."""
    plate = plates[f"aac.{ext}"]
    out = _copy(plate, tmp_path / f"out.{ext}", FrameRange(0, FRAMES))
    for track in range(len(TRACKS)):
        assert _audio_packets(out, track) == _audio_packets(plate, track)
        expected, written = _samples(plate, track, "f32le"), _samples(out, track, "f32le")
        assert written.shape == expected.shape
        assert np.array_equal(written, expected), f"track {track}: decoded samples differ"


@pytest.mark.parametrize("ext", ["mov", "mp4"])
def test_aac_range_keeps_the_packet_before_it_so_its_samples_line_up(plates, tmp_path, ext):
    """A cut at 0.5 s: the packet before the cut is copied (AAC needs it to decode the next)
    and the edit list skips it, so the output's first sample is the plate's sample 24000."""
    plate = plates["aac-nopns.mov"]
    out = _copy(plate, tmp_path / f"out.{ext}", SPAN)
    for track in range(len(TRACKS)):
        source, copied = _audio_packets(plate, track), _audio_packets(out, track)
        at = source.index(copied[0])
        assert source[at:at + len(copied)] == copied
        # the first copied packet ends before 0.5 s: it is the one decoding needs first
        with av.open(str(out)) as container:
            first = next(p for p in container.demux(audio=track) if p.size)
            assert (first.pts + first.duration) * first.time_base <= 0
        written = _samples(out, track, "f32le")
        expected = _samples(plate, track, "f32le")[SPAN_SAMPLES.start:]
        # the end is cut at a packet boundary: up to one AAC packet more than the span
        assert 48000 <= len(written) < 48000 + 1024
        assert np.array_equal(written, expected[:len(written)]), f"track {track}: decoded samples differ"
