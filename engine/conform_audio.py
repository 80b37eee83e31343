"""The sound of a conformed timeline: each cut's audio for exactly its frames, in order, encoded once.

A conform cuts, so its audio is decoded and encoded again (AAC), where a swap copies packets
untouched (:mod:`faceright.engine.media.video`). For each cut, every audio track of its media
is decoded from a second before the cut (the decoder's pre-roll), converted to the output
track's sample format, layout and rate, and trimmed to the samples of the cut's time span on
the media's own clock (frame 0 sits at ``MediaInfo.start_time``). A cut without such a track
(an image sequence, a camera file without sound) gives silence of its length, and so does
the part of a cut where its media's audio has ended: every later cut stays in sync.

Sample boundaries come from the timeline's frame count, ``round(frames_before × sample_rate /
rate)``, so rounding never accumulates over many cuts: the track holds exactly
``round(frames × sample_rate / rate)`` samples (plus the encoder's last partial frame).

Output track *n* takes its sample rate, layout, language and title from the first cut whose
media has an *n*-th audio track. The tracks go into one audio-only file that the video writer
then copies into the deliverable as an :class:`~faceright.engine.media.AudioSpan`, so one
writer, the one that reads its tracks back, writes the movie.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np

from faceright.errors import MediaError, MediaUnreadableError, OutputError

log = logging.getLogger(__name__)

#: what every decoded track is converted to before it is cut: planar float, as AAC encodes it
SAMPLE_FORMAT = "fltp"
#: samples in one AAC frame (the encoder's ``frame_size``)
AAC_FRAME = 1024
#: seconds decoded before a cut, so the decoder has settled when the cut begins
PREROLL_S = 1


@dataclass(frozen=True)
class AudioCut:
    """The audio side of one cut: ``frames`` frames from ``start`` seconds on ``path``'s clock.

    ``path`` is None for media without audio (image sequences); ``what`` names the cut in
    messages (``clip 2 'B' (b.mov)``)."""

    path: Path | None
    start: Fraction
    frames: int
    what: str


@dataclass(frozen=True)
class TrackFormat:
    """An output track: its sample rate and channel layout, and the tags it keeps."""

    sample_rate: int
    layout: str
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def channels(self) -> int:
        return len(av.AudioLayout(self.layout).channels)


def timeline_tracks(cuts: Sequence[AudioCut]) -> list[TrackFormat]:
    """The output's audio tracks: as many as the cut with the most has, each shaped like the
    first cut that has it. Empty when no cut has audio."""
    tracks: list[TrackFormat] = []
    for cut in cuts:
        if cut.path is None:
            continue
        with _open(cut.path) as container:
            for number, stream in enumerate(container.streams.audio):
                if number < len(tracks):
                    continue
                cc = stream.codec_context
                if cc is None or not cc.sample_rate:
                    raise MediaUnreadableError(f"{cut.what}: audio track {number + 1} declares no sample rate, so it "
                                               "cannot be cut in time; re-mux the clip's audio with ffmpeg")
                layout = cc.layout.name if cc.layout is not None and cc.layout.name else (
                    "mono" if cc.channels == 1 else "stereo")
                tracks.append(TrackFormat(cc.sample_rate, layout, _kept_tags(stream)))
    return tracks


def write_timeline_audio(cuts: Sequence[AudioCut], tracks: Sequence[TrackFormat], rate: Fraction,
                         path: Path, container_format: str) -> int:
    """Write ``tracks`` of the cuts' audio, AAC, to the new file ``path`` (``mov`` or ``mp4``);
    returns the frames of timeline it covers (the sum of the cuts' frames)."""
    if not tracks:
        raise ValueError("write_timeline_audio needs at least one track (timeline_tracks found none)")
    try:
        output = av.open(str(path), "w", format=container_format)
    except (av.error.FFmpegError, OSError) as exc:
        raise OutputError(f"cannot create the timeline's audio {path}: {exc}") from exc
    try:
        encoders = [_Encoder(output, track) for track in tracks]
        output.start_encoding()
        done = 0
        for cut in cuts:
            for number, (track, encoder) in enumerate(zip(tracks, encoders)):
                first = round(Fraction(done) * track.sample_rate / rate)
                count = round(Fraction(done + cut.frames) * track.sample_rate / rate) - first
                for chunk in _cut_samples(cut, number, track, count):
                    encoder.push(chunk)
            done += cut.frames
        for encoder in encoders:
            encoder.finish()
    except av.error.FFmpegError as exc:
        raise MediaError(f"encoding the timeline's audio into {path} failed: {exc}") from exc
    finally:
        output.close()
    return done


def _open(path: Path) -> Any:
    try:
        return av.open(str(path), "r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise MediaUnreadableError(f"{path}: its audio cannot be read ({exc})") from exc


def _kept_tags(stream: Any) -> tuple[tuple[str, str], ...]:
    """A source track's language and title (MOV/MP4 demuxers call the title ``name``)."""
    tags = {k.lower(): v for k, v in stream.metadata.items()}
    kept = [("language", tags.get("language")), ("title", tags.get("title") or tags.get("name")),
            ("handler_name", tags.get("handler_name"))]
    return tuple((k, v) for k, v in kept if v and not (k == "language" and v == "und"))


def _silence(track: TrackFormat, samples: int) -> np.ndarray:
    return np.zeros((track.channels, samples), np.float32)


def _cut_samples(cut: AudioCut, number: int, track: TrackFormat, count: int) -> Iterator[np.ndarray]:
    """``count`` samples (channels × n float32 chunks) of audio track ``number`` of the cut,
    from the cut's start on; silence where the media has no such track or its audio ends."""
    if cut.path is None:
        yield _silence(track, count)
        return
    with _open(cut.path) as container:
        if number >= len(container.streams.audio):
            log.info("%s has no audio track %d: silence for its %d frames", cut.what, number + 1, cut.frames)
            yield _silence(track, count)
            return
        stream = container.streams.audio[number]
        position = round(cut.start * track.sample_rate)      # the next sample wanted, on the media's clock
        end = position + count
        jitter = max(1, int(np.ceil(float(stream.time_base) * track.sample_rate))) if stream.time_base else 1
        try:
            for begin, data in _decoded(container, stream, track, cut.start, cut.what):
                if begin != position and abs(begin - position) <= jitter:
                    begin = position                         # millisecond timestamps (Matroska): keep counting
                if begin + data.shape[1] <= position:
                    continue                                 # pre-roll before the cut
                if begin > position:                         # a hole in the media's audio
                    gap = min(begin, end) - position
                    yield _silence(track, gap)
                    position += gap
                if position >= end:
                    break
                piece = data[:, position - begin:end - begin]
                yield piece
                position += piece.shape[1]
                if position >= end:
                    break
        except av.error.FFmpegError as exc:
            raise MediaUnreadableError(f"{cut.what}: decoding audio track {number + 1} failed near "
                                       f"{position / track.sample_rate:.3f} s ({exc})") from exc
    if position < end:
        log.info("%s: its audio track %d ends %.3f s before the cut does; silence to the end", cut.what,
                 number + 1, (end - position) / track.sample_rate)
        yield _silence(track, end - position)


def _decoded(container: Any, stream: Any, track: TrackFormat, start: Fraction,
             what: str) -> Iterator[tuple[int, np.ndarray]]:
    """``(first sample, channels × n samples)`` of the stream converted to ``track``'s format,
    from the packet a second before ``start`` on; samples count on the media's clock."""
    time_base = Fraction(stream.time_base)
    if start - PREROLL_S > 0:
        container.seek(round((start - PREROLL_S) / time_base), stream=stream, backward=True)
    resampler = av.AudioResampler(format=SAMPLE_FORMAT, layout=track.layout, rate=track.sample_rate)
    expected: int | None = None

    def converted(frames: list[Any]) -> Iterator[tuple[int, np.ndarray]]:
        nonlocal expected
        for frame in frames:
            if frame.pts is not None:
                begin = round(frame.pts * Fraction(frame.time_base) * track.sample_rate)
            elif expected is not None:
                begin = expected
            else:
                raise MediaUnreadableError(f"{what}: its audio carries no timestamps, so it cannot be "
                                           "cut in time; remux it into .mov first")
            data = frame.to_ndarray()
            expected = begin + data.shape[1]
            yield begin, data

    for frame in container.decode(stream):
        yield from converted(resampler.resample(frame))
    yield from converted(resampler.resample(None))


class _Encoder:
    """One AAC output track, fed chunks of any length and encoding whole AAC frames."""

    def __init__(self, output: Any, track: TrackFormat):
        self.output, self.track = output, track
        self.stream = output.add_stream("aac", rate=track.sample_rate)
        self.stream.layout = track.layout
        for key, value in track.tags:
            self.stream.metadata[key] = value
        self.pending = _silence(track, 0)
        self.samples = 0

    def push(self, chunk: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, chunk], axis=1) if self.pending.shape[1] else chunk
        while self.pending.shape[1] >= AAC_FRAME:
            self._encode(self.pending[:, :AAC_FRAME])
            self.pending = self.pending[:, AAC_FRAME:]

    def finish(self) -> None:
        if self.pending.shape[1]:
            self._encode(self.pending)
            self.pending = _silence(self.track, 0)
        self.output.mux(self.stream.encode(None))

    def _encode(self, samples: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format=SAMPLE_FORMAT,
                                           layout=self.track.layout)
        frame.sample_rate = self.track.sample_rate
        frame.pts = self.samples
        frame.time_base = Fraction(1, self.track.sample_rate)
        self.output.mux(self.stream.encode(frame))
        self.samples += samples.shape[1]
