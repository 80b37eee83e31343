"""The media errors: what went wrong with which file, and what to do about it.

All are :class:`~faceright.errors.MediaError` (reading/writing media) or
:class:`~faceright.errors.OutputError` (an output path that must not be used), so a caller
that only cares "media failed" catches those.
"""
from __future__ import annotations

from faceright.errors import (  # noqa: F401  (the core's, named here too)
    FrameRangeError, MediaError, MediaNotFoundError, MediaUnreadableError, OutputError, OutputExistsError,
    OutputIsSourceError, UnsupportedMediaError,
)


class NoVideoStreamError(MediaError):
    """The file is media but holds no video stream (audio only, data only)."""


class MissingFramesError(MediaError):
    """An image sequence has holes: some frame numbers inside its range have no file."""

    def __init__(self, message: str, missing: list[int]):
        super().__init__(message)
        self.missing = missing


class VariableFrameRateError(MediaError):
    """Frame timestamps are not one frame apart, so frame numbers would be ambiguous."""


