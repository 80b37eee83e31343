"""The one FrameRange: every host's convention converts both ways, checked on real timelines."""
from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest
from hypothesis import given, settings, strategies as st

from faceright.errors import FrameRangeError
from faceright.frames import RESOLVE_DEFAULT_START, FrameRange

pytestmark = pytest.mark.hostside

SAMPLES = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "samples" / "otio",
                             Path("/work/shared/samples/otio")) if p.is_dir()),
               Path(__file__).resolve().parents[2] / "shared" / "samples" / "otio")

ranges = st.builds(lambda first, n: FrameRange.from_count(n, first),
                   st.integers(-10**6, 10**6), st.integers(1, 10**5))


def test_half_open_inside_inclusive_at_the_cli():
    r = FrameRange.parse("1001-1048")
    assert (r.first, r.end, r.last, len(r)) == (1001, 1049, 1048, 48)
    assert list(r)[0] == 1001 and list(r)[-1] == 1048
    assert 1048 in r and 1049 not in r and 1000 not in r
    assert r.to_cli() == "1001-1048"


@pytest.mark.parametrize("text", ["1048-1001", "1001", "a-b", "1001-1048-2000", ""])
def test_a_bad_cli_range_is_refused_with_what_was_given(text):
    with pytest.raises(FrameRangeError, match="frame range"):
        FrameRange.parse(text)


@pytest.mark.parametrize("first,end", [(5, 5), (5, 4), (1.5, 3), (True, 3), ("1", 3)])
def test_empty_or_non_whole_ranges_are_refused(first, end):
    with pytest.raises(FrameRangeError):
        FrameRange(first, end)


@settings(deadline=None)
@given(ranges)
def test_cli_json_resolve_and_otio_forms_round_trip(r):
    assert FrameRange.parse(r.to_cli()) == r
    assert FrameRange.inclusive(**r.to_json()) == r
    assert FrameRange.from_resolve(*r.to_resolve()) == r
    assert FrameRange.from_otio(r.to_otio(24)) == r
    assert FrameRange.from_otio(r.to_otio(24000 / 1001)) == r


def test_video_frames_count_from_zero():
    r = FrameRange.from_count(48)
    assert (r.first, r.last) == (0, 47)


def test_real_otio_clip_ranges_convert_both_ways():
    timeline = otio.adapters.read_from_file(str(SAMPLES / "otio-core" / "simple_cut.otio"))
    clips = list(timeline.find_clips())
    seen = []
    for clip in clips:
        source = clip.trimmed_range()
        frames = FrameRange.from_otio(source)
        # OTIO's own arithmetic is the oracle: its inclusive end time is our last frame
        assert frames.first == source.start_time.to_frames()
        assert frames.last == source.end_time_inclusive().to_frames()
        assert frames.to_otio(source.start_time.rate) == source
        seen.append((frames.first, frames.last))
    assert seen[:3] == [(3, 5), (2, 7), (0, 3)]


def test_an_otio_range_that_is_not_on_whole_frames_at_the_rate_asked_is_refused():
    # a real Resolve export: the clip's range is at 25 fps, its media's at 24 (reference/hosts-api.md)
    clip = otio.adapters.read_from_file(str(SAMPLES / "resolve" / "qt_embedded_tc.json"), adapter_name="otio_json")
    assert FrameRange.from_otio(clip.source_range) == FrameRange.from_count(44, 90032)
    with pytest.raises(FrameRangeError, match="not on whole frames"):
        FrameRange.from_otio(clip.source_range, rate=24)


def test_an_otio_image_sequence_range_gives_its_file_numbers():
    timeline = otio.adapters.read_from_file(str(SAMPLES / "otio-core" / "image_sequence_example.otio"))
    clip = next(iter(timeline.find_clips()))
    ref = clip.media_reference
    files = FrameRange.from_otio_sequence(ref, clip.source_range)
    # the source range starts 10 frames into media whose first file is 1001 (at timecode 86400)
    assert files == FrameRange.inclusive(1011, 1040)
    assert files.first == ref.frame_for_time(clip.source_range.start_time)
    assert files.last == ref.frame_for_time(clip.source_range.end_time_inclusive())
    outside = otio.opentime.TimeRange(otio.opentime.RationalTime(86440, 24), otio.opentime.RationalTime(20, 24))
    with pytest.raises(FrameRangeError, match="outside the image sequence"):
        FrameRange.from_otio_sequence(ref, outside)


def test_resolve_ends_are_exclusive_and_record_frames_shift_to_timeline_frames():
    # a 48-frame item at the head of a timeline that starts at 01:00:00:00 (86400 at 24 fps)
    item = FrameRange.from_resolve(86400, 86448)
    assert len(item) == 48 and item.last == 86447
    assert item.shifted(-RESOLVE_DEFAULT_START) == FrameRange.from_count(48)
    assert item.to_resolve() == (86400, 86448)


@pytest.mark.parametrize("start,end,fixed", [("86400", "86448", True), (86400.0, 86448.0, True),
                                              (None, 86448, False), (86400.5, 86448, False), ("x", 1, False)])
def test_resolve_values_come_as_strings_floats_or_none(start, end, fixed):
    if fixed:
        assert FrameRange.from_resolve(start, end) == FrameRange(86400, 86448)
    else:
        with pytest.raises(FrameRangeError, match="Resolve"):
            FrameRange.from_resolve(start, end)
