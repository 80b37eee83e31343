"""A deliverable conformed from a timeline of cuts: what goes in, what comes back.

When no host hands in its own render, the publish renders the deliverable (what a viewer
gets) itself: a timeline with one video track of cuts becomes one movie, each clip's
source range in order, the audio kept, the AIGC label burned in from the first frame. The
OTIO collector turns the timeline into :class:`ConformClip` values and the engine client's
``conform`` renders them (``faceright.engine.jobs.conform``); both ends share these types,
so the core defines them and never needs the engine to build one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, FrameRangeError
from .frames import FrameRange

if TYPE_CHECKING:   # annotations only: the label modules load lazily
    from .labels.verify import LabelReport

__all__ = ["ConformClip", "ConformResult"]


@dataclass(frozen=True)
class ConformClip:
    """One cut of the timeline: ``frames`` of ``media``, played in full, in timeline order.

    ``frames`` is half-open in the media's *own* numbering (a movie's frames count from 0, an
    image sequence's are its file numbers). ``rate`` is for an image sequence, whose files carry
    none; a movie knows its own (give it only to insist on it). ``name`` is how errors and logs
    name the clip (the timeline's clip name).
    """

    media: str | Path
    frames: FrameRange
    name: str = ""
    rate: Fraction | None = None

    def __post_init__(self) -> None:
        if isinstance(self.media, str) and not self.media.strip():
            raise ConfigError(f"conform clip {self.name!r} names no media; give the file or sequence pattern")
        if not isinstance(self.media, Path):
            object.__setattr__(self, "media", Path(os.fspath(self.media)))
        if not isinstance(self.frames, FrameRange):
            try:
                object.__setattr__(self, "frames", FrameRange.coerce(self.frames))
            except (TypeError, ValueError) as exc:
                raise FrameRangeError(f"conform clip {self.display}: frames must be a FrameRange (half-open), "
                                      f"got {self.frames!r}") from exc
        if self.rate is not None:
            try:
                rate = Fraction(self.rate)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"conform clip {self.display}: rate {self.rate!r} is not a number of frames a "
                                  "second (e.g. 24 or 24000/1001)") from exc
            if rate <= 0:
                raise ConfigError(f"conform clip {self.display}: rate {self.rate!r} must be above 0")
            object.__setattr__(self, "rate", rate)

    @property
    def display(self) -> str:
        """How a message names this clip: its name and its media."""
        return f"{self.name!r} ({self.media})" if self.name else str(self.media)


@dataclass(frozen=True)
class ConformResult:
    """A conformed deliverable: the movie written, and the label proven on it."""

    output: Path
    frames: int                    #: frames in the output (the sum of the clips' ranges)
    seconds: float                 #: time spent writing, without the label proof
    label: LabelReport             #: metadata and visible text read back from ``output``
    sha256: str                    #: of the written file

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0
