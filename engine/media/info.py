"""What a piece of media is: :class:`MediaInfo`, its :class:`FrameRange` and :class:`ColorInfo`.

Frame numbers
    A video's frames are numbered from 0 in presentation order. An image sequence's frames
    carry the numbers in their file names (often from 1001). ``MediaInfo.frames`` is the
    range the media holds, in that numbering.

Frame ranges are half-open
    ``FrameRange(first, end)`` holds ``first, first + 1, ..., end - 1``, like Python's
    ``range``: ``FrameRange(10, 20)`` is the 10 frames 10..19. Use
    :meth:`FrameRange.inclusive` for a VFX-style ``first-last`` pair (1001-1048).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from faceright.engine.media.errors import FrameRangeError
from faceright.frames import FrameRange  # the core's one frame-range type

MediaKind = Literal["video", "sequence", "image"]


#: FFmpeg's names (``av_color_*_name``, what ffprobe prints) of its colour enums
_RANGE_NAMES = {1: "tv", 2: "pc"}
_PRIMARIES_NAMES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
                    9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
_TRC_NAMES = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
              9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "iec61966-2-1",
              14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
_SPACE_NAMES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
                9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc",
                13: "chroma-derived-c", 14: "ictcp"}
_TABLES = {"color_range": _RANGE_NAMES, "color_primaries": _PRIMARIES_NAMES,
           "color_trc": _TRC_NAMES, "color_space": _SPACE_NAMES}


@dataclass(frozen=True)
class ColorInfo:
    """Colour tags of a video stream, by FFmpeg's names; ``None`` where unspecified.

    ``color_range`` is ``"tv"`` (limited) or ``"pc"`` (full); the others are names such as
    ``"bt709"``, exactly as ffprobe prints ``color_primaries``, ``color_transfer`` and
    ``color_space``.
    """

    color_range: str | None = None
    color_primaries: str | None = None
    color_trc: str | None = None
    color_space: str | None = None

    def __post_init__(self) -> None:
        for name, table in _TABLES.items():
            value = getattr(self, name)
            if value is not None and value not in table.values():
                raise ValueError(f"{name}={value!r} is not one of FFmpeg's names: {sorted(table.values())}")

    @classmethod
    def from_codes(cls, color_range: int, color_primaries: int, color_trc: int, color_space: int) -> ColorInfo:
        """From FFmpeg's enum values (unspecified and unknown codes become ``None``)."""
        return cls(_RANGE_NAMES.get(color_range), _PRIMARIES_NAMES.get(color_primaries),
                   _TRC_NAMES.get(color_trc), _SPACE_NAMES.get(color_space))

    def code(self, name: str) -> int:
        """FFmpeg's enum value of one field (2 = unspecified, 0 for an unspecified range)."""
        value = getattr(self, name)
        if value is None:
            return 0 if name == "color_range" else 2
        return next(k for k, v in _TABLES[name].items() if v == value)


@dataclass(frozen=True)
class MediaInfo:
    """What a video file, image sequence or still holds. Build it with :func:`probe`.

    ``rate`` is exact (``Fraction(30000, 1001)``); ``frame_count`` is the number of frames a
    reader yields; ``first_frame`` is 0 for video and the lowest file number for a sequence.
    ``timecode`` is the start timecode (``"01:00:00:00"``; ``;`` before the frames for
    drop-frame), or ``None``. ``metadata`` is the container's (or first image's) metadata.
    ``start_time`` is where frame 0 sits on the container's clock, in seconds (audio is
    cut against it).
    """

    path: Path
    kind: MediaKind
    width: int
    height: int
    rate: Fraction
    frame_count: int
    first_frame: int = 0
    time_base: Fraction | None = None
    pix_fmt: str = ""
    codec: str = ""
    container: str = ""
    timecode: str | None = None
    has_audio: bool = False
    audio_codec: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    color: ColorInfo = field(default_factory=ColorInfo)
    bit_depth: int = 8
    start_time: Fraction = Fraction(0)

    @property
    def frames(self) -> FrameRange:
        """All the frames the media holds, in its own numbering."""
        return FrameRange(self.first_frame, self.first_frame + self.frame_count)

    @property
    def duration(self) -> Fraction:
        """Seconds of video: ``frame_count / rate``."""
        return Fraction(self.frame_count) / self.rate

    def check_range(self, frames: FrameRange | tuple[int, int] | range | None) -> FrameRange:
        """``frames`` as a FrameRange inside :attr:`frames` (all of them for ``None``)."""
        if frames is None:
            return self.frames
        wanted = FrameRange.coerce(frames)
        if not wanted.within(self.frames):
            raise FrameRangeError(
                f"frames {wanted.to_cli()} are outside {self.path}, which holds frames {self.frames.to_cli()} "
                f"({self.frame_count} frames, both ends included as --frames takes them"
                f"{'; video frames count from 0' if self.kind == 'video' else ''})")
        return wanted
