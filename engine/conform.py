"""Conform a timeline of cuts into one labelled deliverable movie.

When no host hands in its own render, the publish renders the deliverable itself: for a
timeline with one video track of cuts (:class:`~faceright.deliverable.ConformClip`, in
order), :func:`conform_clips` writes each clip's frames into one H.264 movie (``.mp4`` or
``.mov``), with the first clip's size and frame rate. A clip of another size is scaled to
fit and letterboxed (and logged); a clip of another rate is refused, never retimed. Every
clip is opened and its range checked before anything is written.

The audio of each clip, for exactly its range, follows in order, encoded once as AAC
(:mod:`.conform_audio`; silence for a clip without audio, so sync holds). The deliverable
carries both AIGC labels: the visible text burned in from the output's first frame (its
clock starts there, not at any clip's) and the ``AIGC`` metadata object; then both are read
back from the written file (``verify_file(..., target="deliverable")``: the metadata by the
independent readers, the text by OCR), and that proof is what the caller gets.

The movie is written through the engine's :class:`~faceright.engine.media.VideoWriter` (a
partial renamed when complete, read back before), so a failure leaves any previous output
as it was. ``open_sink`` shapes a writer after *one* source and copies that source's audio;
a conform has many sources and audio of its own, so it gives the writer its shape and its
audio itself.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from faceright.atomic import AtomicOutput, check_output_path
from faceright.compat import file_sha256
from faceright.deliverable import ConformClip, ConformResult
from faceright.errors import ConfigError, FrameRangeError, MediaError, UnsupportedMediaError
from faceright.labels.aigc import label_signer
from faceright.labels.policy import LabelSettings
from faceright.labels.verify import verify_file
from faceright.labels.visible import VisibleLabel

from .conform_audio import AudioCut, timeline_tracks, write_timeline_audio
from .detect.base import shrink
from .media import AudioSpan, ColorInfo, MediaInfo, VideoWriter, is_sequence_path, open_source
from .progress import Progress, ProgressCallback
from .types import Frame

log = logging.getLogger(__name__)

#: output suffix → the muxer of the movie (and of its audio partial)
CONTAINERS = {".mp4": "mp4", ".mov": "mov"}
#: an image sequence's rate when neither its clip nor the timeline says one
DEFAULT_SEQUENCE_RATE = Fraction(24)


@dataclass(frozen=True)
class _Cut:
    """One clip of the timeline, opened and checked: its reader and where it sits."""

    clip: ConformClip
    number: int                          #: 1-based place in the timeline
    source: Any                          #: a VideoReader or SequenceReader of the clip's range

    @property
    def info(self) -> MediaInfo:
        return self.source.info

    @property
    def what(self) -> str:
        return f"clip {self.number} {self.clip.display}"

    def audio(self) -> AudioCut:
        info = self.info
        if info.kind != "video" or not info.has_audio:
            return AudioCut(None, Fraction(0), len(self.source.range), self.what)
        start = info.start_time + Fraction(self.source.range.first - info.first_frame) / info.rate
        return AudioCut(info.path, start, len(self.source.range), self.what)


def conform_clips(clips: Sequence[ConformClip], output: Path, settings: LabelSettings, *,
                  overwrite: bool = False, progress: ProgressCallback | None = None,
                  crf: int | None = 18, preset: str | None = "veryfast") -> ConformResult:
    """Render ``clips`` in order into the movie ``output``, labelled, and prove the label.

    ``crf`` and ``preset`` tune libx264. Raises before anything is written for an empty
    timeline, an output that is not ``.mp4``/``.mov`` (or exists, without ``overwrite``, or is
    a clip), a clip's range outside its media (:class:`FrameRangeError`), a clip at another
    frame rate than the first (:class:`MediaError`), or a label that cannot be made.
    """
    output = Path(output)
    if not clips:
        raise ConfigError(f"nothing to conform into {output}: the timeline has no clips")
    container = CONTAINERS.get(output.suffix.lower())
    if container is None:
        raise UnsupportedMediaError(f"a conformed deliverable is an H.264 movie: name {output} with one of "
                                    f"{', '.join(sorted(CONTAINERS))}")
    sources = [Path(clip.media) for clip in clips]
    check_output_path(output, sources=sources, overwrite=overwrite)
    cuts = _open_cuts(clips)
    first = cuts[0].info
    width, height, rate = first.width, first.height, first.rate
    total = sum(len(cut.source.range) for cut in cuts)
    signer = label_signer(settings)                  # refuses an unconfigured label before any work
    visible = VisibleLabel.from_settings(settings)
    visible.sprite(width, height)                    # and a wording that does not fit the frame
    for cut in cuts[1:]:
        if (cut.info.width, cut.info.height) != (width, height):
            log.warning("%s is %d×%d; it is scaled to fit the deliverable's %d×%d (letterboxed)", cut.what,
                        cut.info.width, cut.info.height, width, height)

    started = time.perf_counter()
    audio_cuts = [cut.audio() for cut in cuts]
    tracks = timeline_tracks(audio_cuts)
    # the audio is written beside the output as a partial of it, so a killed run's is cleaned up too
    with AtomicOutput(output, sources=sources, overwrite=overwrite) as partial:
        audio_path = partial.temp.with_name(f"{partial.temp.name}.audio{output.suffix}")
        try:
            audio = None
            if tracks:
                write_timeline_audio(audio_cuts, tracks, rate, audio_path, container)
                audio = AudioSpan(audio_path, Fraction(0), Fraction(total) / rate)
            else:
                log.info("no clip of the timeline has audio: %s is written without", output)
            with VideoWriter(output, width=width, height=height, rate=rate, crf=crf, preset=preset,
                             color=first.color if first.kind == "video" else ColorInfo(),
                             label=signer, audio=audio, sources=sources,
                             overwrite=overwrite) as writer:
                done = 0
                for cut in cuts:
                    for _, frame in cut.source:
                        # the label's clock starts at the deliverable's first frame
                        writer.write(visible.burn(_fit(frame, width, height), done, float(rate), total,
                                                  inplace=True))
                        done += 1
                        if progress is not None:
                            progress(Progress(done, total, time.perf_counter() - started))
        finally:
            audio_path.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    log.info("conformed %d clips, %d frames, into %s in %.1f s (%.1f fps)", len(cuts), total, output, seconds,
             total / seconds if seconds > 0 else 0.0)
    report = verify_file(output, settings, target="deliverable")
    if not report.proven:
        log.error("the label of %s is not proven: %s", output,
                  "; ".join(f.message for f in report.findings if f.blocks))
    return ConformResult(output, total, seconds, report, file_sha256(output))


def _open_cuts(clips: Sequence[ConformClip]) -> list[_Cut]:
    """Every clip opened, its range checked against its media and its rate against the first's."""
    cuts: list[_Cut] = []
    rate: Fraction | None = None
    for number, clip in enumerate(clips, 1):
        what = f"clip {number} {clip.display}"
        sequence = is_sequence_path(clip.media)
        wanted = clip.rate if clip.rate is not None else (rate or DEFAULT_SEQUENCE_RATE) if sequence else None
        try:
            source = open_source(clip.media, clip.frames, rate=wanted)
        except FrameRangeError as exc:
            raise FrameRangeError(f"{what}: {exc}; nothing was written") from exc
        info = source.info
        if not sequence and clip.rate is not None and clip.rate != info.rate:
            raise MediaError(f"{what} is said to run at {_fps(clip.rate)} fps but the movie runs at "
                             f"{_fps(info.rate)} fps; leave a movie clip's rate unset (it knows its own)")
        if rate is None:
            rate = info.rate
        elif info.rate != rate:
            raise MediaError(
                f"{what} runs at {_fps(info.rate)} fps but the deliverable (its first clip) at {_fps(rate)} fps; "
                f"faceright does not retime a clip: conform it to {_fps(rate)} fps first "
                f"(ffmpeg -i IN -r {rate} OUT) or cut it from media at that rate. Nothing was written")
        cuts.append(_Cut(clip, number, source))
    return cuts


def _fps(rate: Fraction) -> str:
    """``24``, ``25`` or ``29.97 (30000/1001)``: a rate as people read it, exactly."""
    rate = Fraction(rate)
    return str(rate.numerator) if rate.denominator == 1 else f"{float(rate):.3f} ({rate})"


def _fit(frame: Frame, width: int, height: int) -> Frame:
    """``frame`` scaled to fit ``width``×``height`` keeping its aspect, centred on black."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = min(width / w, height / h)
    new_w, new_h = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    canvas[y:y + new_h, x:x + new_w] = shrink(frame, (new_w, new_h))   # bilinear when it enlarges
    return canvas
