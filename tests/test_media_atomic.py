"""Outputs appear whole or not at all, never over their source, never over an existing file
unless asked."""
from __future__ import annotations

import os

import numpy as np
import pytest

from clips import make_clip

from faceright.engine.media import (
    AtomicOutput,
    OutputExistsError,
    OutputIsSourceError,
    VideoWriter,
    open_sink,
    open_source,
    probe,
)
from faceright.errors import MediaError, OutputError


@pytest.fixture()
def plate(tmp_path, astronaut):
    return make_clip(tmp_path / "plate.mov", astronaut, frames=12, size=(128, 96), audio=False)


def _frames(n, value=0):
    return [np.full((96, 128, 3), value + i, np.uint8) for i in range(n)]


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


def test_exception_mid_write_keeps_the_previous_output_and_leaves_no_temp_file(plate, tmp_path):
    out = tmp_path / "out.mov"
    out.write_bytes(b"previous render")
    with pytest.raises(RuntimeError, match="swap crashed"):
        with open_sink(out, like=probe(plate), overwrite=True) as sink:
            for i, (_, frame) in enumerate(open_source(plate)):
                if i == 5:
                    raise RuntimeError("swap crashed")
                sink.write(frame)
    assert out.read_bytes() == b"previous render"
    assert _leftovers(tmp_path) == []


def test_while_writing_only_a_hidden_temp_name_exists(plate, tmp_path):
    out = tmp_path / "out.mov"
    sink = open_sink(out, like=probe(plate))
    for _, frame in open_source(plate, (0, 3)):
        sink.write(frame)
    assert not out.exists()
    temp, = _leftovers(tmp_path)
    assert temp.startswith(".out.mov.") and temp.endswith(".partial.mov")
    sink.close()
    assert out.exists() and _leftovers(tmp_path) == []
    assert probe(out).frame_count == 3


def test_existing_output_is_refused_unless_overwrite(plate, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="overwrite"):
        open_sink(out, like=probe(plate))
    assert out.read_bytes() == b"keep me"
    with open_sink(out, like=probe(plate), overwrite=True) as sink:
        for _, frame in open_source(plate):
            sink.write(frame)
    assert probe(out).frame_count == 12


def test_output_that_appears_during_the_write_is_not_clobbered(tmp_path):
    out = tmp_path / "race.mkv"
    writer = VideoWriter(out, width=128, height=96, rate=24)
    for frame in _frames(2):
        writer.write(frame)
    out.write_bytes(b"someone else's file")
    with pytest.raises(OutputExistsError):
        writer.close()
    assert out.read_bytes() == b"someone else's file"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("how", ["same path", "hard link", "symlink", "relative path"])
def test_output_that_is_the_source_is_refused_even_with_overwrite(plate, tmp_path, how, monkeypatch):
    before = plate.read_bytes()
    if how == "same path":
        target = plate
    elif how == "hard link":
        target = tmp_path / "linked.mov"
        os.link(plate, target)
    elif how == "symlink":
        target = tmp_path / "alias.mov"
        target.symlink_to(plate)
    else:
        monkeypatch.chdir(tmp_path)
        target = plate.name
    with pytest.raises(OutputIsSourceError, match="never writes over its source"):
        open_sink(target, like=probe(plate), overwrite=True)
    assert plate.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_output_in_a_missing_folder_is_refused_before_any_work(plate, tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        open_sink(tmp_path / "no" / "such" / "out.mov", like=probe(plate))


def test_writing_no_frames_publishes_nothing(tmp_path):
    out = tmp_path / "empty.mov"
    with pytest.raises(MediaError, match="no frames"):
        VideoWriter(out, width=64, height=48, rate=24).close()
    assert not out.exists() and _leftovers(tmp_path) == []


def test_atomic_output_commit_and_discard(tmp_path):
    target = tmp_path / "a.txt"
    with AtomicOutput(target) as atomic:
        atomic.temp.write_text("whole")
        assert not target.exists()
        atomic.commit()
    assert target.read_text() == "whole"
    with pytest.raises(KeyError):
        with AtomicOutput(target, overwrite=True) as atomic:
            atomic.temp.write_text("half")
            raise KeyError("boom")
    assert target.read_text() == "whole" and _leftovers(tmp_path) == []
