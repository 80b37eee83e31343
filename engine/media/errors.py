"""The media errors: what went wrong with which file, and what to do about it.

All are :class:`~faceright.errors.MediaError` (reading/writing media) or
:class:`~faceright.errors.OutputError` (an output path that must not be used), so a caller
that only cares "media failed" catches those.
"""
from __future__ import annotations

from faceright.errors import FrameRangeError, MediaError, OutputError  # noqa: F401  (FrameRangeError: the core's)


class MediaNotFoundError(MediaError):
    """The media file (or every file of an image sequence) does not exist."""


class MediaUnreadableError(MediaError):
    """The file exists but is not media faceright can read (corrupt, truncated, not media)."""


class NoVideoStreamError(MediaError):
    """The file is media but holds no video stream (audio only, data only)."""


class MissingFramesError(MediaError):
    """An image sequence has holes: some frame numbers inside its range have no file."""

    def __init__(self, message: str, missing: list[int]):
        super().__init__(message)
        self.missing = missing


class VariableFrameRateError(MediaError):
    """Frame timestamps are not one frame apart, so frame numbers would be ambiguous."""


class UnsupportedMediaError(MediaError):
    """A format, codec or feature this build cannot read or write (named in the message)."""


class OutputExistsError(OutputError):
    """The output exists and overwriting was not asked for."""


class OutputIsSourceError(OutputError):
    """The output path is (or is a link to) a file the output is made from."""
