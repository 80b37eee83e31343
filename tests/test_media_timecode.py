"""SMPTE timecode arithmetic, non-drop and drop-frame."""
from __future__ import annotations

from fractions import Fraction

import pytest

from faceright.engine.media import timecode as tc
from faceright.errors import MediaError

NTSC = Fraction(30000, 1001)


@pytest.mark.parametrize("start, frames, rate, expected", [
    ("01:00:00:00", 13, NTSC, "01:00:00:13"),
    ("01:00:00:00", 24, 24, "01:00:01:00"),
    ("00:59:59:24", 1, 25, "01:00:00:00"),
    ("23:59:59:23", 1, 24, "00:00:00:00"),                  # wraps at 24 h
    ("00:00:59;29", 1, NTSC, "00:01:00;02"),                # ;00 and ;01 do not exist
    ("00:09:59;29", 1, NTSC, "00:10:00;00"),                # ...except every tenth minute
    ("00:00:00;00", 17982, NTSC, "00:10:00;00"),            # 10 minutes of 29.97
    ("00:00:00;00", 107892, NTSC, "01:00:00;00"),           # one hour of 29.97 DF is 107892 frames
    ("00:00:59;58", 2, Fraction(60000, 1001), "00:01:00;04"),
    ("01:00:00:00", -1, 24, "00:59:59:23"),
])
def test_offset(start, frames, rate, expected):
    assert tc.offset(start, frames, rate) == expected


def test_drop_frame_round_trips_every_frame_of_eleven_minutes():
    for count in range(0, 30000, 7):
        assert tc.to_frames(tc.from_frames(count, NTSC, drop_frame=True), NTSC) == count


@pytest.mark.parametrize("bad", ["1:00:00", "01:00:00:30", "00:01:00;00", "aa:bb:cc:dd"])
def test_malformed_or_impossible_timecodes_are_refused(bad):
    with pytest.raises(MediaError, match="timecode"):
        tc.to_frames(bad, NTSC)


def test_drop_frame_at_25_fps_is_refused():
    with pytest.raises(MediaError, match="drop-frame"):
        tc.to_frames("00:00:10;00", 25)
