"""Media I/O: video files (PyAV) and image sequences, read and written exactly.

One door in, one door out::

    from faceright.engine.media import open_source, open_sink, FrameRange

    with open_source("plate.mov", frames=FrameRange(10, 20)) as source:   # frames 10..19
        with open_sink("out.mov", like=source.info, frames=source.range,
                       metadata={"AIGC": label_json}) as sink:
            for index, frame in source:          # frame: H×W×3 uint8 BGR
                sink.write(frame)

The route is chosen by the path: a printf or ``####`` pattern (``plate.%04d.exr``) or an
image suffix is an image sequence (a still is a one-frame sequence numbered 0); anything
else is a video file. Frame ranges are half-open (:class:`FrameRange`); video frames are
numbered from 0, sequence frames by their file names. Writers are atomic (a temporary file
renamed on success) and refuse to write over their source.
"""
from __future__ import annotations

import logging
import os
from fractions import Fraction
from typing import Any
from collections.abc import Iterable, Mapping

from faceright.engine.media import timecode
from faceright.engine.media import fidelity
from faceright.engine.media import video_fidelity
from faceright.engine.media.video_fidelity import VideoPlate
from faceright.atomic import AtomicOutput, check_output_path, same_file
from faceright.engine.media.errors import (
    FrameRangeError,
    MediaNotFoundError,
    MediaUnreadableError,
    MissingFramesError,
    NoVideoStreamError,
    OutputExistsError,
    OutputIsSourceError,
    UnsupportedMediaError,
    VariableFrameRateError,
)
from faceright.engine.media.info import ColorInfo, FrameRange, MediaInfo
from faceright.engine.media.sequence import (
    SequencePattern,
    SequenceReader,
    SequenceWriter,
    is_sequence_path,
    probe_sequence,
    read_image,
)
from faceright.engine.media.video import (
    AudioNotCopyableError,
    AudioSpan,
    VideoReader,
    VideoWriter,
    probe_video,
    remux,
)

__all__ = [
    "AtomicOutput", "AudioNotCopyableError", "AudioSpan", "ColorInfo", "FrameRange", "FrameRangeError", "MediaInfo",
    "MediaNotFoundError", "MediaUnreadableError", "MissingFramesError", "NoVideoStreamError", "OutputExistsError",
    "OutputIsSourceError",
    "SequencePattern", "SequenceReader", "SequenceWriter", "UnsupportedMediaError", "VariableFrameRateError",
    "VideoReader", "VideoWriter", "check_output_path", "is_sequence_path", "open_sink", "open_source", "probe",
    "keeps_plate", "probe_sequence", "probe_video", "read_image", "remux", "same_file", "timecode",
]

Source = VideoReader | SequenceReader
Sink = VideoWriter | SequenceWriter
RangeLike = FrameRange | tuple[int, int] | range


def probe(path: str | os.PathLike, *, rate: Fraction | int | str | None = None,
          frames: RangeLike | None = None) -> MediaInfo:
    """What ``path`` holds. ``rate`` (default 24) and ``frames`` matter for image sequences
    only: images carry no rate, and holes are checked inside ``frames``."""
    if is_sequence_path(path):
        return probe_sequence(path, rate=rate or 24, frames=frames)
    return probe_video(path)


def open_source(path: str | os.PathLike, frames: RangeLike | None = None, *,
                rate: Fraction | int | str | None = None, dtype: str = "uint8",
                timecode: str | None = None, **options: Any) -> Source:
    """A reader of ``frames`` (half-open; all for ``None``) that yields ``(index, frame)``.

    Video: ``VideoReader`` (frames from 0, BGR ``uint8``). Sequences: ``SequenceReader``
    (file numbers; ``rate`` defaults to 24, ``dtype="native"`` keeps 16-bit/float pixels,
    ``timecode`` is the caller's, images carry none). ``options`` go to
    :class:`VideoReader` (``threads``, ``accurate_color``). Usable as a context manager.
    """
    if is_sequence_path(path):
        return SequenceReader(path, frames, rate=rate or 24, dtype=dtype, timecode=timecode)  # type: ignore[arg-type]
    return VideoReader(path, frames, **options)


log = logging.getLogger(__name__)

#: VideoWriter's encoder options, which an image sequence has no use for
_VIDEO_ENCODER_OPTIONS = ("codec", "codec_options", "container_options", "crf", "pix_fmt", "preset")


def open_sink(path: str | os.PathLike, like: MediaInfo | None = None, *, frames: RangeLike | None = None,
              width: int | None = None, height: int | None = None, rate: Fraction | int | str | None = None,
              audio: bool = True, metadata: Mapping[str, str] | None = None, timecode: str | None = None,
              first_frame: int | None = None, overwrite: bool = False,
              sources: Iterable[str | os.PathLike] = (), **options: Any) -> Sink:
    """A writer for ``path`` shaped ``like`` a source's :class:`MediaInfo`.

    ``frames``: the source frames this output holds (default all of ``like``). From them:
    the start timecode (``like.timecode`` + the offset of ``frames.first``), the audio
    copied from ``like``'s file (the same time span; ``audio=False`` leaves it out), and
    for sequence outputs the first file number (the source's numbers when the source is a
    sequence, else 1001; ``first_frame`` overrides). ``width``/``height``/``rate``/``timecode``
    override ``like``. ``like``'s file is always a source the output may not replace.
    ``options`` go to :class:`VideoWriter` (codec, pix_fmt, crf, preset, codec_options,
    container_options) or :class:`SequenceWriter` (bit_depth, compression).
    """
    all_sources = [*sources, *([like.path] if like is not None else [])]
    span = like.check_range(frames) if like is not None else (FrameRange.coerce(frames) if frames else None)
    if is_sequence_path(path):
        video_only = sorted(k for k in _VIDEO_ENCODER_OPTIONS if options.pop(k, None) is not None)
        if video_only:   # a shot's libx264 settings, written to an image sequence (a farm chunk, a .####.png output)
            log.info("%s is an image sequence: %s apply to video outputs only", path, ", ".join(video_only))
        if first_frame is None:
            first_frame = span.first if like is not None and like.kind == "sequence" and span else 1001
        target = SequencePattern.parse(path)
        same_format = like is not None and like.kind == "sequence" and target is not None \
            and target.extension == like.path.suffix.lower()
        if same_format and "bit_depth" not in options:
            options["bit_depth"] = like.bit_depth
        if span is not None and keeps_plate(like, path, **options):
            # a float or 16-bit plate: its own pixels outside the swap, in its own type and header
            options.setdefault("plate", like.path)
            options.setdefault("plate_offset", span.first - first_frame)
        return SequenceWriter(path, first_frame=first_frame, metadata=metadata, overwrite=overwrite,
                              sources=all_sources, **options)
    width = width or (like.width if like else None)
    height = height or (like.height if like else None)
    rate = rate or (like.rate if like else None)
    if not (width and height and rate):
        raise ValueError("open_sink needs like=MediaInfo or width, height and rate")
    video_like = like is not None and like.kind == "video"
    if timecode is None and like is not None and like.timecode and span is not None:
        timecode = _offset_timecode(like, span.first - like.first_frame)
    audio_span = None
    if audio and video_like and like.has_audio and span is not None:
        start = like.start_time + Fraction(span.first - like.first_frame) / like.rate
        end = like.start_time + Fraction(span.end - like.first_frame) / like.rate
        audio_span = AudioSpan(like.path, start, end)
    if video_like:
        options.setdefault("color", like.color)
        if span is not None and "plate" not in options and keeps_plate(like, path, width=width, height=height,
                                                                       **options):
            # a 10-bit plate into a 10-bit encoder: its own samples outside the swap, not an 8-bit copy
            options["plate"] = VideoPlate(like, span, accurate_color=options.get("accurate_color", True))
        if like.time_base and (1 / (like.rate * like.time_base)).denominator == 1:
            # keep the source's clock only where it counts whole ticks per frame (MKV's 1/1000
            # cannot hold 30000/1001); otherwise the muxer picks one that does
            options.setdefault("time_base", like.time_base)
    return VideoWriter(path, width=width, height=height, rate=rate, timecode=timecode, metadata=metadata,
                       audio=audio_span, sources=all_sources, overwrite=overwrite, **options)


def keeps_plate(like: MediaInfo | None, path: str | os.PathLike, *, width: int | None = None,
                height: int | None = None, **options: Any) -> bool:
    """Whether :func:`open_sink` makes ``path`` (with these writer options) from ``like``'s own
    deep pixels outside the swap: a float/16-bit/10-bit sequence written as the same format at its
    depth and compression (:mod:`.fidelity`), or a video deeper than 8 bits written with an encoder
    deeper than 8 bits at its size (:mod:`.video_fidelity`)."""
    if like is None:
        return False
    if is_sequence_path(path):
        target = SequencePattern.parse(path)
        return like.kind == "sequence" and target is not None and target.extension == like.path.suffix.lower() \
            and fidelity.applies(like.path, like.bit_depth) and "compression" not in options \
            and options.get("bit_depth", like.bit_depth) == like.bit_depth
    size = (width or like.width, height or like.height)
    return like.kind == "video" and size == (like.width, like.height) \
        and video_fidelity.applies(like, str(options.get("pix_fmt") or "yuv420p"))


def _offset_timecode(like: MediaInfo, frames: int) -> str:
    return timecode.offset(like.timecode, frames, like.rate) if like.timecode else None  # type: ignore[return-value]
