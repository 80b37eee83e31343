"""Bad input gets a MediaError that names the file and what to do — never a PyAV traceback."""
from __future__ import annotations

import av
import numpy as np
import pytest

from clips import make_clip

from faceright.engine.media import (
    MediaNotFoundError,
    MediaUnreadableError,
    NoVideoStreamError,
    UnsupportedMediaError,
    VideoWriter,
    open_sink,
    open_source,
    probe,
)
from faceright.errors import FaceRightError, MediaError


@pytest.fixture(scope="module")
def clips(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("bad")
    plain = make_clip(folder / "plain.mp4", astronaut, frames=48, size=(128, 96))   # moov at the end
    mkv = make_clip(folder / "plate.mkv", astronaut, frames=48, size=(128, 96))
    faststart = folder / "faststart.mp4"                                              # moov first
    with open_sink(faststart, like=probe(plain)) as sink:
        for _, frame in open_source(plain):
            sink.write(frame)
    return {"plain": plain, "mkv": mkv, "faststart": faststart}


def _cut_in_half(path, tmp_path):
    data = path.read_bytes()
    cut = tmp_path / f"cut_{path.name}"
    cut.write_bytes(data[:len(data) // 2])
    return cut


def _read_all(path):
    return sum(1 for _ in open_source(path))


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nowhere.mov"
    with pytest.raises(MediaNotFoundError, match="nowhere.mov does not exist"):
        probe(missing)


def test_text_file_with_a_video_suffix(tmp_path):
    fake = tmp_path / "notes.mov"
    fake.write_text("this is not a movie\n" * 50)
    with pytest.raises(MediaUnreadableError, match="notes.mov is not a video") as caught:
        open_source(fake)
    assert isinstance(caught.value.__cause__, av.error.FFmpegError)   # raised from, not swallowed


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaUnreadableError, match="empty.mp4"):
        probe(empty)


def test_folder_given_as_a_video(tmp_path):
    with pytest.raises(MediaUnreadableError, match="is a folder"):
        probe(tmp_path)


def test_truncated_mp4_without_its_index_is_unreadable(clips, tmp_path):
    with pytest.raises(MediaUnreadableError, match="truncated"):
        probe(_cut_in_half(clips["plain"], tmp_path))


def test_truncated_faststart_mp4_fails_where_the_frames_end(clips, tmp_path):
    cut = _cut_in_half(clips["faststart"], tmp_path)
    assert probe(cut).frame_count == 48                      # the index still promises 48
    with pytest.raises(MediaUnreadableError, match=r"ended after frame \d+ but claims 48 frames"):
        _read_all(cut)


def test_truncated_mkv_is_caught_by_its_duration_tag(clips, tmp_path):
    with pytest.raises(MediaUnreadableError, match="is truncated"):
        probe(_cut_in_half(clips["mkv"], tmp_path))


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "mono"
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(NoVideoStreamError, match=r"voice.m4a holds no video stream \(found: audio \(aac\)\)"):
        open_source(path)


def test_unknown_output_suffix_and_codec(tmp_path):
    with pytest.raises(UnsupportedMediaError, match=r"\.avi.*use one of"):
        VideoWriter(tmp_path / "out.avi", width=64, height=48, rate=24)
    with pytest.raises(UnsupportedMediaError, match="no encoder 'nope'"):
        VideoWriter(tmp_path / "out.mov", width=64, height=48, rate=24, codec="nope")
    assert list(tmp_path.iterdir()) == []


def test_odd_size_for_yuv420p_is_refused_with_the_fix(tmp_path):
    with pytest.raises(MediaError, match="even width and height.*crop or pad"):
        VideoWriter(tmp_path / "odd.mp4", width=65, height=48, rate=24)


def test_every_media_error_is_a_faceright_error():
    for error in (MediaNotFoundError, MediaUnreadableError, NoVideoStreamError, UnsupportedMediaError):
        assert issubclass(error, MediaError) and issubclass(error, FaceRightError)


def test_timestamp_gap_is_refused_rather_than_renumbered(tmp_path):
    """Frames at 0, 1, 2, 4, 5...: frame 3 is missing, so later frame numbers would be wrong."""
    path = tmp_path / "gap.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for pts in [0, 1, 2, 4, 5, 6, 7]:
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), pts * 20, np.uint8), format="bgr24")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    from faceright.engine.media import VariableFrameRateError

    assert [i for i, _ in open_source(path, (0, 3))] == [0, 1, 2]
    with pytest.raises(VariableFrameRateError, match="frame 3 was expected but the next frame's timestamp says 4"):
        list(open_source(path, (0, 6)))
