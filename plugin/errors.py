"""The one error family of faceright.

Every error a user can cause (bad media, a missing face, a wrong model file, a tampered
license, a bad config) is a ``FaceRightError`` subclass whose name states the condition and
whose message says what was expected, what was found and what to do. Library code raises
these; only the CLI turns them into an exit code.
"""
from __future__ import annotations


class FaceRightError(Exception):
    """Base of every error faceright raises on purpose."""

    #: process exit code the CLI uses for this kind of error
    exit_code = 2


class ConfigError(FaceRightError):
    """The configuration file or an option has a value faceright cannot use."""


class DependencyMissingError(FaceRightError):
    """An optional dependency (onnxruntime, c2pa, ...) is not installed."""

    exit_code = 3


class ModelError(FaceRightError):
    """A model file cannot serve the role it was asked for."""


class MediaError(FaceRightError):
    """Media could not be read or written."""


class MediaNotFoundError(MediaError):
    """The media file (or every file of an image sequence) does not exist."""


class MediaUnreadableError(MediaError):
    """The file exists but is not media faceright can read (corrupt, truncated, not media)."""


class UnsupportedMediaError(MediaError):
    """A format, codec or feature this build cannot read or write (named in the message)."""


class FrameRangeError(MediaError):
    """A frame range is empty, malformed, or lies outside the frames the media has."""


class NoFaceError(FaceRightError):
    """An image that must show a face shows none (or none that fits)."""


class MultipleFacesError(NoFaceError):
    """An image that must show one face shows several, and nothing says which one is meant."""


class OutputError(FaceRightError):
    """An output path cannot be used (it would overwrite a source, its folder is missing...)."""


class OutputExistsError(OutputError):
    """The output exists and overwriting was not asked for."""


class OutputIsSourceError(OutputError):
    """The output path is (or is a link to) a file the output is made from."""


class LicenseError(FaceRightError):
    """A likeness license, plate release, key or revocation record cannot be used as given."""


class LedgerError(FaceRightError):
    """The publish ledger cannot be opened, reached or written (its database is named in the message).

    Its own exit code, so a compliance script tells "could not check" (4) from "tampered" (1)."""

    exit_code = 4


class ShotError(FaceRightError):
    """A FaceShot document is malformed: wrong schema, unknown field, wrong type (the field is named)."""


class TimelineError(FaceRightError):
    """An OTIO timeline cannot be read or used: a future schema, not a timeline, malformed faceright data."""


class PathRootError(ConfigError):
    """A ``root:relative/path`` media name cannot be resolved inside the TD's path roots."""


class SwapRefusedError(FaceRightError):
    """A swap was refused before a frame was decoded: its license or plate release does not cover it.

    ``findings`` holds every reason (the blocking ones and the rest), for a person or a validator.
    """

    exit_code = 1

    def __init__(self, message: str, findings: list) -> None:
        super().__init__(message)
        self.findings = findings


class ServiceError(FaceRightError):
    """The engine service refused a request or could not be reached. ``code`` is stable
    (``service.unreachable``, ``service.busy``, ``job.unknown``, ``path.outside_roots``...), the
    message names what to do; ``retry_after`` (seconds) is set when the service said when to retry."""

    exit_code = 5

    def __init__(self, message: str, *, code: str = "service.error", retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
        self.status = status


class JobCancelledError(FaceRightError):
    """A job was cancelled (between frames); nothing was left under the output's final name."""

    exit_code = 130
