"""Read an OpenTimelineIO timeline into what a publish works on: its face shots and its cut.

A face shot is a clip whose ``metadata["faceright"]`` holds ``{"v": 1, "faceshot": {...}}``:
a FaceShot document (``FaceShot.1``) without its ``plate``, which the clip gives: the clip's
media reference is the plate, its source range the frames. Relative paths in the document
and in the media references are relative to the timeline file's folder (``root:`` names go
through the TD's path roots when the shot is opened). A FaceShot that names a plate itself
must name the clip's: a timeline whose clip was moved or retimed after the shot was made
is caught here rather than swapped on the wrong frames.

The cut is the timeline's one video track, clip by clip: the deliverable faceright conforms
when no host hands in its own render (a face shot's clip contributes its swapped output).
What cannot be read (a future OTIO schema, a top level that is not a timeline, a clip whose
faceright data is malformed) is never skipped: it becomes a :class:`TimelineProblem` the
publish shows as a blocking finding, or a :class:`~faceright.errors.TimelineError`.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

from faceright.errors import FaceRightError, FrameRangeError, ShotError, TimelineError
from faceright.frames import FrameRange
from faceright.shot import FaceShot

NAMESPACE = "faceright"
METADATA_VERSION = 1
#: OTIO's ``RationalTime`` rate of a timeline with none given
DEFAULT_RATE = 24.0


@dataclass(frozen=True)
class Cut:
    """One clip of the video track, in order: its media and the frames it takes from it."""

    index: int                   #: position in the track (0-based, gaps not counted)
    name: str
    media: Path | None           #: None: the clip has no media faceright can read (a generator, missing media)
    frames: FrameRange | None    #: in the media's own numbering (video: from 0; sequence: file numbers)
    rate: Fraction
    shot_id: str | None = None   #: a face shot's clip: its output replaces the media in the deliverable


@dataclass(frozen=True)
class TimelineShot:
    """A face shot found on the timeline, with the clip it came from."""

    shot: FaceShot
    cut: Cut


@dataclass(frozen=True)
class TimelineProblem:
    """A clip faceright was asked to handle and cannot: shown as a blocking finding, never skipped."""

    clip: str
    code: str
    message: str


@dataclass(frozen=True)
class Timeline:
    path: Path
    name: str
    rate: Fraction
    shots: tuple[TimelineShot, ...]
    cuts: tuple[Cut, ...]
    problems: tuple[TimelineProblem, ...]
    video_tracks: int


def read_timeline(path: str | os.PathLike[str], *, outputs: Path | None = None) -> Timeline:
    """The face shots and the cut of the OTIO file ``path``; a :class:`TimelineError` says why one cannot be read.

    A face shot whose FaceShot names no ``output`` writes to ``outputs`` (default: the folder
    ``<timeline>.publish/shots`` beside the timeline), named after its shot id."""
    import opentimelineio as otio

    path = Path(path)
    if not path.is_file():
        raise TimelineError(f"{path}: no such timeline file" if not path.exists() else f"{path} is not a file")
    try:
        top = otio.adapters.read_from_file(str(path))
    except otio.exceptions.UnsupportedSchemaError as exc:
        raise TimelineError(f"{path} was written by a newer OpenTimelineIO than {otio.__version__} ({exc}); "
                            "export it again with this version's schemas (or downgrade it with otioconvert)") from None
    except Exception as exc:   # OTIO raises many types for a bad file: each is a user's bad input here
        raise TimelineError(f"{path} is not a timeline OpenTimelineIO {otio.__version__} can read: "
                            f"{type(exc).__name__}: {exc}") from None
    if not isinstance(top, otio.schema.Timeline):
        raise TimelineError(f"{path} holds a {type(top).__name__}, not a timeline: export one timeline (sequence) "
                            "from the editing application")
    return timeline_of(top, path, outputs=outputs)


def default_outputs(path: Path) -> Path:
    """Where a timeline's face shots are written when their FaceShots name no output."""
    return path.parent / f"{path.stem}.publish" / "shots"


def timeline_of(timeline: Any, path: Path, *, outputs: Path | None = None) -> Timeline:
    """:func:`read_timeline` for a timeline already in memory (a host's); ``path`` anchors relative paths."""
    import opentimelineio as otio

    base = Path(path).absolute().parent
    outputs = (outputs if outputs is not None else default_outputs(path)).absolute()
    rate = _timeline_rate(timeline)
    tracks = list(timeline.video_tracks())
    shots: list[TimelineShot] = []
    cuts: list[Cut] = []
    problems: list[TimelineProblem] = []
    for track_index, track in enumerate(tracks):
        position = 0
        for item in track:
            if not isinstance(item, otio.schema.Clip):
                continue
            cut, problem = _cut(item, position, base, rate)
            position += 1
            data = item.metadata.get(NAMESPACE)
            if problem is not None and data is not None:
                problems.append(problem)
            shot = None
            if data is not None:
                try:
                    shot = _faceshot(item, data, cut, base, outputs)
                except (ShotError, FrameRangeError, TimelineError) as exc:
                    problems.append(TimelineProblem(item.name, "timeline.faceshot_invalid",
                                                    f"clip {item.name!r} has faceright data that cannot be used: {exc}"))
            if shot is not None:
                cut = replace(cut, shot_id=shot.shot_id)
                shots.append(TimelineShot(shot, cut))
            if track_index == 0:
                cuts.append(cut)
            elif shot is not None:
                problems.append(TimelineProblem(
                    item.name, "timeline.shot_off_main_track",
                    f"face shot {shot.shot_id!r} (clip {item.name!r}) sits on video track {track_index + 1}; faceright "
                    "conforms only the first video track: move it there, or hand in the host's render (--deliverable)"))
    seen: dict[str, str] = {}
    for found in shots:
        if found.shot.shot_id in seen:
            problems.append(TimelineProblem(found.cut.name, "timeline.shot_id_duplicate",
                                            f"shot id {found.shot.shot_id!r} is used by clips {seen[found.shot.shot_id]!r} "
                                            f"and {found.cut.name!r}: give each face shot its own id"))
        seen.setdefault(found.shot.shot_id, found.cut.name)
    return Timeline(path, timeline.name or path.stem, rate, tuple(shots), tuple(cuts), tuple(problems), len(tracks))


def mark_face_shot(clip: Any, shot: FaceShot | dict[str, Any]) -> None:
    """Store ``shot`` (without its plate: the clip is the plate) on an OTIO clip, as :func:`read_timeline` reads it."""
    document = shot.to_json() if isinstance(shot, FaceShot) else copy.deepcopy(shot)
    document.pop("plate", None)
    document.pop("results", None)
    clip.metadata[NAMESPACE] = {"v": METADATA_VERSION, "faceshot": document}


def _timeline_rate(timeline: Any) -> Fraction:
    start = timeline.global_start_time
    if start is not None and start.rate > 0:
        return _fraction(start.rate)
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            return _fraction(clip.source_range.duration.rate)
    return Fraction(DEFAULT_RATE)


def _fraction(rate: float) -> Fraction:
    """An OTIO float rate as the exact rate it stands for (23.976… → 24000/1001)."""
    for exact in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)):
        if abs(float(exact) - rate) < 1e-3:
            return exact
    return Fraction(rate).limit_denominator(1001)


def _cut(clip: Any, index: int, base: Path, rate: Fraction) -> tuple[Cut, TimelineProblem | None]:
    """The clip's media file and frames, or why it has none faceright can read."""
    import opentimelineio as otio

    reference = clip.media_reference
    source = clip.source_range
    name = clip.name or f"clip {index + 1}"
    try:
        if source is None:
            source = clip.available_range()
        clip_rate = _fraction(source.duration.rate)
        if isinstance(reference, otio.schema.ImageSequenceReference):
            frames = FrameRange.from_otio_sequence(reference, source)
            media = _media_path(reference.target_url_base.rstrip("/\\") + "/" + reference.name_prefix
                                + "%0" + str(max(1, reference.frame_zero_padding)) + "d" + reference.name_suffix, base)
            return Cut(index, name, media, frames, _fraction(reference.rate)), None
        if isinstance(reference, otio.schema.ExternalReference):
            frames = FrameRange.from_otio(source, float(clip_rate))
            available = reference.available_range
            if available is not None:   # a movie's frames count from 0; its OTIO range from its timecode
                frames = frames.shifted(-FrameRange.from_otio(available, float(clip_rate)).first)
            if frames.first < 0:
                raise FrameRangeError(f"the clip's range starts before its media's first frame ({frames.to_cli()})")
            return Cut(index, name, _media_path(reference.target_url, base), frames, clip_rate), None
        kind = type(reference).__name__ if reference is not None else "no media reference"
        return Cut(index, name, None, None, clip_rate), TimelineProblem(
            name, "timeline.media_unreadable", f"clip {name!r} has {kind}, not a media file faceright can swap or conform")
    except (FaceRightError, ValueError, AttributeError) as exc:
        return Cut(index, name, None, None, rate), TimelineProblem(
            name, "timeline.media_unreadable", f"clip {name!r}: its media or range cannot be used: {exc}")


def _media_path(url: str, base: Path) -> Path:
    import opentimelineio as otio

    text = otio.url_utils.filepath_from_url(url) if url.startswith("file:") else url
    path = Path(text)
    return path if path.is_absolute() else base / path


def plain(value: Any) -> Any:
    """OTIO's metadata containers (AnyDictionary, AnyVector) as plain dicts and lists, recursively.
    (Keys then items, not ``.items()``: the ABC's item view costs twice as much on OTIO's mappings.)"""
    if value is None or isinstance(value, (str, bytes, bool, int, float)):
        return value
    keys = getattr(value, "keys", None)
    if keys is not None:
        return {str(k): plain(value[k]) for k in keys()}
    if isinstance(value, Iterable):
        return [plain(v) for v in value]
    return value


def _faceshot(clip: Any, data: Any, cut: Cut, base: Path, outputs: Path) -> FaceShot | None:
    data = plain(data)
    if not isinstance(data, dict) or not isinstance(data.get("faceshot"), dict):
        raise TimelineError('metadata["faceright"] must be an object holding "faceshot" (a FaceShot document)')
    version = data.get("v", METADATA_VERSION)
    if version != METADATA_VERSION:
        raise TimelineError(f'metadata["faceright"]["v"] is {version!r}; this faceright reads version {METADATA_VERSION}')
    document = data["faceshot"]   # plain() made it a fresh copy
    document.setdefault("schema", "FaceShot.1")
    if cut.media is None or cut.frames is None:
        raise TimelineError("the clip has no media file to swap")
    plate: dict[str, Any] = {"path": str(cut.media), "frames": cut.frames.to_json()}
    if "%" in cut.media.name:
        plate["rate"] = str(cut.rate)
    if "output" not in document and isinstance(document.get("shot_id"), str):
        document["output"] = {"path": str(_default_output(outputs, document["shot_id"], cut.media)), "overwrite": True}
    given = document.get("plate")
    document["plate"] = {**plate, **({k: v for k, v in given.items() if k in ("colour_space",)} if isinstance(given, dict) else {})}
    shot = FaceShot.from_json(_anchored(document, base))
    if isinstance(given, dict):
        named = FaceShot.from_json(_anchored({**document, "plate": given}, base)).plate
        if _resolved(named.path, base) != cut.media or (named.frames is not None and named.frames != cut.frames):
            raise TimelineError(
                f"its FaceShot names plate {named.path} frames {named.frames.to_cli() if named.frames else 'all'} but "
                f"the clip plays {cut.media} frames {cut.frames.to_cli()}: the clip was moved or retimed after the shot "
                "was made; make the shot again from the clip (or remove \"plate\" from its faceright data)")
    return shot


def _default_output(outputs: Path, shot_id: str, plate: Path) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in shot_id)
    if "%" in plate.name:
        return outputs / safe / f"{safe}.%04d{plate.suffix}"
    return outputs / f"{safe}{plate.suffix if plate.suffix.lower() in ('.mov', '.mp4', '.mkv') else '.mov'}"


_PATH_FIELDS = (("donor", "image"), ("license", "path"), ("release", "path"), ("output", "path"),
                ("plate_face", "image"))


def _anchored(document: dict[str, Any], base: Path) -> dict[str, Any]:
    """``document`` with its relative file paths made relative to the timeline's folder."""
    out = dict(document)   # the sections changed are copied, the rest shared (FaceShot.from_json copies)
    for section, key in _PATH_FIELDS + (("plate", "path"),):
        part = out.get(section)
        if isinstance(part, dict) and isinstance(part.get(key), str):
            out[section] = {**part, key: _resolved_text(part[key], base)}
    return out


def _resolved_text(name: str, base: Path) -> str:
    from faceright.paths import split_ref

    if split_ref(name) is not None or Path(name).is_absolute():
        return name
    return str(base / name)


def _resolved(name: str, base: Path) -> Path:
    return Path(_resolved_text(name, base))


__all__ = ["Cut", "Timeline", "TimelineProblem", "TimelineShot", "mark_face_shot", "read_timeline", "timeline_of"]
