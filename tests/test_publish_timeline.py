"""Reading an OTIO timeline into face shots and a cut: real third-party timelines and our own."""
from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio
import pytest

from faceright import api
from faceright.publish.timeline import mark_face_shot, read_timeline

pytestmark = pytest.mark.hostside

SAMPLES = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "samples" / "otio",
                             Path("/work/shared/samples/otio")) if p.is_dir()),
               Path(__file__).resolve().parents[2] / "shared" / "samples" / "otio")

RATE = 24.0
TC = 86400   # 01:00:00:00 at 24 fps


def faceshot(shot_id: str = "sh010", **extra) -> dict:
    document = {"schema": "FaceShot.1", "shot_id": shot_id, "donor": {"image": "donor.jpg"},
                "license": {"path": "docs/license.json"}, "release": {"path": "docs/release.json"},
                "usage": {"production": "PRJ-0001", "platform": "douyin", "territory": "CN", "when": "2026-12-03"}}
    document.update(extra)
    return document


def movie_clip(name: str, media: str, first: int, count: int, *, length: int = 100, start: int = TC) -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(target_url=media, available_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, RATE), otio.opentime.RationalTime(length, RATE)))
    return otio.schema.Clip(name=name, media_reference=reference, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(start + first, RATE), otio.opentime.RationalTime(count, RATE)))


def write(tmp_path: Path, *tracks: list) -> Path:
    timeline = otio.schema.Timeline(name="ep01")
    for index, clips in enumerate(tracks):
        track = otio.schema.Track(name=f"V{index + 1}")
        track.extend(clips)
        timeline.tracks.append(track)
    path = tmp_path / "edit" / "ep01.otio"
    path.parent.mkdir(parents=True, exist_ok=True)
    otio.adapters.write_to_file(timeline, str(path))
    return path


def test_a_marked_clip_becomes_a_face_shot_whose_plate_is_the_clip(tmp_path):
    shot_clip = movie_clip("sh010", "plates/sh010.mov", 10, 24)
    mark_face_shot(shot_clip, faceshot())
    path = write(tmp_path, [movie_clip("wide", "plates/wide.mov", 0, 12), otio.schema.Gap(
        source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(5, RATE))), shot_clip])
    timeline = read_timeline(path)
    assert not timeline.problems
    (found,) = timeline.shots
    edit = path.parent
    # the clip's media is the plate; a movie's frames count from 0, its OTIO range from its timecode
    assert found.shot.plate.path == str(edit / "plates" / "sh010.mov")
    assert found.shot.plate.frames == api.FrameRange(10, 34)
    # relative paths are the timeline folder's; an output not named goes to the publish folder
    assert found.shot.donor.image == str(edit / "donor.jpg")
    assert found.shot.license.path == str(edit / "docs" / "license.json")
    assert found.shot.output.path == str(edit / "ep01.publish" / "shots" / "sh010.mov")
    assert [(c.name, c.frames, c.shot_id) for c in timeline.cuts] == [
        ("wide", api.FrameRange(0, 12), None), ("sh010", api.FrameRange(10, 34), "sh010")]


def test_the_metadata_survives_a_write_and_read_by_otio_itself(tmp_path):
    clip = movie_clip("sh010", "plate.mov", 0, 8)
    mark_face_shot(clip, faceshot())
    path = write(tmp_path, [clip])
    raw = json.loads(path.read_text())
    stored = raw["tracks"]["children"][0]["children"][0]["metadata"]["faceright"]
    assert stored["v"] == 1 and stored["faceshot"]["shot_id"] == "sh010" and "plate" not in stored["faceshot"]


def test_an_image_sequence_clip_gives_the_file_numbers(tmp_path):
    reference = otio.schema.ImageSequenceReference(
        target_url_base="plates/sh020/", name_prefix="sh020.", name_suffix=".exr", start_frame=1001,
        rate=RATE, frame_zero_padding=4, available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(TC, RATE), otio.opentime.RationalTime(48, RATE)))
    clip = otio.schema.Clip(name="sh020", media_reference=reference, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(TC + 8, RATE), otio.opentime.RationalTime(16, RATE)))
    mark_face_shot(clip, faceshot("sh020"))
    (found,) = read_timeline(write(tmp_path, [clip])).shots
    assert found.shot.plate.path.endswith("plates/sh020/sh020.%04d.exr")
    assert found.shot.plate.frames == api.FrameRange(1009, 1025)
    assert found.shot.output.path.endswith("shots/sh020/sh020.%04d.exr")


@pytest.mark.parametrize("change,code", [
    (lambda d: d.pop("donor"), "timeline.faceshot_invalid"),
    (lambda d: d.update(plate={"path": "plates/other.mov"}), "timeline.faceshot_invalid"),
    (lambda d: d.update(plate={"path": "plates/sh010.mov", "frames": {"first": 0, "last": 23}}),
     "timeline.faceshot_invalid"),
])
def test_a_face_shot_that_cannot_be_used_is_a_problem_never_a_skipped_clip(tmp_path, change, code):
    document = faceshot()
    change(document)
    clip = movie_clip("sh010", "plates/sh010.mov", 10, 24)
    clip.metadata["faceright"] = {"v": 1, "faceshot": document}
    timeline = read_timeline(write(tmp_path, [clip]))
    assert not timeline.shots
    (problem,) = timeline.problems
    assert problem.code == code and "sh010" in problem.message


def test_a_plate_named_as_the_clip_plays_it_is_accepted(tmp_path):
    clip = movie_clip("sh010", "plates/sh010.mov", 10, 24)
    clip.metadata["faceright"] = {"v": 1, "faceshot": faceshot(
        plate={"path": "plates/sh010.mov", "frames": {"first": 10, "last": 33}})}
    timeline = read_timeline(write(tmp_path, [clip]))
    assert not timeline.problems and len(timeline.shots) == 1


def test_duplicate_ids_and_shots_off_the_first_track_are_problems(tmp_path):
    a, b, c = (movie_clip(n, f"{n}.mov", 0, 8) for n in ("a", "b", "c"))
    for clip in (a, b, c):
        mark_face_shot(clip, faceshot("sh010" if clip is not c else "sh099"))
    timeline = read_timeline(write(tmp_path, [a, b], [c]))
    codes = sorted(p.code for p in timeline.problems)
    assert codes == ["timeline.shot_id_duplicate", "timeline.shot_off_main_track"]


def test_a_wrong_metadata_version_or_shape_is_a_problem(tmp_path):
    clip = movie_clip("sh010", "sh010.mov", 0, 8)
    clip.metadata["faceright"] = {"v": 2, "faceshot": faceshot()}
    other = movie_clip("sh020", "sh020.mov", 0, 8)
    other.metadata["faceright"] = "sh020"
    timeline = read_timeline(write(tmp_path, [clip, other]))
    messages = " ".join(p.message for p in timeline.problems)
    assert "version 1" in messages and "must be an object" in messages


def test_a_real_third_party_cut_has_cuts_and_no_face_shots():
    timeline = read_timeline(SAMPLES / "otio-core" / "simple_cut.otio")
    assert not timeline.shots and not timeline.problems
    assert len(timeline.cuts) == len(list(otio.adapters.read_from_file(
        str(SAMPLES / "otio-core" / "simple_cut.otio")).video_tracks()[0].find_clips()))


def test_generators_on_a_real_timeline_are_cuts_without_media():
    timeline = read_timeline(SAMPLES / "otio-core" / "generator_reference_test.otio")
    assert any(c.media is None for c in timeline.cuts)
    assert not timeline.problems          # no faceright data on them: nothing faceright was asked to do


def test_a_future_schema_gets_a_message_saying_what_to_do():
    with pytest.raises(api.TimelineError, match="newer OpenTimelineIO"):
        read_timeline(SAMPLES / "otio-core" / "screening_example.marker3.otio")


def test_a_file_whose_top_level_is_not_a_timeline_is_refused():
    with pytest.raises(api.TimelineError, match="not a timeline"):
        read_timeline(SAMPLES / "fcpx" / "fcpx_clips.fcpxml")


def test_a_corrupt_or_missing_file_is_refused_by_name(tmp_path):
    bad = tmp_path / "bad.otio"
    bad.write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": ')
    with pytest.raises(api.TimelineError, match="bad.otio"):
        read_timeline(bad)
    with pytest.raises(api.TimelineError, match="no such timeline"):
        read_timeline(tmp_path / "missing.otio")
