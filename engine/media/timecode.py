"""SMPTE timecode strings ↔ frame counts, including drop-frame at 29.97 and 59.94.

``HH:MM:SS:FF`` is non-drop; a ``;`` before the frames (``HH:MM:SS;FF``, what FFmpeg
writes) marks drop-frame. The nominal rate is the rate rounded (30000/1001 counts 30 frames
a second); timecode wraps at 24 hours.
"""
from __future__ import annotations

import re
from fractions import Fraction

from faceright.engine.media.errors import MediaError

_TIMECODE = re.compile(r"^(\d{1,2})[:.](\d{2})[:.](\d{2})([:.;,])(\d{2,3})$")


def nominal_fps(rate: Fraction) -> int:
    """Frames per timecode second: 24 for 24000/1001, 30 for 30000/1001, 25 for 25."""
    fps = round(Fraction(rate))
    if fps <= 0:
        raise MediaError(f"cannot count timecode at frame rate {rate}")
    return fps


def _drop_frames(fps: int) -> int:
    if fps % 30:
        raise MediaError(f"drop-frame timecode exists only at 29.97 and 59.94 fps, not at a nominal {fps} fps")
    return fps // 15  # 2 at 29.97, 4 at 59.94


def is_drop_frame(timecode: str) -> bool:
    return ";" in timecode or "," in timecode


def to_frames(timecode: str, rate: Fraction) -> int:
    """Frames since 00:00:00:00 of ``timecode`` at ``rate``."""
    match = _TIMECODE.match(timecode.strip())
    if not match:
        raise MediaError(f"timecode {timecode!r} is not HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame)")
    hours, minutes, seconds, separator, frames = match.groups()
    h, m, s, f = int(hours), int(minutes), int(seconds), int(frames)
    fps = nominal_fps(rate)
    if m >= 60 or s >= 60 or f >= fps:
        raise MediaError(f"timecode {timecode!r} is out of range at {fps} fps")
    total = ((h * 60 + m) * 60 + s) * fps + f
    if separator in ";,":
        drop = _drop_frames(fps)
        total_minutes = h * 60 + m
        if f < drop and s == 0 and m % 10:
            raise MediaError(f"timecode {timecode!r} does not exist in drop-frame counting")
        total -= drop * (total_minutes - total_minutes // 10)
    return total


def from_frames(count: int, rate: Fraction, drop_frame: bool = False) -> str:
    """The timecode of frame ``count`` (since 00:00:00:00) at ``rate``; wraps at 24 h."""
    fps = nominal_fps(rate)
    if drop_frame:
        drop = _drop_frames(fps)
        per_minute = fps * 60 - drop
        per_ten = per_minute * 10 + drop
        count %= per_ten * 6 * 24
        tens, rest = divmod(count, per_ten)
        count += drop * 9 * tens
        if rest > drop:
            count += drop * ((rest - drop) // per_minute)
    else:
        count %= fps * 3600 * 24
    f = count % fps
    s = count // fps % 60
    m = count // (fps * 60) % 60
    h = count // (fps * 3600) % 24
    return f"{h:02d}:{m:02d}:{s:02d}{';' if drop_frame else ':'}{f:02d}"


def offset(timecode: str, frames: int, rate: Fraction) -> str:
    """``timecode`` moved by ``frames`` frames, in the same counting (drop or not)."""
    drop = is_drop_frame(timecode)
    return from_frames(to_frames(timecode, rate) + frames, rate, drop_frame=drop)
