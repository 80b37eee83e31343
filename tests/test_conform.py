"""A timeline of cuts conformed into one deliverable: each clip's range in order, its audio, the label.

The clips are real, short and different: a movie from the astronaut still with
:func:`clips.make_clip`'s rising tone (its pitch tells the time an audio cut starts at), a
MOV from Grace Hopper with a steady 880 Hz tone, and a PNG sequence from the group photo
without sound. Every frame carries its index in a corner strip (:func:`clips.read_index`).
The output is read back by independent readers: ffprobe for its streams, a fresh PyAV for
its frames and samples, the label verifier (metadata readers and OCR) for its label.
"""
from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from clips import dominant_frequency, frames_from_still, make_clip, make_sequence, read_index, tone_frequency
from readback import readback, streams_of, tag

from faceright.api import (
    Config, ConformClip, ConformResult, FrameRange, FrameRangeError, MediaError, Progress, open_engine,
)
from faceright.engine.conform import conform_clips
from faceright.errors import ConfigError, OutputExistsError, UnsupportedMediaError
from faceright.labels.metadata import AIGC_KEY

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate

RATE = 24
SAMPLE_RATE = 48000
SIZE = (320, 240)
#: the timeline: (clip, frames of it)
CUTS = (("astronaut", FrameRange(5, 25)), ("hopper", FrameRange(3, 23)), ("group", FrameRange(1001, 1013)))


def write_sine_clip(path: Path, still: np.ndarray, *, frames: int, hz: float | tuple[float, ...] | None,
                    size=SIZE, rate: int = RATE, languages: tuple[str, ...] = ()) -> Path:
    """A movie of ``still`` panning, index-stamped, with a steady ``hz`` stereo tone (None: no audio;
    several: one track each, tagged with ``languages``); written with raw PyAV, independent of
    the writer under test."""
    tones = () if hz is None else (hz,) if isinstance(hz, float) else hz
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "veryfast", "crf": "18", "g": "12"}
        sounds = []
        for number, _ in enumerate(tones):
            sound = out.add_stream("aac", rate=SAMPLE_RATE)
            sound.layout = "stereo"
            if number < len(languages):
                sound.metadata["language"] = languages[number]
            sounds.append(sound)
        for i, image in enumerate(frames_from_still(still, frames, size, "pan")):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        total = round(Fraction(frames, rate) * SAMPLE_RATE)
        for pitch, sound in zip(tones, sounds):
            for start in range(0, total, 1024):
                t = (np.arange(min(1024, total - start)) + start) / SAMPLE_RATE
                wave = (0.5 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts = SAMPLE_RATE, start
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def decoded_audio(path: Path, track: int = 0) -> np.ndarray:
    """An audio track's first channel, as PyAV decodes it."""
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=track)])


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """The top three quarters (the label sits at the bottom), 40×24, as float."""
    top = frame[: frame.shape[0] * 3 // 4]
    return cv2.resize(top, (40, 24), interpolation=cv2.INTER_AREA).astype(np.float32)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(thumbnail(a) - thumbnail(b)).mean())


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".partial" in p.name]


@pytest.fixture(scope="module")
def media(tmp_path_factory, astronaut, grace_hopper, t1) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("timeline")
    return {
        "astronaut": make_clip(folder / "astronaut.mp4", astronaut, frames=30, size=SIZE, rate=RATE),
        "hopper": write_sine_clip(folder / "hopper.mov", grace_hopper, frames=30, hz=880.0),
        "group": make_sequence(folder / "group.%04d.png", t1, frames=16, first=1001, size=SIZE,
                               focus=(0.5, 0.5)),
    }


@pytest.fixture(scope="module")
def timeline(media) -> list[ConformClip]:
    return [ConformClip(media[name], frames, name=name) for name, frames in CUTS]


@pytest.fixture(scope="module")
def conformed(tmp_path_factory, timeline, settings) -> tuple[ConformResult, list[Progress]]:
    """The timeline conformed once, through the engine client a host or validator gets (local)."""
    reports: list[Progress] = []
    output = tmp_path_factory.mktemp("deliverable") / "deliverable.mp4"
    with open_engine(Config()) as engine:
        result = engine.conform(timeline, output, settings, progress=reports.append)
    return result, reports


def test_the_deliverable_holds_every_cut_in_order_at_the_first_clips_size_and_rate(conformed):
    result, _ = conformed
    total = sum(len(frames) for _, frames in CUTS)
    probe = readback(result.output)
    (video,) = streams_of(probe, "video")
    assert int(video["nb_read_packets"]) == total == result.frames == 52
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", *SIZE)
    assert Fraction(video["r_frame_rate"]) == RATE
    assert float(video["duration"]) == pytest.approx(total / RATE, abs=0.5 / RATE)
    (audio,) = streams_of(probe, "audio")
    assert audio["codec_name"] == "aac"
    assert result.sha256 == hashlib.sha256(result.output.read_bytes()).hexdigest()


def test_frame_k_of_the_deliverable_is_frame_first_plus_k_of_its_clip(conformed, media):
    result, _ = conformed
    output = decoded_frames(result.output)
    sources = {"astronaut": decoded_frames(media["astronaut"]), "hopper": decoded_frames(media["hopper"]),
               "group": [cv2.imread(str(media["group"]).replace("%04d", f"{n:04d}")) for n in range(1001, 1017)]}
    origin = {"astronaut": 0, "hopper": 0, "group": 1001}
    k = 0
    for name, frames in CUTS:
        for number in frames:
            index = number - origin[name]
            assert read_index(output[k]) == index, f"output frame {k} should be {name} frame {number}"
            assert difference(output[k], sources[name][index]) < 4, f"output frame {k} is not {name} {number}"
            others = [difference(output[k], sources[other][min(index, len(sources[other]) - 1)])
                      for other in sources if other != name]
            assert min(others) > 15, f"output frame {k} looks like another clip too"
            k += 1
    assert k == len(output)


def test_each_cut_keeps_its_own_audio_for_exactly_its_range_and_a_silent_clip_stays_silent(conformed):
    result, _ = conformed
    samples = decoded_audio(result.output)
    total = sum(len(frames) for _, frames in CUTS)
    assert abs(len(samples) - total * SAMPLE_RATE / RATE) <= 1024          # within one AAC frame
    window = 4096

    def pitch_at(second: float) -> float:
        middle = round(second * SAMPLE_RATE)
        return dominant_frequency(samples[middle - window // 2:middle + window // 2], SAMPLE_RATE)

    # the astronaut's rising tone: its pitch says which second of the source plays
    first = CUTS[0][1].first / RATE
    for into in (0.1, 0.4, 0.7):
        assert pitch_at(into) == pytest.approx(tone_frequency(first + into), abs=4)
    # Grace Hopper's steady tone from frame 20 of the deliverable on, then the sequence's silence
    for second in (20 / RATE + 0.1, 20 / RATE + 0.45, 40 / RATE - 0.1):
        assert pitch_at(second) == pytest.approx(880, abs=4)
    boundary = round(20 / RATE * SAMPLE_RATE)
    assert dominant_frequency(samples[boundary - 2048:boundary - 1024], SAMPLE_RATE) < 700
    assert dominant_frequency(samples[boundary + 1024:boundary + 2048], SAMPLE_RATE) == pytest.approx(880, abs=30)
    silence = samples[round(40 / RATE * SAMPLE_RATE) + 1024:]
    assert np.sqrt(np.mean(silence ** 2)) < 1e-3
    assert np.sqrt(np.mean(samples[:boundary] ** 2)) > 0.2


def test_the_label_is_proven_on_the_written_file_from_its_first_frame(conformed):
    result, _ = conformed
    report = result.label
    assert report.proven, [f.message for f in report.findings]
    assert report.target == "deliverable"
    codes = {f.code for f in report.findings}
    assert {"aigc.present", "visible.present"} <= codes
    assert report.evidence["visible"]["samples"][0]["frame"] == 0
    assert report.evidence["visible"]["samples"][0]["label"]
    assert '"ContentProducer"' in tag(readback(result.output)["format"], AIGC_KEY)   # an independent reader


def test_progress_counts_every_frame_of_the_timeline(conformed):
    _, reports = conformed
    assert [r.done for r in reports] == list(range(1, 53))
    assert {r.total for r in reports} == {52}


def test_every_audio_track_is_conformed_and_a_clip_without_one_is_silent_on_it(media, settings, tmp_path,
                                                                              grace_hopper, astronaut):
    both = write_sine_clip(tmp_path / "both.mov", grace_hopper, frames=24, hz=(660.0, 990.0), languages=("eng", "chi"))
    single = write_sine_clip(tmp_path / "one.mov", astronaut, frames=24, hz=550.0)
    output = tmp_path / "tracks.mov"
    result = conform_clips([ConformClip(both, FrameRange(0, 24)), ConformClip(single, FrameRange(0, 24))], output,
                           settings)
    assert [tag(s, "language") for s in streams_of(readback(output), "audio")] == ["eng", "chi"]
    cut = SAMPLE_RATE   # the second clip starts 1 s in
    first, second = decoded_audio(output, 0), decoded_audio(output, 1)
    for samples in (first, second):
        assert abs(len(samples) - result.frames * SAMPLE_RATE / RATE) <= 1024
    assert dominant_frequency(first[4000:cut - 4000], SAMPLE_RATE) == pytest.approx(660, abs=4)
    assert dominant_frequency(second[4000:cut - 4000], SAMPLE_RATE) == pytest.approx(990, abs=4)
    assert dominant_frequency(first[cut + 4000:-4000], SAMPLE_RATE) == pytest.approx(550, abs=4)
    assert np.sqrt(np.mean(second[cut + 2048:] ** 2)) < 1e-3


def test_a_clip_of_another_size_is_scaled_to_fit_and_letterboxed(media, settings, tmp_path, astronaut, grace_hopper):
    square = write_sine_clip(tmp_path / "square.mp4", grace_hopper, frames=24, hz=None, size=(160, 160))
    output = tmp_path / "boxed.mov"
    result = conform_clips([ConformClip(media["astronaut"], FrameRange(0, 24)), ConformClip(square, FrameRange(0, 24))],
                           output, settings)
    frames = decoded_frames(output)
    assert len(frames) == result.frames == 48
    assert all(f.shape == (240, 320, 3) for f in frames)
    cv2.imwrite("/tmp/conform-letterboxed.png", frames[30])      # to look at
    sources = decoded_frames(square)
    for k in (24, 30, 47):
        boxed = frames[k][:180]                                  # above the label
        assert boxed[:, :38].max() < 20 and boxed[:, 282:].max() < 20, "the bars left and right are black"
        inner = cv2.resize(frames[k][:, 40:280], (160, 160), interpolation=cv2.INTER_AREA)
        assert difference(inner, sources[k - 24]) < 5
    assert result.label.proven


def test_a_clip_at_another_frame_rate_is_refused_naming_it(media, settings, tmp_path, grace_hopper):
    fast = write_sine_clip(tmp_path / "fast.mp4", grace_hopper, frames=25, hz=440.0, rate=25)
    output = tmp_path / "refused.mp4"
    clips = [ConformClip(media["astronaut"], FrameRange(0, 10)), ConformClip(fast, FrameRange(0, 10), name="sh020")]
    with pytest.raises(MediaError, match=r"clip 2 'sh020' \(.*fast\.mp4\) runs at 25 fps .* at 24 fps"):
        conform_clips(clips, output, settings)
    assert not output.exists() and not partials(tmp_path)


def test_a_range_past_the_end_of_its_media_is_refused_before_anything_is_written(media, settings, tmp_path):
    output = tmp_path / "refused.mp4"
    clips = [ConformClip(media["astronaut"], FrameRange(0, 10)), ConformClip(media["hopper"], FrameRange(20, 31))]
    with pytest.raises(FrameRangeError, match=r"clip 2 .*hopper\.mov.*frames 20-30 are outside"):
        conform_clips(clips, output, settings)
    assert not output.exists() and not partials(tmp_path)


def test_a_failure_while_writing_leaves_the_previous_deliverable_as_it_was(media, settings, tmp_path, t1):
    sequence = make_sequence(tmp_path / "broken.%04d.png", t1, frames=12, first=1, size=SIZE)
    (tmp_path / "broken.0008.png").write_bytes(b"not a PNG: the copy was cut short")
    output = tmp_path / "deliverable.mp4"
    output.write_bytes(b"the deliverable published yesterday")
    clips = [ConformClip(media["astronaut"], FrameRange(0, 12)), ConformClip(sequence, FrameRange(1, 13))]
    with pytest.raises(MediaError, match="broken.0008.png"):
        conform_clips(clips, output, settings, overwrite=True)
    assert output.read_bytes() == b"the deliverable published yesterday"
    assert not partials(tmp_path)


def test_an_existing_output_is_kept_unless_overwrite_is_asked_for(media, settings, tmp_path):
    output = tmp_path / "deliverable.mp4"
    output.write_bytes(b"published")
    with pytest.raises(OutputExistsError, match="overwrite"):
        conform_clips([ConformClip(media["astronaut"], FrameRange(0, 4))], output, settings)
    assert output.read_bytes() == b"published"


def test_a_deliverable_must_be_an_mp4_or_mov_movie(media, settings, tmp_path):
    with pytest.raises(UnsupportedMediaError, match=r"\.mov, \.mp4"):
        conform_clips([ConformClip(media["astronaut"], FrameRange(0, 4))], tmp_path / "out.mkv", settings)
    with pytest.raises(ConfigError, match="no clips"):
        conform_clips([], tmp_path / "out.mp4", settings)


def test_a_conform_clip_coerces_its_media_and_rate_and_refuses_an_empty_or_bad_one():
    clip = ConformClip("plates/sh010.%04d.exr", (1001, 1049), name="sh010", rate="24000/1001")
    assert clip.media == Path("plates/sh010.%04d.exr")
    assert clip.frames == FrameRange(1001, 1049) and len(clip.frames) == 48
    assert clip.rate == Fraction(24000, 1001)
    with pytest.raises(ConfigError, match="names no media"):
        ConformClip(" ", FrameRange(0, 1))
    with pytest.raises(ConfigError, match="rate 0 must be above 0"):
        ConformClip("a.mov", FrameRange(0, 1), rate=0)
    with pytest.raises(FrameRangeError, match="empty"):
        ConformClip("a.mov", (5, 5))
