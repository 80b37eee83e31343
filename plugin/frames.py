"""One frame-range type for the whole of faceright, with an explicit conversion per convention.

Inside faceright a range is half-open, like Python's ``range``: ``FrameRange(1001, 1049)``
holds the 48 frames 1001..1048. Every host counts differently, so each convention has its
own pair of conversions, named after it, and nothing else converts:

============================  =====================================  ==============================
convention                    looks like                             conversion
============================  =====================================  ==============================
the CLI, VFX artists          ``1001-1048`` (both ends included)     :meth:`parse` / :meth:`to_cli`
image-sequence file numbers   files ``plate.1001.exr`` .. ``1048``   :meth:`inclusive` / :attr:`last`
video frames                  0 .. count-1 in presentation order     :meth:`from_count`
OpenTimelineIO                ``TimeRange(start_time, duration)``    :meth:`from_otio` / :meth:`to_otio`
OTIO image sequence           ``ImageSequenceReference.start_frame`` :meth:`from_otio_sequence`
DaVinci Resolve               ``GetStart()``/``GetEnd()`` (exclusive) :meth:`from_resolve` / :meth:`to_resolve`
                              record frames from 86400 (01:00:00:00)
============================  =====================================  ==============================
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .errors import FrameRangeError

_CLI = re.compile(r"^\s*(-?\d+)\s*[-:]\s*(-?\d+)\s*$")

#: Resolve's default timeline start, 01:00:00:00, as a record frame at 24 fps
RESOLVE_DEFAULT_START = 86400


@dataclass(frozen=True)
class FrameRange:
    """Frames ``first`` .. ``end - 1`` (half-open, like ``range``)."""

    first: int
    end: int

    def __post_init__(self) -> None:
        if not _is_int(self.first) or not _is_int(self.end):
            raise FrameRangeError(f"frame range ends must be whole numbers, got {self.first!r}, {self.end!r}")
        if self.end <= self.first:
            raise FrameRangeError(
                f"frame range [{self.first}, {self.end}) is empty: end is exclusive and must be > first")

    # -- conventions ------------------------------------------------------------------------------

    @classmethod
    def inclusive(cls, first: int, last: int) -> FrameRange:
        """``first``..``last`` with both ends included (VFX's 1001-1048, sequence file numbers)."""
        return cls(first, last + 1)

    @classmethod
    def from_count(cls, count: int, first: int = 0) -> FrameRange:
        """``count`` frames from ``first`` (a video's frames count from 0)."""
        return cls(first, first + count)

    @classmethod
    def parse(cls, text: str) -> FrameRange:
        """The CLI's ``FIRST-LAST``, both ends included: ``1001-1048`` or ``0-47``."""
        match = _CLI.match(text)
        if not match:
            raise FrameRangeError(f"frame range {text!r} must look like FIRST-LAST, e.g. 1001-1048 or 0-47")
        first, last = int(match[1]), int(match[2])
        if last < first:
            raise FrameRangeError(f"frame range {text!r}: the last frame comes before the first")
        return cls.inclusive(first, last)

    def to_cli(self) -> str:
        return f"{self.first}-{self.last}"

    @classmethod
    def from_otio(cls, time_range: Any, rate: float | Fraction | None = None) -> FrameRange:
        """An OTIO ``TimeRange`` (start + duration) as frames at ``rate`` (default: the range's own).

        A range that does not fall on whole frames at that rate is refused, never rounded.
        """
        rate = float(rate if rate is not None else time_range.start_time.rate)
        start = time_range.start_time.value_rescaled_to(rate)
        duration = time_range.duration.value_rescaled_to(rate)
        if not (_whole(start) and _whole(duration)):
            raise FrameRangeError(
                f"OTIO range start {start} duration {duration} at {rate:g} fps is not on whole frames")
        return cls.from_count(round(duration), round(start))

    @classmethod
    def from_otio_sequence(cls, reference: Any, time_range: Any) -> FrameRange:
        """The file numbers an OTIO ``ImageSequenceReference`` holds for ``time_range`` (a clip's
        source range, in the reference's time): ``start_frame`` is the first file of its
        ``available_range``, whatever timecode that range starts at."""
        rate = float(reference.rate)
        frames = cls.from_otio(time_range, rate)
        available = cls.from_otio(reference.available_range, rate) if reference.available_range else None
        origin = available.first if available is not None else 0
        if available is not None and not frames.within(available):
            raise FrameRangeError(f"OTIO range (frames {frames.to_cli()}) lies outside the image sequence's available "
                                  f"frames {available.to_cli()} (timecode frames at {rate:g} fps, both ends included)")
        return frames.shifted(int(reference.start_frame) - origin)

    def to_otio(self, rate: float | Fraction) -> Any:
        import opentimelineio as otio   # a base dependency; imported where it is used

        rate = float(rate)
        return otio.opentime.TimeRange(otio.opentime.RationalTime(self.first, rate),
                                       otio.opentime.RationalTime(len(self), rate))

    @classmethod
    def from_resolve(cls, start: int | float | str | None, end: int | float | str | None) -> FrameRange:
        """A Resolve TimelineItem's ``GetStart()``/``GetEnd()``: record frames, ``end`` exclusive.

        Resolve answers None for a stale item and may give floats (``subframe_precision``) or
        strings; anything that is not a whole frame is refused with what was given.
        """
        if start is None or end is None:
            raise FrameRangeError(f"Resolve gave no frame range (GetStart()={start!r}, GetEnd()={end!r}): "
                                  "is the timeline item still on the timeline?")
        try:
            first, stop = float(start), float(end)
        except (TypeError, ValueError):
            raise FrameRangeError(f"Resolve's range {start!r}..{end!r} is not numeric") from None
        if not (_whole(first) and _whole(stop)):
            raise FrameRangeError(f"Resolve's range {start!r}..{end!r} is not on whole frames")
        return cls(round(first), round(stop))

    def to_resolve(self) -> tuple[int, int]:
        """``(GetStart(), GetEnd())`` as Resolve reports them: the end is exclusive."""
        return self.first, self.end

    def shifted(self, offset: int) -> FrameRange:
        """The same frames counted from elsewhere: Resolve record frames → timeline frames from 0
        is ``shifted(-timeline.GetStartFrame())``; a clip's source frames add its left offset."""
        return FrameRange(self.first + offset, self.end + offset)

    # -- JSON: both ends included, as people write them --------------------------------------------

    def to_json(self) -> dict[str, int]:
        return {"first": self.first, "last": self.last}

    @classmethod
    def coerce(cls, value: FrameRange | tuple[int, int] | range) -> FrameRange:
        """A FrameRange from a FrameRange, a half-open ``(first, end)`` pair or a step-1 ``range``."""
        if isinstance(value, FrameRange):
            return value
        if isinstance(value, range):
            if value.step != 1:
                raise FrameRangeError(f"frame range {value} must have step 1")
            return cls(value.start, value.stop)
        first, end = value
        return cls(int(first), int(end))

    # -- as a collection --------------------------------------------------------------------------

    @property
    def last(self) -> int:
        """The last frame in the range (``end - 1``)."""
        return self.end - 1

    def __len__(self) -> int:
        return self.end - self.first

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.first, self.end))

    def __contains__(self, frame: object) -> bool:
        return _is_int(frame) and self.first <= frame < self.end  # type: ignore[operator]

    def within(self, outer: FrameRange) -> bool:
        return outer.first <= self.first and self.end <= outer.end

    def __str__(self) -> str:
        return f"[{self.first}, {self.end})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: float) -> bool:
    return abs(value - round(value)) < 1e-6
