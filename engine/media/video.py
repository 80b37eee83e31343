"""Video files with PyAV: probe, read exact frame ranges, write, remux.

* :func:`probe_video` — a :class:`MediaInfo` for a MOV/MP4/MKV/... file.
* :class:`VideoReader` — yields ``(index, frame)`` (BGR ``uint8``) for a half-open frame
  range; seeks to the keyframe before the range and decodes forward, checking each frame's
  timestamp, so B-frame codecs land on the exact frame; nothing is buffered.
* :class:`VideoWriter` — encodes BGR frames (libx264 yuv420p by default) into MOV/MP4/MKV
  through a temporary file, copies every audio track of a source time span (packets, tags,
  AAC priming; PCM cut to the sample), writes the start timecode and container metadata
  (``movflags=use_metadata_tags`` for MOV/MP4, or FFmpeg silently drops custom keys),
  verifies frame count, metadata and audio tracks by reading the file back, and only then
  renames it to the final name.
* :func:`remux` — copy every stream of a file without re-encoding, with new container
  metadata.

Audio is never converted: a track the output container would not keep exactly (PCM in MP4,
which most readers decode as 16-bit noise) is refused with :class:`AudioNotCopyableError`
before anything is written, naming the track and the containers that keep it.

Frame indices come from timestamps: ``index = round((pts - start_time) * time_base * rate)``.
A stream whose timestamps skip or repeat frames (variable frame rate) is refused with
:class:`VariableFrameRateError` rather than numbered ambiguously.
"""
from __future__ import annotations

import io
import logging
import math
import os
import re
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Callable
from collections.abc import Iterable, Iterator, Mapping

import av
import av.error
import numpy as np
from av.video.reformatter import Interpolation

from faceright.engine.media import timecode as tc
from faceright.atomic import AtomicOutput
from faceright.engine.media.errors import (
    MediaNotFoundError,
    MediaUnreadableError,
    NoVideoStreamError,
    UnsupportedMediaError,
    VariableFrameRateError,
)
from faceright.engine.media.info import ColorInfo, FrameRange, MediaInfo
from faceright.engine.media.video_fidelity import PlateRestorer, VideoPlate, wrap_bgr
from faceright.engine.types import Frame
from faceright.errors import MediaError, OutputError
from faceright.labels.aigc import AigcLabel, LabelSigner
from faceright.labels.content import content_digest
from faceright.labels.metadata import AIGC_KEY, patch_label

log = logging.getLogger(__name__)

#: output suffix → FFmpeg muxer
CONTAINERS = {".mov": "mov", ".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska"}
#: container keys the muxer writes itself; never copied from a source
_MUXER_KEYS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder"})
#: stream keys the muxer writes itself
_STREAM_MUXER_KEYS = frozenset({"duration", "encoder", "vendor_id", "_statistics_tags", "_statistics_writing_app",
                                "_statistics_writing_date_utc", "bps", "number_of_frames", "number_of_bytes"})
_STANDARD_RATES = tuple(Fraction(r) for r in ("24000/1001", "24", "25", "30000/1001", "30", "48", "50",
                                             "60000/1001", "60", "120"))
_SWS_SPACES = {"bt709": "itu709", "bt470bg": "itu601", "smpte170m": "itu601", "smpte240m": "smpte240m",
               "fcc": "fcc", "bt2020nc": "bt2020", "bt2020c": "bt2020"}
_SWS_RANGES = {"tv": "MPEG", "pc": "JPEG"}
#: swscale's default YUV↔RGB path is fast but off by up to 5 levels (grey 128 → B,G,R 123,126,124
#: on x86); ACCURATE_RND round-trips flat colours exactly. Costs about 10 ms instead of 2 ms to
#: read and 18 ms instead of 8 ms to write one 1080p frame on this CPU.
#: av < 18 (the newest on Python 3.10) has no ACCURATE_RND member but passes an int through as the
#: swscale flags; 0x40000 is SWS_ACCURATE_RND.
_ACCURATE = Interpolation.BILINEAR | getattr(Interpolation, "ACCURATE_RND", 0x40000)


def _interpolation(accurate: bool) -> Interpolation | None:
    return _ACCURATE if accurate else None


# --------------------------------------------------------------------------- opening and probing

def _open_input(path: Path, hwaccel: Any = None) -> Any:
    """``av.open(path)`` with every failure turned into a MediaError that names the file.
    ``hwaccel``: PyAV's ``HWAccel`` for the decoder (opening it may fail on its own: see VideoReader)."""
    if not path.exists():
        raise MediaNotFoundError(f"{path} does not exist; check the path (and the mount it lives on)")
    if path.is_dir():
        raise MediaUnreadableError(f"{path} is a folder, not a video file; for an image sequence give a "
                                   "pattern such as plate.%04d.exr")
    try:
        if hwaccel is not None:
            return av.open(str(path), "r", metadata_errors="replace", hwaccel=hwaccel)
        return av.open(str(path), "r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise MediaUnreadableError(
            f"{path} is not a video faceright can read: {_ffmpeg_reason(exc)}. Is it a complete media file "
            "(not truncated by a copy, not a different kind of file with a video suffix)?") from exc


def _ffmpeg_reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc)


def _video_stream(container: Any, path: Path) -> Any:
    streams = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        found = ", ".join(f"{s.type} ({s.codec_context.name if s.codec_context else 'unknown codec'})"
                          for s in container.streams) or "no streams at all"
        raise NoVideoStreamError(f"{path} holds no video stream (found: {found}); give a file with picture")
    stream = streams[0]
    if stream.codec_context is None or not stream.codec_context.width or not stream.codec_context.height:
        raise UnsupportedMediaError(f"{path}: this FFmpeg build cannot decode its video codec "
                                    f"({stream.codec_context.name if stream.codec_context else 'unknown'})")
    return stream


def _stream_rate(stream: Any, path: Path) -> Fraction:
    """The stream's constant frame rate, exactly (FFmpeg's avg and r_frame_rate reconciled)."""
    candidates = [Fraction(r) for r in (stream.average_rate, stream.base_rate, stream.guessed_rate) if r]
    candidates = [r for r in candidates if 0 < r < 1000]
    if not candidates:
        raise MediaUnreadableError(f"{path}: its video stream declares no frame rate")
    for rate in candidates:
        if rate in _STANDARD_RATES:
            return rate
    for rate in candidates:   # 24000/1001 written as 2997/125 and the like
        for standard in _STANDARD_RATES:
            if abs(rate - standard) / standard < Fraction(1, 10000):
                return standard
    return candidates[0]


def _timecode_of(container: Any, stream: Any) -> str | None:
    def lookup(metadata: Mapping[str, str]) -> str | None:
        for key, value in metadata.items():
            if key.lower() == "timecode" and value:
                return value
        return None

    found = lookup(stream.metadata)
    if found is None:
        found = lookup(container.metadata)
    if found is None:  # a tmcd track whose timecode was not copied onto the video stream
        for other in container.streams:
            if other.type == "data":
                found = lookup(other.metadata)
                if found:
                    break
    return found


def _count_packets(container: Any, stream: Any, path: Path) -> int:
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size and not packet.is_discard:
                count += 1
    except av.error.FFmpegError as exc:
        raise MediaUnreadableError(f"{path} is damaged: reading its packets failed after {count} frames "
                                   f"({_ffmpeg_reason(exc)})") from exc
    return count


def _frame_count(container: Any, stream: Any, rate: Fraction, path: Path) -> int:
    declared = stream.frames
    if declared and stream.duration:
        by_duration = stream.duration * stream.time_base * rate
        if abs(by_duration - declared) <= 1:
            return int(declared)
        log.debug("%s: %d frames declared, %.2f by duration (an edit list?): counting packets",
                  path, declared, float(by_duration))
    count = _count_packets(container, stream, path)
    if count == 0:
        raise MediaUnreadableError(f"{path}: its video stream holds no frames (truncated?)")
    tagged = _tagged_duration(stream)
    if tagged is not None:
        # Matroska's DURATION is where the stream ends on the clock, so a late start counts too
        tagged -= (stream.start_time or 0) * Fraction(stream.time_base)
        if count < round(tagged * rate) - 1:
            raise MediaUnreadableError(
                f"{path} is truncated: its video stream says it lasts {float(tagged):.3f} s "
                f"({round(tagged * rate)} frames) but holds {count} frames; copy or render it again")
    return count


def _tagged_duration(stream: Any) -> Fraction | None:
    """The ``DURATION`` tag Matroska writers put on each stream (``HH:MM:SS.nnnnnnnnn``)."""
    for key, value in stream.metadata.items():
        if key.lower() == "duration":
            try:
                hours, minutes, seconds = value.split(":")
                return Fraction(int(hours) * 3600 + int(minutes) * 60) + Fraction(seconds)
            except ValueError:
                return None
    return None


def _bit_depth(pix_fmt: str | None) -> int:
    if not pix_fmt:
        return 8
    try:
        return max(component.bits for component in av.VideoFormat(pix_fmt).components)
    except (ValueError, av.error.FFmpegError):
        return 8


def probe_video(path: str | os.PathLike) -> MediaInfo:
    """Everything :class:`MediaInfo` says about a video file.

    The frame count is exact: the container's count when its duration agrees with it,
    otherwise the video packets are counted (MKV, edit lists), which reads the file once.
    """
    path = Path(path)
    with _open_input(path) as container:
        stream = _video_stream(container, path)
        cc = stream.codec_context
        rate = _stream_rate(stream, path)
        audio = list(container.streams.audio)
        return MediaInfo(
            path=path,
            kind="video",
            width=cc.width,
            height=cc.height,
            rate=rate,
            frame_count=_frame_count(container, stream, rate, path),
            first_frame=0,
            time_base=Fraction(stream.time_base) if stream.time_base else None,
            pix_fmt=cc.pix_fmt or "",
            codec=cc.name,
            container=container.format.name,
            timecode=_timecode_of(container, stream),
            has_audio=bool(audio),
            audio_codec=audio[0].codec_context.name if audio and audio[0].codec_context else None,
            metadata=dict(container.metadata),
            color=ColorInfo.from_codes(cc.color_range, cc.color_primaries, cc.color_trc, cc.colorspace),
            bit_depth=_bit_depth(cc.pix_fmt),
            start_time=(stream.start_time or 0) * Fraction(stream.time_base),
        )


# --------------------------------------------------------------------------- reading

class VideoReader:
    """Iterate ``(index, frame)`` over a half-open frame range of a video file.

    ``frames`` is a :class:`FrameRange`, a ``(first, end)`` pair (end excluded) or ``None``
    for every frame; indices are 0-based in presentation order. Each iteration opens the
    file afresh, seeks to the keyframe before ``first`` and decodes forward: memory stays
    flat and iterating twice gives the same frames. ``accurate_color=False`` trades colour
    accuracy (up to 5 levels) for a faster YUV→BGR conversion. ``hwaccel="cuda"`` decodes on
    NVDEC (device ``hwaccel_device``; :mod:`.hwcodecs`): when the device does not open, the reader
    decodes in software and says why once, or, with ``hwaccel_required``, refuses.
    """

    #: every frame yielded is a new array (PyAV converts each decoded frame into its own), the
    #: caller's to change: the pipeline pastes faces into it without a copy
    fresh_frames = True

    def __init__(self, path: str | os.PathLike, frames: FrameRange | tuple[int, int] | range | None = None,
                 *, info: MediaInfo | None = None, threads: int = 0, accurate_color: bool = True,
                 hwaccel: str | None = None, hwaccel_device: int = 0, hwaccel_required: bool = False):
        self.path = Path(path)
        self.info = info if info is not None else probe_video(self.path)
        self.range = self.info.check_range(frames)
        self.threads = threads
        self.accurate_color = accurate_color
        self.hwaccel = hwaccel
        self.hwaccel_device = hwaccel_device
        self.hwaccel_required = hwaccel_required
        self.hwaccel_failed: str | None = None   #: why the hardware decoder did not open, once tried

    def _open(self) -> Any:
        if self.hwaccel is None or self.hwaccel_failed is not None:
            return _open_input(self.path)
        from .hwcodecs import failure_reason, hwaccel_for

        try:
            return _open_input(self.path, hwaccel_for(self.hwaccel, self.hwaccel_device))
        except (MediaError, OSError, ValueError, TypeError, ImportError) as exc:   # TypeError/ImportError: av < 14
            self.hwaccel_failed = failure_reason(exc.__cause__ or exc)
        if self.hwaccel_required:
            raise MediaUnreadableError(f"{self.path}: the {self.hwaccel} hardware decoder does not open here "
                                       f"({self.hwaccel_failed}); set [engine] gpu_codecs = \"auto\" to decode in "
                                       "software on such machines")
        log.info("%s: decoding in software, the %s hardware decoder does not open: %s", self.path, self.hwaccel,
                 self.hwaccel_failed)
        return _open_input(self.path)

    def __len__(self) -> int:
        return len(self.range)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to release: each iteration opens and closes its own files."""

    def __iter__(self) -> Iterator[tuple[int, Frame]]:
        interpolation = _interpolation(self.accurate_color)
        with closing(self.decoded()) as frames:
            for index, frame in frames:
                yield index, frame.to_ndarray(format="bgr24", interpolation=interpolation)

    def to_bgr(self, frame: Any) -> Frame:
        """The BGR ``uint8`` frame this reader yields for a decoded ``frame`` of :meth:`decoded`."""
        return frame.to_ndarray(format="bgr24", interpolation=_interpolation(self.accurate_color))

    def decoded(self) -> Iterator[tuple[int, Any]]:
        """``(index, av.VideoFrame)`` over the range, as decoded (the plate's own pixel format)."""
        with self._open() as container:
            stream = _video_stream(container, self.path)
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = self.threads
            expected = self.range.first
            try:
                for index, frame in self._indexed_frames(container, stream):
                    if expected == self.range.first and index != expected:
                        if index < expected:
                            continue   # decoded from the keyframe before the range
                        raise MediaUnreadableError(
                            f"{self.path}: frame {expected} cannot be reached, the first frame that decodes "
                            f"there is {index} (the file starts without a keyframe, or cannot seek); remux or "
                            "re-encode it")
                    if index != expected:
                        raise VariableFrameRateError(
                            f"{self.path}: frame {expected} was expected but the next frame's timestamp says "
                            f"{index}. The stream is variable-frame-rate or damaged; convert it to a constant "
                            f"{self.info.rate} fps first (ffmpeg -i IN -fps_mode cfr -r {self.info.rate} OUT)")
                    yield index, frame
                    expected += 1
                    if expected == self.range.end:
                        return
            except av.error.FFmpegError as exc:
                raise MediaUnreadableError(f"{self.path} is damaged: decoding failed near frame {expected} "
                                           f"({_ffmpeg_reason(exc)})") from exc
            raise MediaUnreadableError(
                f"{self.path} ended after frame {expected - 1} but claims {self.info.frame_count} frames "
                f"(wanted frames {self.range.to_cli()}); the file is truncated or damaged")

    def _index_of(self, pts: int | None, origin: int, time_base: Fraction) -> int:
        if pts is None:
            raise MediaUnreadableError(f"{self.path}: its frames carry no timestamps, so frames cannot be "
                                       "numbered exactly; remux it into .mov or .mkv first")
        return round((pts - origin) * time_base * self.info.rate)

    def _indexed_frames(self, container: Any, stream: Any) -> Iterator[tuple[int, Any]]:
        """Decoded frames with their indices, starting at or before ``self.range.first``."""
        time_base = Fraction(stream.time_base)
        origin = stream.start_time or 0
        target = self.range.first
        if target == 0:
            for frame in container.decode(stream):
                yield self._index_of(frame.pts, origin, time_base), frame
            return
        # seek to a keyframe at or before the target; if the demuxer lands after it (it
        # seeks by DTS or by byte position in some formats), seek again further back, past
        # the first timestamp if need be (MPEG-TS lands late even when asked for its start)
        second = max(1, round(Fraction(1) / time_base))   # one second in stream units
        step = second
        seek_pts = origin + round(target / self.info.rate / time_base)
        while True:
            container.seek(seek_pts, stream=stream, backward=True, any_frame=False)
            frames = container.decode(stream)
            first = next(frames, None)
            if first is None and seek_pts < origin - second:
                return
            if first is not None:
                index = self._index_of(first.pts, origin, time_base)
                if index <= target or seek_pts < origin - second:
                    break
                log.debug("%s: seek for frame %d landed on %d; seeking further back", self.path, target, index)
            seek_pts -= step
            step *= 2
        yield index, first
        for frame in frames:
            yield self._index_of(frame.pts, origin, time_base), frame


# --------------------------------------------------------------------------- writing

@dataclass(frozen=True)
class AudioSpan:
    """Audio to copy (not re-encode) into an output: every audio stream of ``path``, cut to
    ``[start, end)`` seconds of the source's timeline and shifted so that ``start`` becomes 0.
    ``start=None`` is where the source's video starts (``MediaInfo.start_time``), so
    ``AudioSpan(path)`` keeps a whole clip in sync; ``end=None`` means to the end of the
    video written. Each track keeps its tags (language, title, handler name) and its exact
    samples: PCM is cut to the sample; a compressed track keeps whole packets, the packet
    before the span included (AAC's priming packet, or the one a decoder needs before a cut),
    which MOV/MP4 mark with an edit list so that decoding starts exactly at ``start``."""

    path: Path
    start: Fraction | None = None
    end: Fraction | None = None


class AudioNotCopyableError(UnsupportedMediaError):
    """An audio track cannot be copied into the output's container without changing it.

    ``track`` is the 0-based index among the source's audio streams, ``codec`` its codec,
    ``container`` the refused output suffix and ``instead`` the suffixes that keep it exactly.
    """

    def __init__(self, message: str, *, track: int, codec: str, container: str, instead: tuple[str, ...]):
        super().__init__(message)
        self.track, self.codec, self.container, self.instead = track, codec, container, instead


#: containers a refused audio track is offered instead: suffix → muxer
_AUDIO_HOMES = {".mov": "mov", ".mkv": "matroska"}
#: codec → packets a decoder needs before the first one it must get right (MP3's bit reservoir
#: reaches back up to 511 bytes; Opus wants 80 ms); any other lossy codec needs one (the
#: overlap of its transform), a lossless one none
_PREROLL_PACKETS = {"mp3": 3, "opus": 4}
#: plain interleaved PCM (``pcm_s24le``, ``pcm_f32be``, ``pcm_u8``...), which is cut to the sample
_PLAIN_PCM = re.compile(r"pcm_[suf](?P<bits>8|16|24|32|64)(le|be)?")


def _codec_name(stream: Any) -> str:
    return stream.codec_context.name if stream.codec_context is not None else "unknown"


def _describe_track(stream: Any, number: int, total: int) -> str:
    tags = {k.lower(): v for k, v in stream.metadata.items()}
    title = tags.get("title") or tags.get("name")   # MOV/MP4 demuxers call the title "name"
    details = [f"stream #{stream.index}", _codec_name(stream)]
    details += [f"{key} {value!r}" for key, value in (("language", tags.get("language")), ("title", title)) if value]
    return f"audio track {number + 1} of {total} ({', '.join(details)})"


def _stream_tags(stream: Any, source_format: str) -> dict[str, str]:
    """The tags of a source stream to write on its copy: the muxer's own keys left out, and
    the track title that MOV/MP4 demuxers call ``name`` given back as ``title``, the key
    every muxer writes it from (udta ``name``, Matroska's track Name)."""
    tags = {k: v for k, v in stream.metadata.items() if k.lower() not in _STREAM_MUXER_KEYS}
    if "mov" in source_format.split(",") and "name" in tags and not any(k.lower() == "title" for k in tags):
        tags["title"] = tags.pop("name")
    return tags


def _why_audio_does_not_fit(stream: Any, fmt: str) -> str | None:
    """Why ``fmt`` cannot hold ``stream`` exactly, or ``None`` when it can."""
    codec = _codec_name(stream)
    if fmt == "mp4" and codec.startswith("pcm_"):
        return ("MP4 stores PCM as ISO/IEC 23003-5 'ipcm', which most readers (FFmpeg before 6.1, "
                "QuickTime, most editors) decode as 16-bit noise or not at all")
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as trial:
            trial.add_stream_from_template(stream)
            trial.start_encoding()
    except (av.error.FFmpegError, ValueError) as exc:
        return f"the {fmt} muxer cannot hold {codec} ({_ffmpeg_reason(exc)})"
    return None


def _check_audio_fits(source_path: Path, streams: list[Any], fmt: str, out: Path) -> None:
    """Refuse, before anything is written, an audio track ``fmt`` would not keep exactly."""
    for number, stream in enumerate(streams):
        why = _why_audio_does_not_fit(stream, fmt)
        if why is None:
            continue
        codec = _codec_name(stream)
        suffix = out.suffix.lower()
        instead = tuple(s for s, home in _AUDIO_HOMES.items()
                        if home != fmt and _why_audio_does_not_fit(stream, home) is None)
        fix = (f"write {' or '.join(instead)} instead, which keep{'s' if len(instead) == 1 else ''} "
               f"{codec} as it is," if instead else "no container faceright writes keeps it as it is;")
        raise AudioNotCopyableError(
            f"cannot copy {_describe_track(stream, number, len(streams))} of {source_path} into {out}: "
            f"{why}. Nothing was written; {fix} or, from Python, leave the audio out (audio=False). faceright never "
            "converts audio silently.", track=number, codec=codec, container=suffix, instead=instead)


class _AudioTrack:
    """Feeds one audio stream of an :class:`AudioSpan`'s file into an output, interleaved by
    time. Its own input container, so each track seeks and reads on its own."""

    def __init__(self, span: AudioSpan, number: int, output: Any, start: Fraction, end: Fraction | None):
        self.input = _open_input(span.path)
        try:
            self.source = self.input.streams.audio[number]
            self.rate = self.source.codec_context.sample_rate if self.source.codec_context else 0
            if not self.rate:
                raise UnsupportedMediaError(f"{span.path}: audio stream #{self.source.index} declares no sample "
                                            "rate, so it cannot be cut in time; re-mux the plate's audio with ffmpeg, or (from Python) "
                                            "pass audio=False")
            try:
                self.stream = output.add_stream_from_template(self.source)
            except (av.error.FFmpegError, ValueError) as exc:
                raise UnsupportedMediaError(f"cannot copy the {_codec_name(self.source)} audio of {span.path}: "
                                            f"{_ffmpeg_reason(exc)}") from exc
        except BaseException:
            self.input.close()
            raise
        self.stream.time_base = Fraction(1, self.rate)   # timestamps in samples from here on
        for key, value in _stream_tags(self.source, self.input.format.name).items():
            self.stream.metadata[key] = value
        self.stream.disposition = self.source.disposition
        codec = self.source.codec_context.codec
        self.name = _codec_name(self.source)
        self.language = {k.lower(): v for k, v in self.source.metadata.items()}.get("language")
        plain = _PLAIN_PCM.fullmatch(self.name)
        #: bytes of one sample of every channel, for plain PCM; None for other codecs
        self.frame_bytes = int(plain["bits"]) // 8 * self.source.codec_context.channels if plain else None
        self.preroll = 0 if codec.lossless and not codec.lossy else _PREROLL_PACKETS.get(self.name, 1)
        self.time_base = Fraction(self.source.time_base)
        self.start = round(start * self.rate)            # span, in samples of the source's clock
        self.end = None if end is None else round(end * self.rate)
        self.packets = self._packets()
        self.pending: tuple[Any, int, int] | None = None
        self.done = False
        self.copied = 0

    def _samples(self, ticks: int) -> int:
        return round(ticks * self.time_base * self.rate)

    def _packets(self) -> Iterator[tuple[Any, int, int]]:
        """``(packet, first sample, samples)`` on the source's clock, from the ``preroll``
        packets before the span on (PCM packets are cut later, when muxed)."""
        if self.start > 0:
            back = round((Fraction(self.start, self.rate) - 1) / self.time_base)   # a second before
            self.input.seek(max(0, back), stream=self.source, backward=True)
        before: deque[tuple[Any, int, int]] = deque(maxlen=self.preroll)
        tick = max(1, math.ceil(self.time_base * self.rate))   # samples one timestamp tick may round away
        expected: int | None = None
        for packet in self.input.demux(self.source):
            if packet.dts is None or not packet.size:
                continue
            begin = self._samples(packet.pts if packet.pts is not None else packet.dts)
            if self.frame_bytes:
                if expected is not None and abs(begin - expected) <= tick:
                    begin = expected   # Matroska's millisecond stamps: keep counting samples
                count = packet.size // self.frame_bytes
                expected = begin + count
            else:
                count = self._samples(packet.duration or 0)
            if begin + count <= self.start:
                before.append((packet, begin, count))
                continue
            while before:
                yield before.popleft()
            yield packet, begin, count

    def _shifted(self, packet: Any, begin: int, count: int) -> Any:
        """The packet restamped in samples from the span's start (``begin`` is its pts)."""
        delay = self._samples(packet.dts - packet.pts) if packet.pts is not None else 0
        packet.time_base = Fraction(1, self.rate)
        packet.pts, packet.dts, packet.duration = begin - self.start, begin + delay - self.start, count
        return packet

    def _cut(self, packet: Any, begin: int, count: int) -> Any:
        """A PCM packet trimmed to the span (its bytes otherwise untouched)."""
        first = max(begin, self.start)
        last = begin + count if self.end is None else min(begin + count, self.end)
        if (first, last) == (begin, begin + count):
            return self._shifted(packet, begin, count)
        piece = av.Packet(bytes(packet)[(first - begin) * self.frame_bytes:(last - begin) * self.frame_bytes])
        piece.time_base = Fraction(1, self.rate)
        piece.pts = piece.dts = first - self.start
        piece.duration = last - first
        piece.is_keyframe = packet.is_keyframe
        return piece

    def mux_until(self, output: Any, seconds: Fraction | None) -> None:
        """Mux the packets that start before ``seconds`` of output time (all for ``None``)."""
        while not self.done:
            if self.pending is None:
                self.pending = next(self.packets, None)
            if self.pending is None or (self.end is not None and self.pending[1] >= self.end):
                self.done, self.pending = True, None   # the source or the span ends here
                return
            packet, begin, count = self.pending
            if seconds is not None and Fraction(begin - self.start, self.rate) >= seconds:
                return
            packet = self._cut(packet, begin, count) if self.frame_bytes else self._shifted(packet, begin, count)
            packet.stream = self.stream
            output.mux(packet)
            self.copied += 1
            self.pending = None

    def finish(self, output: Any, seconds: Fraction) -> None:
        """Mux the rest, up to ``seconds`` of output time (the end of the video written)."""
        until = self.start + round(seconds * self.rate)
        self.end = until if self.end is None else min(self.end, until)
        self.mux_until(output, None)

    def close(self) -> None:
        self.input.close()


class _AudioCopier:
    """Every audio stream of an :class:`AudioSpan`, fed into an output, interleaved by time."""

    def __init__(self, span: AudioSpan, output: Any):
        self.span = span
        with _open_input(span.path) as source:
            count = len(source.streams.audio)
            videos = [v for v in source.streams.video if v.start_time is not None]
            video_start = videos[0].start_time * Fraction(videos[0].time_base) if videos else Fraction(0)
        if not count:
            raise MediaError(f"{span.path} has no audio stream to copy (from Python: pass audio=False)")
        self.start = Fraction(span.start) if span.start is not None else video_start
        end = Fraction(span.end) if span.end is not None else None
        self.tracks: list[_AudioTrack] = []
        try:
            for number in range(count):
                self.tracks.append(_AudioTrack(span, number, output, self.start, end))
        except BaseException:
            self.close()
            raise

    @property
    def copied(self) -> int:
        return sum(track.copied for track in self.tracks)

    def mux_until(self, output: Any, seconds: Fraction | None) -> None:
        for track in self.tracks:
            track.mux_until(output, seconds)

    def finish(self, output: Any, seconds: Fraction) -> None:
        for track in self.tracks:
            track.finish(output, seconds)

    def verify(self, path: Path, written: Path) -> None:
        """Refuse a file whose audio tracks did not all survive the muxer: count, codec, language."""
        if self.copied == 0:
            raise MediaError(f"{written}: the audio of {self.span.path} was asked for but no audio packets fall in "
                             f"{float(self.start):.3f}s..{float(self.span.end or 0):.3f}s")
        with _open_input(path) as check:
            found = list(check.streams.audio)
            if len(found) != len(self.tracks):
                raise MediaError(f"{written}: {len(self.tracks)} audio tracks of {self.span.path} were copied but "
                                 f"{len(found)} read back")
            for number, (track, back) in enumerate(zip(self.tracks, found)):
                language = {k.lower(): v for k, v in back.metadata.items()}.get("language")
                if _codec_name(back) != track.name or (track.language not in (None, "und")
                                                       and language != track.language):
                    raise MediaError(f"{written}: audio track {number + 1} was copied as {track.name} "
                                     f"(language {track.language!r}) but reads back as {_codec_name(back)} "
                                     f"(language {language!r})")
        for track in self.tracks:
            if track.copied == 0:
                log.info("%s: audio track #%d of %s has no packets in the span; written empty", written,
                         track.source.index, self.span.path)

    def close(self) -> None:
        for track in self.tracks:
            track.close()


def _container_options(fmt: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    options = dict(extra or {})
    if fmt == "matroska":   # the signed label overwrites its placeholder in place: no CRC-32 may cover it
        options.setdefault("write_crc32", "0")
    if fmt in ("mov", "mp4"):
        # without use_metadata_tags FFmpeg drops custom keys (AIGC) silently
        flags = [f for f in options.get("movflags", "").replace("+", " ").split() if f]
        for flag in ("use_metadata_tags", "faststart"):
            if flag not in flags:
                flags.append(flag)
        options["movflags"] = "+".join(flags)
    return options


def _muxer_for(path: Path) -> str:
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedMediaError(f"cannot write video to {path}: use one of {sorted(CONTAINERS)}")
    return fmt


class _LabelSlot:
    """Where a video's AIGC label goes before its content is known: the container is written with
    the signer's placeholder, which :meth:`sign` overwrites in place with the label bound to the
    finished file's coded packets (``vp1``, :mod:`faceright.labels.content`)."""

    def __init__(self, signer: LabelSigner, metadata: Mapping[str, str]):
        if any(key.lower() == AIGC_KEY.lower() for key in metadata):
            raise ValueError("an AIGC label is given once: as label=, not also in metadata")
        self.signer = signer
        self.placeholder = signer.placeholder("vp1").to_json()
        self.label: AigcLabel | None = None

    def sign(self, path: Path) -> str:
        self.label = self.signer.sign(content_digest(path, "vp1"))
        value = self.label.to_json()
        patch_label(path, self.placeholder, value)
        return value


class VideoWriter:
    """Encode BGR frames into a MOV/MP4/MKV file, atomically.

    Frames go to a temporary file beside ``path``; :meth:`close` finishes it, reads it back
    to check the frame count and the metadata, and renames it to ``path``. Leaving a
    ``with`` block by an exception (or calling :meth:`abort`) removes the temporary file and
    leaves any previous file at ``path`` as it was.

    ``rate`` is exact; ``time_base`` (MOV/MP4 keep it, MKV always uses 1/1000);
    ``codec``/``pix_fmt``/``crf``/``preset``/``codec_options`` pick the encoder (``crf`` and
    ``preset`` apply to libx264/libx265); ``color`` tags the stream and picks the RGB→YUV
    matrix; ``timecode`` is the start timecode; ``metadata`` the container metadata;
    ``audio`` an :class:`AudioSpan` to copy; ``sources`` the files the output must never
    replace; ``accurate_color=False`` uses swscale's faster, less exact BGR→YUV path.
    ``before_commit(staged)`` runs on the finished, checked temporary file before it takes the
    final name: whatever it raises aborts the write, and a previous file at ``path`` stays.
    ``label`` (a :class:`~faceright.labels.aigc.LabelSigner`) puts the AIGC label, bound to the
    written packets, in the container metadata; :attr:`label` is the signed label after close.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        width: int,
        height: int,
        rate: Fraction | int | str,
        time_base: Fraction | None = None,
        codec: str = "libx264",
        pix_fmt: str = "yuv420p",
        crf: int | None = 18,
        preset: str | None = "veryfast",
        codec_options: Mapping[str, str] | None = None,
        color: ColorInfo | None = None,
        timecode: str | None = None,
        metadata: Mapping[str, str] | None = None,
        audio: AudioSpan | None = None,
        sources: Iterable[str | os.PathLike] = (),
        overwrite: bool = False,
        container_options: Mapping[str, str] | None = None,
        accurate_color: bool = True,
        before_commit: Callable[[Path], None] | None = None,
        label: LabelSigner | None = None,
        plate: VideoPlate | None = None,
    ):
        self.path = Path(path)
        self._before_commit = before_commit
        self._restorer: PlateRestorer | None = None
        self._interpolation = _interpolation(accurate_color)
        self.format = _muxer_for(self.path)
        if audio is not None:   # refuse audio the container would change, before a byte is written
            with _open_input(Path(audio.path)) as source:
                _check_audio_fits(Path(audio.path), list(source.streams.audio), self.format, self.path)
        self.rate = Fraction(rate)
        self.width, self.height = int(width), int(height)
        self.pix_fmt = pix_fmt
        self.color = color or ColorInfo()
        self.metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        self._label = _LabelSlot(label, self.metadata) if label is not None else None
        self.timecode = timecode
        self.frames_written = 0
        self._closed = False
        self._audio: _AudioCopier | None = None
        if timecode is not None:
            tc.to_frames(timecode, self.rate)  # refuse a malformed timecode before writing
        if pix_fmt in ("yuv420p", "yuvj420p", "nv12", "yuv420p10le") and (self.width % 2 or self.height % 2):
            raise MediaError(f"{self.path}: {pix_fmt} needs an even width and height, not {self.width}×{self.height}; "
                             "crop or pad by one pixel")
        self._atomic = AtomicOutput(self.path, sources=sources, overwrite=overwrite)
        try:
            self._container = av.open(str(self._atomic.temp), "w", format=self.format,
                                      container_options=_container_options(self.format, container_options))
        except av.error.FFmpegError as exc:
            self._atomic.discard()
            raise OutputError(f"cannot create {self._atomic.temp} for {self.path}: {_ffmpeg_reason(exc)}") from exc
        try:
            self._setup(time_base, codec, crf, preset, codec_options, audio)
            if plate is not None:
                self._restorer = PlateRestorer(plate, self.pix_fmt, colorspace=self._sws_space,
                                               color_range=self._sws_range, interpolation=self._interpolation)
        except BaseException:
            self.abort()
            raise

    @property
    def _sws_space(self) -> str | None:
        return _SWS_SPACES.get(self.color.color_space or "", None)

    @property
    def _sws_range(self) -> str | None:
        return _SWS_RANGES.get(self.color.color_range or "", None)

    def _setup(self, time_base: Fraction | None, codec: str, crf: int | None, preset: str | None,
               codec_options: Mapping[str, str] | None, audio: AudioSpan | None) -> None:
        container = self._container
        for key, value in self.metadata.items():
            container.metadata[key] = value
        if self._label is not None:
            container.metadata[AIGC_KEY] = self._label.placeholder
        try:
            stream = container.add_stream(codec, rate=self.rate)
        except (av.error.FFmpegError, ValueError) as exc:
            raise UnsupportedMediaError(f"{self.path}: no encoder {codec!r} in this FFmpeg build "
                                        f"({_ffmpeg_reason(exc)})") from exc
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, self.pix_fmt
        stream.codec_context.time_base = 1 / self.rate
        if time_base:
            stream.time_base = time_base
        options: dict[str, str] = {}
        if codec in ("libx264", "libx265"):
            if crf is not None:
                options["crf"] = str(crf)
            if preset:
                options["preset"] = preset
        options.update({str(k): str(v) for k, v in (codec_options or {}).items()})
        stream.options = options
        cc = stream.codec_context
        cc.color_range = self.color.code("color_range")
        cc.color_primaries = self.color.code("color_primaries")
        cc.color_trc = self.color.code("color_trc")
        cc.colorspace = self.color.code("color_space")
        if self.timecode:
            stream.metadata["timecode"] = self.timecode
        self._stream = stream
        if audio is not None:
            self._audio = _AudioCopier(audio, container)
        try:
            container.start_encoding()
        except (av.error.FFmpegError, ValueError) as exc:
            what = f" with {', '.join(t.name for t in self._audio.tracks)} audio" if self._audio else ""
            raise UnsupportedMediaError(
                f"cannot write {codec} video{what} into {self.path.suffix} ({_ffmpeg_reason(exc)}); "
                "try a .mov or .mkv output, or another codec") from exc

    @property
    def takes_alpha(self) -> bool:
        """Whether frames are built from a deep plate's own samples, blended with :meth:`write`'s ``alpha``."""
        return self._restorer is not None

    def write(self, frame: Frame, alpha: np.ndarray | None = None) -> None:
        """Encode one BGR ``uint8`` frame of the writer's size. ``alpha`` (H×W, 0–1, optional): how
        much of each pixel the swap replaced, which a writer keeping a deep plate blends with."""
        if self._closed:
            raise MediaError(f"{self.path}: write() after close()")
        if frame.dtype != np.uint8 or frame.shape != (self.height, self.width, 3):
            raise ValueError(f"{self.path}: expected a {self.height}×{self.width}×3 uint8 BGR frame, "
                             f"got {frame.shape} {frame.dtype}")
        if self._restorer is not None:    # a deeper-than-8-bit plate: its own samples outside the swap
            image = self._restorer.frame(frame, alpha)
        else:
            image = wrap_bgr(frame).reformat(format=self.pix_fmt, dst_colorspace=self._sws_space,
                                   dst_color_range=self._sws_range, interpolation=self._interpolation)
        image.pts = self.frames_written
        image.time_base = 1 / self.rate
        self._mux_video(self._stream.encode(image))
        self.frames_written += 1

    def _mux_video(self, packets: list[Any]) -> None:
        latest: Fraction | None = None
        for packet in packets:
            self._container.mux(packet)
            if packet.pts is not None:
                end = (packet.pts + (packet.duration or 0)) * Fraction(packet.time_base)
                latest = end if latest is None else max(latest, end)
        if self._audio is not None and latest is not None:
            self._audio.mux_until(self._container, latest)

    def close(self) -> Path:
        """Finish the file, check it, move it to its final name; return that name."""
        if self._closed:
            return self.path
        try:
            if self.frames_written == 0:
                raise MediaError(f"{self.path}: no frames were written; nothing to save")
            self._mux_video(self._stream.encode(None))
            if self._restorer is not None:
                self._restorer.close()
            if self._audio is not None:
                self._audio.finish(self._container, Fraction(self.frames_written) / self.rate)
                self._audio.close()
            self._container.close()
            self._closed = True
            if self._label is not None:
                self.metadata[AIGC_KEY] = self._label.sign(self._atomic.temp)
            self._verify()
            if self._before_commit is not None:   # e.g. prove the label on the staged file; raising keeps the old one
                self._before_commit(self._atomic.temp)
            return self._atomic.commit()
        except av.error.FFmpegError as exc:
            self.abort()
            raise MediaError(f"writing {self.path} failed: {_ffmpeg_reason(exc)}") from exc
        except BaseException:
            self.abort()
            raise

    @property
    def label(self) -> AigcLabel | None:
        """The AIGC label written, signed for the file's content (``None`` before :meth:`close`)."""
        return self._label.label if self._label is not None else None

    def _verify(self) -> None:
        """Read the finished temporary file back with a fresh PyAV container."""
        count, found, _ = _read_back(self._atomic.temp)
        if count != self.frames_written:
            raise MediaError(f"{self.path}: {self.frames_written} frames were written but {count} read back")
        _check_metadata(self.path, self.metadata, found, f"the {self.format} muxer")
        if self._audio is not None:
            self._audio.verify(self._atomic.temp, self.path)

    def abort(self) -> None:
        """Stop writing and remove the temporary file; the final name is untouched."""
        if self._audio is not None:
            self._audio.close()
        if self._restorer is not None:
            self._restorer.close()
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except (av.error.FFmpegError, ValueError, OSError) as exc:
                log.debug("closing the aborted %s: %s", self._atomic.temp, exc)
        self._atomic.discard()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# --------------------------------------------------------------------------- remuxing

def remux(src: str | os.PathLike, dst: str | os.PathLike, *, metadata: Mapping[str, str] | None = None,
          keep_metadata: bool = True, overwrite: bool = False, label: LabelSigner | None = None) -> Path:
    """Copy every stream of ``src`` into ``dst`` without re-encoding; set container metadata.

    ``keep_metadata`` carries ``src``'s container and stream metadata over (FFmpeg's own
    keys such as ``major_brand`` are left to the muxer); ``metadata`` is then merged on top,
    so a key is never written twice. A timecode track is recreated from its timecode. ``label``
    replaces any AIGC label of ``src`` with one bound to the copied packets (as
    :class:`VideoWriter` does). Written atomically and checked like :class:`VideoWriter`'s output.
    Returns ``dst``.
    """
    src, dst = Path(src), Path(dst)
    fmt = _muxer_for(dst)
    wanted = {str(k): str(v) for k, v in (metadata or {}).items()}
    slot = _LabelSlot(label, wanted) if label is not None else None
    with _open_input(src) as source, AtomicOutput(dst, sources=[src], overwrite=overwrite) as atomic:
        video = _video_stream(source, src)
        _check_audio_fits(src, list(source.streams.audio), fmt, dst)
        video_timecode = _timecode_of(source, video)
        merged = {k: v for k, v in source.metadata.items() if k.lower() not in _MUXER_KEYS} if keep_metadata else {}
        if slot is not None:   # the source's own label does not travel: the copy gets its own
            merged = {k: v for k, v in merged.items() if k.lower() != AIGC_KEY.lower()}
        merged.update(wanted)
        try:
            output = av.open(str(atomic.temp), "w", format=fmt, container_options=_container_options(fmt, None))
        except av.error.FFmpegError as exc:
            raise OutputError(f"cannot create {atomic.temp} for {dst}: {_ffmpeg_reason(exc)}") from exc
        mapping: dict[int, Any] = {}
        counts: dict[int, int] = {}
        try:
            for key, value in merged.items():
                output.metadata[key] = value
            if slot is not None:
                output.metadata[AIGC_KEY] = slot.placeholder
            for stream in source.streams:
                if stream.type not in ("video", "audio", "subtitle"):
                    log.info("%s: not copying its %s stream #%d (%s)", src, stream.type, stream.index,
                             "its timecode is kept on the video stream" if stream.type == "data" else "unsupported")
                    continue
                try:
                    copy = output.add_stream_from_template(stream)
                except (av.error.FFmpegError, ValueError) as exc:
                    raise UnsupportedMediaError(f"cannot copy the {stream.type} stream #{stream.index} of {src} into "
                                                f"{dst.suffix}: {_ffmpeg_reason(exc)}") from exc
                if keep_metadata:
                    for key, value in _stream_tags(stream, source.format.name).items():
                        copy.metadata[key] = value
                if stream is video and video_timecode:
                    copy.metadata["timecode"] = video_timecode
                mapping[stream.index] = copy
                counts[stream.index] = 0
            try:
                output.start_encoding()
            except (av.error.FFmpegError, ValueError) as exc:
                raise UnsupportedMediaError(f"cannot copy the streams of {src} into {dst.suffix}: "
                                            f"{_ffmpeg_reason(exc)}; try .mov or .mkv") from exc
            try:
                for packet in source.demux([source.streams[i] for i in mapping]):
                    if packet.dts is None:
                        continue
                    counts[packet.stream.index] += 1
                    packet.stream = mapping[packet.stream.index]
                    output.mux(packet)
            except av.error.FFmpegError as exc:
                raise MediaUnreadableError(f"copying {src} failed: {_ffmpeg_reason(exc)}") from exc
        finally:
            output.close()
        if slot is not None:
            merged[AIGC_KEY] = slot.sign(atomic.temp)
        frames, found, _ = _read_back(atomic.temp)
        _check_metadata(dst, merged, found, "the muxer")
        if frames != counts[video.index]:
            raise MediaError(f"{dst}: {counts[video.index]} video packets copied but {frames} read back")
        return atomic.commit()


def _read_back(path: Path) -> tuple[int, dict[str, str], int]:
    """A finished file opened afresh: its video frames (packets), its container metadata with
    lower-cased keys, and its number of audio streams."""
    with _open_input(path) as check:
        stream = _video_stream(check, path)
        frames = _count_packets(check, stream, path)
        metadata = {k.lower(): v for k, v in check.metadata.items()}
        audio = len(check.streams.audio)
    return frames, metadata, audio


def _check_metadata(path: Path, wanted: Mapping[str, str], found: Mapping[str, str], muxer: str) -> None:
    """Refuse a file whose read-back metadata (``found``, lower-cased keys) lacks a ``wanted`` value."""
    for key, value in wanted.items():
        if found.get(key.lower()) != value:
            raise MediaError(f"{path}: metadata {key!r} did not survive {muxer} "
                             f"(read back {found.get(key.lower())!r})")
